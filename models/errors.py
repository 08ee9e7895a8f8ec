"""Errors raised by the model layer, each with a message that says what to do next."""

from __future__ import annotations


class ModelUnavailableError(RuntimeError):
    """The embedded model's weights (or the llama.cpp runtime) are missing or corrupt."""


class ModelServerError(RuntimeError):
    """The local llama.cpp server could not be started or kept healthy."""


class ModelCallError(RuntimeError):
    """A model endpoint kept failing (timeouts, connection errors, 5xx) after bounded retries."""


INSTALL_HINT = "install the embedded model with: pip install -e '.[local]'"
