"""Whether a request asks for an action, or only mentions it.

A tool's declared `intent` (a regex such as ``refund|money back``) says what a request must ask for before
the tool may change anything (`nothing_asked`). A mention is not an ask: "what is your refund policy?" asks a
question, and "please don't refund it yet" asks the opposite (measured: both were refunded). An ask is a
sentence with the intent that is neither an information question nor negated right before the intent.
Polite requests phrased as questions ("could you refund ...?", "can I get a refund?") still ask.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_INFO_QUESTION = re.compile(
    r"^(?:[^:?]*:\s*)?(?:just a question\b|(?:what|how|when|which|why|who|whether|am|are|do|does|did|"
    r"is(?! it possible)|was|were|has|have)\b)", re.IGNORECASE)
"""A question asking for information (after an optional "sender:" prefix), not a request put as a question."""
_NEGATION = re.compile(r"\b(not|no|never|without)\b|n't\b", re.IGNORECASE)
NEGATION_REACH = 4
"""A negation this many words or fewer before the intent turns it down ("don't refund", "not want a refund")."""


def asks_for(intent: str, request: str) -> bool:
    """Whether some sentence of `request` asks for what the `intent` regex names."""
    return any(_asks(sentence.strip(), intent) for sentence in _SENTENCE.split(request) if sentence.strip())


def _asks(sentence: str, intent: str) -> bool:
    if sentence.endswith("?") and _INFO_QUESTION.match(sentence):
        return False
    for mention in re.finditer(intent, sentence, re.IGNORECASE):
        near = " ".join(sentence[: mention.start()].split()[-NEGATION_REACH:])
        if not _NEGATION.search(near):
            return True
    return False
