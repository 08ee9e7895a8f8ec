"""The server's prompt cache on the refund desk's real request sequence: prompt tokens decoded and time, off vs on.

1. Records every request the engine sends while the refund desk handles the first ``--cases`` sample
   requests on the embedded model (reviews approved), through the real server.
2. Replays that sequence twice on an in-process ``llama_cpp.Llama`` with the server's settings: with
   only llama.cpp's reuse of the previous prompt's prefix (the cache off), then with
   ``PrefixStateCache`` (on). Same requests, same order, so the ratio is the cache's worth; the replies
   of both passes are compared (greedy decoding: the cache should change speed, not what is said).

    .venv/bin/python benchmarks/bench_prompt_cache.py [--cases 2] [--save requests.json | --load requests.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from taskwarden.models.local import LocalChatModel
from taskwarden.models.server import DEFAULT_CACHE_MB, ensure_server, extra_buffers_allowed, llama_settings, read_state
from taskwarden.workflows.refunds.prompts import SAMPLE_REQUESTS

SERVER_ONLY = {"n", "best_of", "logit_bias_type", "user", "min_tokens", "grammar"}
"""Request fields the server reads itself instead of passing them to ``create_chat_completion``."""


def record(cases: int) -> list[dict[str, Any]]:
    """The request bodies the engine sends while the refund desk handles ``cases`` sample requests."""
    from bench_refund_desk import run_one

    payloads: list[dict[str, Any]] = []
    original = LocalChatModel._get_request_payload

    def recording(self, input_, *, stop=None, **kwargs):
        payload = original(self, input_, stop=stop, **kwargs)
        payloads.append(json.loads(json.dumps(payload, default=str)))
        return payload

    LocalChatModel._get_request_payload = recording
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i, request in enumerate(SAMPLE_REQUESTS[:cases]):
                workdir = Path(tmp) / str(i)
                workdir.mkdir()
                run_one(request, workdir)
    finally:
        LocalChatModel._get_request_payload = original
    return payloads


def replay(llm, payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Send every request to ``llm`` in order, as the server would; count the prompt tokens it decodes."""
    import llama_cpp
    from llama_cpp.server.types import CreateChatCompletionRequest

    decoded, first_eval = 0, True
    original_eval = llm.eval

    def counting_eval(tokens):  # a completion's first eval is its prompt (what no cache held); then one per token
        nonlocal decoded, first_eval
        if first_eval:
            decoded += len(tokens)
            first_eval = False
        return original_eval(tokens)

    llm.eval = counting_eval
    replies, prompt_tokens, started = [], 0, time.perf_counter()
    try:
        for payload in payloads:
            body = CreateChatCompletionRequest(**payload)
            kwargs = body.model_dump(exclude=SERVER_ONLY)
            if body.grammar is not None:
                kwargs["grammar"] = llama_cpp.LlamaGrammar.from_string(body.grammar)
            first_eval = True
            out = llm.create_chat_completion(**kwargs)
            replies.append(out["choices"][0]["message"]["content"])
            prompt_tokens += out["usage"]["prompt_tokens"]
    finally:
        del llm.eval
    return {"seconds": time.perf_counter() - started, "prompt_tokens": prompt_tokens, "decoded": decoded,
            "replies": replies}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2, help="refund desk sample requests to record (default 2)")
    parser.add_argument("--save", type=Path, help="also write the recorded requests to this JSON file")
    parser.add_argument("--load", type=Path, help="replay requests recorded earlier with --save instead of recording")
    parser.add_argument("--cache-mb", type=int, default=DEFAULT_CACHE_MB, help="the cache's size for the 'on' pass")
    args = parser.parse_args()

    if args.load:
        payloads = json.loads(args.load.read_text())
    else:
        ensure_server()
        payloads = record(args.cases)
        if args.save:
            args.save.write_text(json.dumps(payloads))
    print(f"{len(payloads)} requests recorded from {args.cases if not args.load else args.load} refund desk case(s)")

    from llama_cpp import Llama

    from taskwarden.models import fast_grammar, prefix_cache
    from taskwarden.models.llama_main import disable_extra_buffers

    if not extra_buffers_allowed():
        disable_extra_buffers()
    fast_grammar.install()
    prefix_cache.install()
    settings = llama_settings()
    settings.pop("cache_size")
    llm = Llama(model_path=read_state()["model_path"], verbose=False, **settings)
    results = {}
    for name, cache in (("off", None), ("on", prefix_cache.PrefixStateCache(args.cache_mb << 20))):
        llm.reset()
        llm.set_cache(cache)
        results[name] = replay(llm, payloads)
        if cache is not None:
            results[name]["kept"] = f"{len(cache.entries)} states, {cache.cache_size / 2**20:.0f} MB"

    off, on = results["off"], results["on"]
    same = sum(a == b for a, b in zip(off["replies"], on["replies"], strict=True))
    print(f"\n{'prompt cache':<14} {'requests':>8} {'prompt tokens':>13} {'decoded':>8} {'decoded %':>9} {'seconds':>8}  kept")
    for name, r in results.items():
        print(f"{name:<14} {len(payloads):>8} {r['prompt_tokens']:>13,} {r['decoded']:>8,} "
              f"{100 * r['decoded'] / r['prompt_tokens']:>8.1f}% {r['seconds']:>8.1f}  {r.get('kept', '')}")
    print(f"{'on / off':<14} {'':>8} {'':>13} {on['decoded'] / off['decoded']:>8.2f} {'':>9} "
          f"{on['seconds'] / off['seconds']:>8.2f}")
    print(f"\nreplies identical: {same} of {len(payloads)}")


if __name__ == "__main__":
    main()
