"""The CLI's log output: warnings and errors on stderr, with secrets and personal data masked."""

from __future__ import annotations

import logging
import sys

from taskwarden.tools.redact import RedactingFilter


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (which tests and shells may swap), not the one at setup."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(logger: logging.Logger | None = None, level: int = logging.WARNING) -> None:
    """Send `logger`'s records (default: the root's) to stderr through `RedactingFilter`.

    Does nothing when the logger already has handlers: a host that configured logging (an app
    embedding the CLI, pytest) keeps its own; add `RedactingFilter` to its handlers there.
    """
    root = logger or logging.getLogger()
    if root.handlers:
        return
    handler = _StderrHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("taskwarden: %(levelname)s: %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
