"""What every node of one compiled workflow shares: the workflow, its models and its ledger."""

from __future__ import annotations

from dataclasses import dataclass

from taskwarden.graph.context import Context
from taskwarden.graph.models import ModelProvider
from taskwarden.graph.reliability import Reliability
from taskwarden.graph.usage import Budgets
from taskwarden.graph.workflow import Workflow
from taskwarden.tools.ledger import Ledger


@dataclass
class Engine:
    workflow: Workflow
    models: ModelProvider
    ledger: Ledger

    def budgets(self, context: Context, grants: int = 0) -> Budgets:
        """The run's budgets: workflow defaults, context overrides, reviewer grants."""
        return context.budgets(self.workflow.budgets).scaled(1 + grants)

    def reliability(self, context: Context) -> Reliability:
        """The run's reliability mechanisms: the workflow's, minus those the context disables."""
        return context.reliability(self.workflow.reliability)
