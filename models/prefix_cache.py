"""A prompt cache that keeps the KV state of several earlier prompts, not only the last one.

llama.cpp reuses the longest common prefix with the *previous* prompt. A workflow alternates prompts
(a worker's loop, the evaluator, the next role, the planner), so most of its calls follow another
role's prompt and re-evaluate a system prompt the server computed a minute before (measured on the
refund desk: 8 of 14 calls per case matched 3 tokens, ~650 tokens each re-evaluated).

``PrefixStateCache`` keeps compact snapshots, each one sequence's KV cells and their tokens (about
28 KB per token for the 1.5B model), and llama-cpp-python restores the one sharing the longest
prefix with a new prompt when it shares more than the live state. llama-cpp-python's own
``LlamaRAMCache`` has the same lookup, but its ``save_state`` also copies the logits buffer
(n_batch x n_vocab floats, ~311 MB for Qwen2.5) into every entry without counting it: a 1 GiB
cache grew the server to 16 GB RSS. Here every byte kept is counted.

``install()`` makes the server's ``--cache true --cache_type ram`` use this cache.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SEQ_ID = 0
"""llama-cpp-python's ``Llama`` decodes every prompt into sequence 0."""


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One sequence's KV cells after ``input_ids`` were decoded (what ``Llama.save_state`` returns here)."""

    input_ids: np.ndarray
    kv: ctypes.Array

    @property
    def tokens(self) -> tuple[int, ...]:
        return tuple(self.input_ids.tolist())

    @property
    def nbytes(self) -> int:
        return ctypes.sizeof(self.kv) + self.input_ids.nbytes


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class PrefixStateCache:
    """Snapshots by their tokens, least recently used dropped first once ``capacity_bytes`` is exceeded.

    A snapshot whose tokens start another one's is dropped (the longer one serves every prompt it
    would), so one conversation growing call by call keeps one entry.
    """

    def __init__(self, capacity_bytes: int):
        self.capacity_bytes = capacity_bytes
        self.entries: OrderedDict[tuple[int, ...], Snapshot] = OrderedDict()

    def __bool__(self) -> bool:  # llama-cpp-python tests `if self.cache:` before every lookup and save
        return True

    @property
    def cache_size(self) -> int:
        return sum(s.nbytes for s in self.entries.values())

    def _longest(self, key: Sequence[int]) -> tuple[int, ...] | None:
        best, best_len = None, 0
        for tokens in self.entries:
            n = common_prefix(tokens, key)
            if n > best_len:
                best, best_len = tokens, n
        return best

    def __getitem__(self, key: Sequence[int]) -> Snapshot:
        """The snapshot sharing the longest prefix with ``key`` (KeyError when none shares a token)."""
        best = self._longest(key)
        if best is None:
            raise KeyError("no cached prompt shares a prefix")
        self.entries.move_to_end(best)
        return self.entries[best]

    def __contains__(self, key: Sequence[int]) -> bool:
        return self._longest(key) is not None

    def __setitem__(self, key: Sequence[int], value: Snapshot) -> None:
        """Store ``value`` under its own tokens (``key`` may hold one more, never-decoded, sampled token)."""
        if not isinstance(value, Snapshot) or value.nbytes > self.capacity_bytes:
            return
        tokens = value.tokens
        for other in list(self.entries):
            if len(other) >= len(tokens) and other[: len(tokens)] == tokens:
                self.entries.move_to_end(other)  # already served by a longer one
                return
            if other == tokens[: len(other)]:
                del self.entries[other]
        self.entries[tokens] = value
        while self.cache_size > self.capacity_bytes:
            self.entries.popitem(last=False)


def save_sequence(llm) -> Snapshot:
    """``Llama.save_state`` without the logits copy: sequence 0's KV cells and the tokens decoded into them."""
    import llama_cpp.llama_cpp as lib

    ctx = llm._ctx.ctx
    size = lib.llama_state_seq_get_size(ctx, SEQ_ID)
    buffer = (ctypes.c_uint8 * size)()
    written = lib.llama_state_seq_get_data(ctx, buffer, size, SEQ_ID)
    if written != size:
        kept = (ctypes.c_uint8 * written)()
        ctypes.memmove(kept, buffer, written)
        buffer = kept
    return Snapshot(input_ids=llm.input_ids[: llm.n_tokens].copy(), kv=buffer)


def load_sequence(llm, snapshot: Snapshot) -> None:
    """Put ``snapshot`` back as the live state; the next decode refreshes the logits before sampling."""
    import llama_cpp.llama_cpp as lib

    llm._ctx.kv_cache_seq_rm(SEQ_ID, 0, -1)
    if lib.llama_state_seq_set_data(llm._ctx.ctx, snapshot.kv, ctypes.sizeof(snapshot.kv), SEQ_ID) == 0:
        llm.reset()  # the prompt is then decoded in full, as without a cache
        return
    n = len(snapshot.input_ids)
    llm.input_ids[:n] = snapshot.input_ids
    llm.n_tokens = n
    llm._requires_eval = True


def install() -> None:
    """Route llama-cpp-python's RAM cache through ``PrefixStateCache`` and compact snapshots.

    ``Llama.save_state``/``load_state`` keep their original behaviour for models created with
    ``logits_all=True`` (whose callers may need the logits) and for states they did not make.
    """
    import llama_cpp
    from llama_cpp import llama as llama_module

    cls = llama_module.Llama
    if getattr(cls.save_state, "_taskwarden_patched", False):
        return
    original_save, original_load = cls.save_state, cls.load_state

    def save_state(self):
        return original_save(self) if self._logits_all else save_sequence(self)

    def load_state(self, state) -> None:
        if isinstance(state, Snapshot):
            load_sequence(self, state)
        else:
            original_load(self, state)

    save_state._taskwarden_patched = True  # type: ignore[attr-defined]
    cls.save_state, cls.load_state = save_state, load_state
    llama_cpp.LlamaRAMCache = PrefixStateCache  # what llama_cpp.server builds for --cache_type ram
