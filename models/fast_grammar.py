"""Faster grammar-constrained sampling for llama-cpp-python: check the top candidates first.

llama-cpp-python applies a grammar to every vocabulary entry at every step; with
Qwen's 151k-token vocabulary that costs 2-8x the decode itself.  ``install()``
swaps ``LlamaSampler.add_grammar`` for a sampler that runs the grammar on the
``top_k`` highest-logit candidates only and masks everything else; when none of
them is allowed it falls back to the full check.  Greedy decoding is unchanged
(the best allowed token is among the top candidates whenever any is), and a
grammar that fails to parse raises ``ValueError`` instead of crashing the process.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

DEFAULT_TOP_K = 64


class FastGrammarSampler:
    """A llama.cpp sampler (Python callbacks) wrapping a native grammar sampler."""

    def __init__(self, grammar_sampler: Any, top_k: int = DEFAULT_TOP_K) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._grammar = grammar_sampler
        self._top_k = top_k
        self._dtype = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
        self._callbacks = (
            llama_cpp.llama_sampler_i_apply(lambda _s, cur_p: self._apply(cur_p)),
            llama_cpp.llama_sampler_i_accept(lambda _s, token: llama_cpp.llama_sampler_accept(self._grammar, token)),
            llama_cpp.llama_sampler_i_reset(lambda _s: llama_cpp.llama_sampler_reset(self._grammar)),
        )
        iface = llama_cpp.llama_sampler_i()
        iface.apply, iface.accept, iface.reset = self._callbacks
        iface.name = llama_cpp.llama_sampler_i_name(0)
        iface.clone = llama_cpp.llama_sampler_i_clone(0)
        iface.free = llama_cpp.llama_sampler_i_free(0)
        self._iface = iface
        self.sampler = llama_cpp.llama_sampler()
        self.sampler.iface = ctypes.pointer(iface)
        self.sampler.ctx = None

    def get_sampler(self) -> Any:
        """The pointer to add to a sampler chain."""
        return ctypes.pointer(self.sampler)

    def _apply(self, cur_p: Any) -> None:
        lib = self._lib
        array = cur_p.contents
        n = int(array.size)
        k = min(self._top_k, n)
        raw = (lib.llama_token_data * n).from_address(ctypes.addressof(array.data.contents))
        rows = np.frombuffer(raw, dtype=self._dtype)
        logits = rows["logit"]
        top = np.argpartition(logits, n - k)[n - k :]
        small = (lib.llama_token_data * k)()
        small_rows = np.frombuffer(small, dtype=self._dtype)
        small_rows[:] = rows[top]
        small_array = lib.llama_token_data_array(data=small, size=k, selected=-1, sorted=False)
        lib.llama_sampler_apply(self._grammar, ctypes.byref(small_array))
        allowed = np.isfinite(small_rows["logit"])
        if not allowed.any():
            lib.llama_sampler_apply(self._grammar, cur_p)  # rare: fall back to the full vocabulary
            return
        keep = top[allowed]
        kept = logits[keep].copy()
        logits[:] = -np.inf
        logits[keep] = kept
        array.sorted = False
        array.selected = -1

    def __del__(self) -> None:
        if getattr(self, "_grammar", None):
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None


def install(top_k: int = DEFAULT_TOP_K) -> None:
    """Patch ``llama_cpp._internals.LlamaSampler.add_grammar`` process-wide (idempotent)."""
    import llama_cpp
    from llama_cpp import _internals

    if getattr(_internals.LlamaSampler.add_grammar, "_taskwarden_fast", False):
        return

    def add_grammar(self: Any, model: Any, grammar: Any) -> None:
        native = llama_cpp.llama_sampler_init_grammar(
            model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not native:
            raise ValueError("llama.cpp could not parse the grammar built from this JSON schema")
        fast = FastGrammarSampler(native, top_k)
        llama_cpp.llama_sampler_chain_add(self.sampler, fast.get_sampler())
        # like add_custom: removed from the chain before it is freed, so llama.cpp never frees it
        self.custom_samplers.append((llama_cpp.llama_sampler_chain_n(self.sampler) - 1, fast))

    add_grammar._taskwarden_fast = True  # type: ignore[attr-defined]
    _internals.LlamaSampler.add_grammar = add_grammar
