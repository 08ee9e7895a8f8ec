"""Usage accounting (steps, tokens, cost, active seconds) and budgets, enforced in code."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from langchain_core.messages import AIMessage

# USD per 1M tokens (input, output). Local and unknown models cost 0; add yours with `register_price`.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
    "o4-mini": (1.10, 4.40),
}

USAGE_KEYS = ("steps", "input_tokens", "output_tokens", "cost_usd", "seconds")
RESET = "__reset__"


def register_price(model: str, input_per_million: float, output_per_million: float) -> None:
    """Add or change a model's price so cost budgets apply to it."""
    PRICES[model] = (input_per_million, output_per_million)


def price_of(model_name: str) -> tuple[float, float]:
    """Price of `model_name`, matching dated variants (``gpt-4o-mini-2024-07-18``) by longest prefix."""
    name = model_name.split(":", 1)[-1]
    matches = [key for key in PRICES if name == key or name.startswith(key + "-")]
    return PRICES[max(matches, key=len)] if matches else (0.0, 0.0)


def empty_usage() -> dict[str, float]:
    return {key: 0 for key in USAGE_KEYS}


def add_usage(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: sums usage; an update carrying ``__reset__`` replaces it (a new run on the thread)."""
    right = right or {}
    base = {} if right.get(RESET) or left is None else left
    return {key: base.get(key, 0) + right.get(key, 0) for key in USAGE_KEYS}


def usage_of_call(message: AIMessage, seconds: float = 0.0) -> dict[str, Any]:
    """Usage of one model call: one step, its tokens, its cost from the price table."""
    meta = message.usage_metadata or {}
    input_tokens, output_tokens = meta.get("input_tokens", 0), meta.get("output_tokens", 0)
    model_name = str((message.response_metadata or {}).get("model_name", ""))
    price_in, price_out = price_of(model_name)
    cost = (input_tokens * price_in + output_tokens * price_out) / 1_000_000
    return {"steps": 1, "input_tokens": input_tokens, "output_tokens": output_tokens, "cost_usd": cost, "seconds": seconds}


def usage_of_calls(messages: list[AIMessage], seconds: float = 0.0) -> dict[str, Any]:
    total = empty_usage()
    for message in messages:
        total = add_usage(total, usage_of_call(message))
    return add_usage(total, {"seconds": seconds})


@dataclass(frozen=True)
class Budgets:
    """Per-run limits. Exhaustion escalates to a human with context; nothing loops forever."""

    max_steps: int = 20
    """Model calls in the run (planning, worker steps, evaluations)."""
    max_revisions: int = 2
    """Revisions of one task before it escalates."""
    max_tokens: int = 200_000
    max_cost_usd: float = 1.00
    max_wall_seconds: float = 900.0
    """Active seconds (time spent waiting for a human does not count)."""
    max_task_steps: int = 8
    """Model calls in one attempt of one task (stops a worker that loops)."""
    max_tool_failures: int = 3
    """Consecutive failed tool calls (each after its own retries) in one attempt of one task before
    it escalates to a human with the errors; a call that runs resets the count."""

    def __post_init__(self) -> None:
        for item in fields(self):
            if getattr(self, item.name) <= 0:
                raise ValueError(f"budget {item.name} must be positive, got {getattr(self, item.name)!r}")

    def with_overrides(self, **overrides: Any) -> Budgets:
        given = {key: value for key, value in overrides.items() if value is not None}
        return replace(self, **given) if given else self  # frozen: no overrides (most runs), no copy

    def scaled(self, factor: int) -> Budgets:
        """The budgets after a reviewer granted `factor - 1` extensions."""
        if factor <= 1:
            return self
        return replace(self, max_steps=self.max_steps * factor, max_tokens=self.max_tokens * factor,
                       max_cost_usd=self.max_cost_usd * factor, max_wall_seconds=self.max_wall_seconds * factor)

    def exhausted_by(self, usage: dict[str, Any]) -> str | None:
        """Why `usage` has run out of this budget, or None."""
        steps, cost, seconds = usage.get("steps", 0), usage.get("cost_usd", 0), usage.get("seconds", 0)
        tokens = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
        if steps >= self.max_steps:
            return f"step budget spent ({steps}/{self.max_steps} model calls)"
        if tokens >= self.max_tokens:
            return f"token budget spent ({tokens}/{self.max_tokens})"
        if cost >= self.max_cost_usd:
            return f"cost budget spent (${cost:.4f}/${self.max_cost_usd:.2f})"
        if seconds >= self.max_wall_seconds:
            return f"time budget spent ({seconds:.0f}s/{self.max_wall_seconds:.0f}s)"
        return None
