"""Text helpers the shipped workflows share: one way to cut a reply or a document into sentences."""

from __future__ import annotations

import re

_SENTENCE_BREAK = re.compile(r"(?<=[.!?\n])\s+")


def sentences(text: str) -> list[str]:
    """The non-empty sentences of `text`: cut after '.', '!', '?' or a line break followed by white space."""
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]
