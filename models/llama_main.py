"""Launcher for ``llama_cpp.server`` with our runtime fixes applied before the model loads.

``python -m taskwarden.models.llama_main [--no-extra-bufts] [--no-fast-grammar] <llama_cpp.server args>``

Grammar sampling goes through ``fast_grammar`` (top candidates first) unless
``--no-fast-grammar`` is given. ``--cache true --cache_type ram`` keeps earlier prompts' KV states
in ``prefix_cache.PrefixStateCache`` (compact, every byte counted) instead of llama-cpp-python's
``LlamaRAMCache``.

Some builds compiled with ``-march=native`` on AMX-capable CPUs crash inside ggml's AMX
matmul (SIGILL seen in Firecracker VMs; SIGSEGV with llama-cpp-python 0.3.36).  Extra buffer types (AMX,
weight repacking) are what route matmuls there; ``--no-extra-bufts`` loads the
weights into plain CPU buffers instead.  ``server.py`` adds the flag after such a
crash and remembers it in ``data_home()/model/runtime.json``.
"""

from __future__ import annotations

import sys

NO_EXTRA_BUFTS = "--no-extra-bufts"
NO_FAST_GRAMMAR = "--no-fast-grammar"


def disable_extra_buffers() -> None:
    """Make every ``llama_cpp.Llama`` created afterwards load weights without extra buffer types."""
    import llama_cpp.llama_cpp as lib

    default = lib.llama_model_default_params
    if getattr(default, "_taskwarden_patched", False):
        return

    def params():
        p = default()
        p.use_extra_bufts = False
        return p

    params._taskwarden_patched = True  # type: ignore[attr-defined]
    lib.llama_model_default_params = params


def main(argv: list[str] | None = None) -> None:
    """Strip our flag, apply it, then hand the remaining argv to ``llama_cpp.server``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if NO_EXTRA_BUFTS in args:
        args.remove(NO_EXTRA_BUFTS)
        disable_extra_buffers()
    if NO_FAST_GRAMMAR in args:
        args.remove(NO_FAST_GRAMMAR)
    else:
        from taskwarden.models.fast_grammar import install

        install()
    from taskwarden.models import prefix_cache

    prefix_cache.install()
    from llama_cpp.server.__main__ import main as server_main

    sys.argv = [sys.argv[0], *args]
    server_main()


if __name__ == "__main__":
    main()
