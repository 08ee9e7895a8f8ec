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
        """The role's model as the engine calls it: redacting at the run's level (itself for ``off``)."""
        level = self.redaction_for(context)
        return redacting(self.model(role, context), level, pseudonym_key() if level == "pii" else b"")

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
