"""The lead routing workflow."""
