"""Which chat model each role uses in a run (explicit instances first, then resolved specs), wrapped
so that it sees only what the run's redaction level allows (graph/redacting_model.py)."""

from __future__ import annotations

import os
import threading
from typing import Any

from langchain_core.language_models import BaseChatModel

from taskwarden.graph.context import Context
from taskwarden.graph.redacting_model import RedactingChatModel, pseudonym_key, redacting
from taskwarden.tools.redact import RedactionLevel, check_level

DEFAULT_SPEC = "local"


class ModelProvider:
    """Resolves a role's model: an instance given to the builder, else a spec, turned into a model once;
    `get` wraps it at the run's redaction level (`workflow_redact` unless the run's context says)."""

    def __init__(self, overrides: dict[str, BaseChatModel | str] | None = None,
                 workflow_specs: dict[str, str] | None = None, workflow_redact: str = "secrets") -> None:
        self.overrides = dict(overrides or {})
        self.workflow_specs = dict(workflow_specs or {})
        self.workflow_redact = check_level(workflow_redact)
        self._cache: dict[str, BaseChatModel] = {}
        self._wrapped: dict[tuple[int, str, bytes], tuple[BaseChatModel, Any]] = {}
        """(id(model), level, key) -> (model, the model as `get` gives it); the model is kept alive here."""
        self._lock = threading.Lock()

    def spec_for(self, role: str, context: Context) -> str:
        """Context, then workflow, then ``TASKWARDEN_<ROLE>_MODEL`` / ``TASKWARDEN_MODEL``, then ``local``."""
        override = self.overrides.get(role)
        return (
            (override if isinstance(override, str) else None)
            or context.model_spec(role)
            or self.workflow_specs.get(role)
            or os.environ.get(f"TASKWARDEN_{role.upper()}_MODEL")
            or os.environ.get("TASKWARDEN_MODEL")
            or DEFAULT_SPEC
        )

    def redaction_for(self, context: Context) -> RedactionLevel:
        """The run's redaction level: the context's, else the workflow's."""
        return check_level(context.redact or self.workflow_redact)

    def get(self, role: str, context: Context) -> BaseChatModel | RedactingChatModel:
        """The role's model as the engine calls it: redacting at the run's level (itself for ``off``).

        The wrapper is made once per model, level and key, so what it derives (tools or an output
        schema bound) is reused on later steps."""
        level = self.redaction_for(context)
        model, key = self.model(role, context), pseudonym_key() if level == "pii" else b""
        cache_key = (id(model), level, key)
        entry = self._wrapped.get(cache_key)
        if entry is None or entry[0] is not model:
            entry = self._wrapped[cache_key] = (model, redacting(model, level, key))
        return entry[1]

    def model(self, role: str, context: Context) -> BaseChatModel:
        """The role's model itself, unwrapped."""
        override = self.overrides.get(role)
        if isinstance(override, BaseChatModel):
            return override
        spec = self.spec_for(role, context)
        with self._lock:
            if spec not in self._cache:
                self._cache[spec] = _init_chat_model(spec)
            return self._cache[spec]


def _init_chat_model(spec: str) -> Any:
    from taskwarden.models import init_chat_model  # the model seam; imported lazily (heavy)

    return init_chat_model(spec)
