"""Text helpers the shipped workflows share: one way to cut a reply or a document into sentences, one way to find
words a reply copied from a request."""

from __future__ import annotations

import re

_SENTENCE_BREAK = re.compile(r"(?<=[.!?\n])\s+")


def sentences(text: str) -> list[str]:
    """The non-empty sentences of `text`: cut after '.', '!', '?' or a line break followed by white space."""
    return [s.strip() for s in _SENTENCE_BREAK.split(text) if s.strip()]


_WORD = re.compile(r"[\w$@%'-]+(?:[.,][\w$@%'-]+)*")


def copied_words(text: str, source: str, *, at_least: int = 5) -> str | None:
    """The first longest run of `at_least` or more consecutive words of `text` that `source` also has in that order
    (case and punctuation aside), as `text` writes it; None when there is none."""
    words, known = list(_WORD.finditer(text)), [w.casefold() for w in _WORD.findall(source)]

    def in_source(run: list[re.Match]) -> bool:
        folded = [w.group(0).casefold() for w in run]
        return any(known[i:i + len(folded)] == folded for i in range(len(known) - len(folded) + 1))

    for start in range(len(words) - at_least + 1):
        end = start + at_least
        if in_source(words[start:end]):
            while end < len(words) and in_source(words[start:end + 1]):
                end += 1
            return text[words[start].start():words[end - 1].end()]
    return None
