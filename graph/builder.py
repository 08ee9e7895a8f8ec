"""Turn a `Workflow` into a LangGraph graph.

    START -> intake -> recall -> orchestrate --(Send per ready task)--> work -> evaluate -> orchestrate ...
                                    |   ^                                          |
                                    |   +------------- human_review <--------------+ (escalations)
                                    +--> finalize -> remember -> END

`workflow_builder` returns the uncompiled `StateGraph` (compile it at the edge, as a server does);
`build_workflow` compiles it with a durable SQLite checkpointer and the long-term memory store
(`ChromaStore` under the data directory) for local use.
"""

from __future__ import annotations

from typing import Literal

from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore

from taskwarden.graph.audit import AuditLog, audit_config
from taskwarden.graph.context import Context
from taskwarden.graph.engine import Engine
from taskwarden.graph.evaluate import make_evaluate
from taskwarden.graph.finalize import make_finalize
from taskwarden.graph.intake import make_intake
from taskwarden.graph.memory_nodes import make_recall, make_remember
from taskwarden.graph.models import ModelProvider
from taskwarden.graph.orchestrate import make_orchestrate
from taskwarden.graph.persistence import default_ledger, sqlite_checkpointer
from taskwarden.graph.review import make_human_review
from taskwarden.graph.routing import (
    route_after_human_review,
    route_after_orchestrate,
)
from taskwarden.graph.state import InputState, OutputState, RunState
from taskwarden.graph.worker import build_worker_graph
from taskwarden.graph.workflow import Workflow
from taskwarden.memory import default_store
from taskwarden.tools.ledger import Ledger


def workflow_builder(workflow: Workflow, *, models: dict[str, BaseChatModel | str] | None = None,
                     ledger: Ledger | None = None) -> StateGraph:
    """The uncompiled graph of `workflow`. `models` maps roles to chat models or specs (tests pass fakes)."""
    engine = Engine(workflow=workflow, models=ModelProvider(models, workflow.models, workflow.redact),
                    ledger=ledger or default_ledger())
    builder = StateGraph(RunState, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    builder.add_node("intake", make_intake(engine), destinations=("recall", END))
    builder.add_node("recall", make_recall(engine))
    builder.add_node("orchestrate", make_orchestrate(engine))
    builder.add_node("work", build_worker_graph(engine))
    builder.add_node("evaluate", make_evaluate(engine), destinations=("human_review", "orchestrate"))
    builder.add_node("human_review", make_human_review(engine))
    builder.add_node("finalize", make_finalize(engine))
    builder.add_node("remember", make_remember(engine))
    builder.add_edge(START, "intake")
    builder.add_edge("recall", "orchestrate")
    builder.add_conditional_edges("orchestrate", route_after_orchestrate, ["work", "evaluate", "human_review", "finalize"])
    builder.add_edge("work", "evaluate")
    builder.add_conditional_edges("human_review", route_after_human_review, ["orchestrate", "finalize"])
    builder.add_edge("finalize", "remember")
    builder.add_edge("remember", END)
    return builder


def build_workflow(workflow: Workflow, *, models: dict[str, BaseChatModel | str] | None = None,
                   checkpointer: BaseCheckpointSaver | Literal["sqlite"] | None = "sqlite",
                   ledger: Ledger | None = None,
                   store: BaseStore | Literal["default"] | None = "default",
                   audit: AuditLog | Literal["default"] | None = "default") -> CompiledStateGraph:
    """Compile `workflow` for local use: by default with the durable SQLite checkpointer and the Chroma
    memory store in the data dir. ``store=None`` runs without long-term memory. Runs are recorded in
    `audit` (default: ``<data dir>/audit.db``; None records nothing)."""
    saver = sqlite_checkpointer() if checkpointer == "sqlite" else checkpointer
    memory = default_store() if store == "default" else store
    graph = workflow_builder(workflow, models=models, ledger=ledger).compile(checkpointer=saver, store=memory,
                                                                           name=workflow.name)
    return graph if audit == "default" else graph.with_config(audit_config(audit))
