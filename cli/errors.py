"""Errors the CLI reports as one clear line with exit code 2 (nothing stored is changed)."""


class UsageError(Exception):
    """Bad input from the user: unknown workflow or thread, empty request, malformed decision."""
