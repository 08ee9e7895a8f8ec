"""What keeps a small model honest: the reliability mechanisms, configurable per workflow and per run.

Each mechanism is deterministic code around the model, on by default (they cost a capable model
almost nothing and make a small one useful); a run's ``Context(disable=[...])`` switches some off,
which is how `taskwarden eval --ablate` measures what each one is worth.

- ``grounding``: a write's identifier-like arguments must come from the request, the conversation
  or an earlier tool observation in this run (`taskwarden.tools.grounding`); an ungrounded call is
  not executed and the model is told which read tools can find the value.
- ``look_before_act``: identifiers a write targets must have been *read* first (seen in a tool
  observation, not only in the request); the planner makes indirect references explicit lookups.
- ``loop_recovery``: an empty or non-answer final message, a call identical to one that just failed,
  or several steps without progress get a corrective observation, then a re-plan of the task
  (a fresh attempt with feedback), then an escalation; never an endless loop or a silent "done".
- ``verify_after_write``: after a state-changing call, the effect is re-read (the tool's `verify`,
  else its `reconcile`) before the task can pass; a mismatch is revised or escalated.
- ``confirm_before_write``: calls to the workflow's `confirm` tools are stated to the requester and
  wait for an explicit yes through the conversation before they run.
- ``nothing_asked``: a write whose tool declares an `intent` the request does not express is blocked
  (the workflow finishes without side effects and says why); the evaluator fails unnecessary writes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

MECHANISMS = ("grounding", "look_before_act", "loop_recovery", "verify_after_write", "confirm_before_write",
              "nothing_asked")


@dataclass(frozen=True)
class Reliability:
    """Which mechanisms are on, and the loop detector's patience."""

    grounding: bool = True
    look_before_act: bool = True
    loop_recovery: bool = True
    verify_after_write: bool = True
    confirm_before_write: bool = True
    nothing_asked: bool = True
    max_steps_without_progress: int = 4
    """Model calls in one attempt with no new successful tool result before a corrective observation."""

    def __post_init__(self) -> None:
        if self.max_steps_without_progress < 1:
            raise ValueError(f"max_steps_without_progress must be at least 1, got {self.max_steps_without_progress}")

    def without(self, names: tuple[str, ...] | list[str] | None) -> Reliability:
        """A copy with the named mechanisms off; an unknown name is a `ValueError` naming the known ones."""
        names = tuple(names or ())
        check_mechanisms(names)
        return replace(self, **dict.fromkeys(names, False)) if names else self

    def enabled(self) -> list[str]:
        return [f.name for f in fields(self) if f.name in MECHANISMS and getattr(self, f.name)]


def check_mechanisms(names: tuple[str, ...] | list[str]) -> None:
    unknown = [name for name in names if name not in MECHANISMS]
    if unknown:
        raise ValueError(f"unknown reliability mechanism(s) {unknown}; known: {list(MECHANISMS)}")
