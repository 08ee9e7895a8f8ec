"""Throughput of the embedded model through the whole stack next to raw in-process ``llama_cpp.Llama``.

Stack: ``init_chat_model("local")`` -> LangChain -> HTTP -> our llama.cpp server.
Raw:   ``llama_cpp.Llama`` in this process with the server's exact settings
       (context, threads, prompt cache, buffer workaround, fast grammar).
Both sides see the same prompts, interleaved, in the same run, so the ratio is
the stack's overhead.  Prompt tok/s comes from a 1-token completion of a fresh
prompt; generation tok/s from re-sending it (now cached) with ``--gen-tokens``.

    .venv/bin/python benchmarks/bench_model.py [--gen-tokens 48]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass

from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from taskwarden.models import init_chat_model
from taskwarden.models.plan import make_plan
from taskwarden.models.server import ensure_server, extra_buffers_allowed, llama_settings, read_state
from taskwarden.models.toolspec import to_openai_tools

PROMPTS = [
    "Summarize this support ticket in two sentences.\n\nTicket #4417: The customer ordered a standing desk "
    "(order D-88213) on March 3rd. It arrived on March 9th with a cracked leg and a missing bag of screws. "
    "They contacted support twice by chat, were promised a replacement leg within five business days, and "
    "nothing arrived. They now ask for a full refund of $489 or an immediate replacement, and mention that "
    "they will dispute the charge with their bank if nothing happens by Friday. They are a repeat customer "
    "with eleven previous orders and no prior complaints.",
    "Explain what this Python function does and point out one bug.\n\n"
    "def average_order_value(orders):\n    total = 0\n    for order in orders:\n        if order['status'] "
    "!= 'refunded':\n            total += order['amount']\n    return total / len(orders)\n\n"
    "It is called nightly over all orders of a merchant, including merchants with no orders yet, and its "
    "result is written to the finance dashboard next to the refund rate.",
    "Our refund policy: purchases can be refunded within 30 days of delivery if unused; damaged items can "
    "be refunded within 90 days with a photo; digital goods are refundable only if not downloaded; refunds "
    "above $500 need a manager's approval; store credit is offered first for orders older than 30 days. "
    "Question: a customer received a damaged $120 lamp 45 days ago and sent a photo. What should we do?",
]


@tool
def lookup_customer(email: str) -> dict:
    """Look up a customer record by email address."""
    return {}


@tool
def issue_refund(purchase_id: str, amount: float, reason: str) -> str:
    """Refund an amount of money for a purchase, with a short reason."""
    return "ok"


TOOL_PROMPTS = ["Refund $42.50 on purchase P-5521, it arrived damaged.", "Find the customer alex.kim@example.com"]


@dataclass
class Sample:
    tokens: int
    seconds: float


def stack_side(gen_tokens: int):
    """Callables measuring the full stack."""
    one = init_chat_model("local", max_tokens=1)
    many = init_chat_model("local", max_tokens=gen_tokens)
    tools = init_chat_model("local").bind_tools([lookup_customer, issue_refund])

    def prompt(text: str) -> Sample:
        start = time.perf_counter()
        reply = one.invoke([HumanMessage(text)])
        return Sample(reply.usage_metadata["input_tokens"], time.perf_counter() - start)

    def generate(text: str) -> Sample:
        start = time.perf_counter()
        reply = many.invoke([HumanMessage(text)])
        return Sample(reply.usage_metadata["output_tokens"], time.perf_counter() - start)

    def tool_call(text: str) -> Sample:
        start = time.perf_counter()
        reply = tools.invoke([HumanMessage(text)])
        assert reply.tool_calls, reply
        return Sample(reply.usage_metadata["output_tokens"], time.perf_counter() - start)

    return prompt, generate, tool_call


def raw_side(gen_tokens: int):
    """The same three measurements on an identically configured in-process ``Llama``."""
    from llama_cpp import Llama

    from taskwarden.models import fast_grammar, prefix_cache
    from taskwarden.models.llama_main import disable_extra_buffers

    if not extra_buffers_allowed():
        disable_extra_buffers()
    fast_grammar.install()
    settings = llama_settings()
    cache_size = settings.pop("cache_size")
    llm = Llama(model_path=read_state()["model_path"], verbose=False, **settings)
    if cache_size:  # the server's prompt cache (TASKWARDEN_LOCAL_PROMPT_CACHE_MB)
        prefix_cache.install()
        llm.set_cache(prefix_cache.PrefixStateCache(capacity_bytes=cache_size))
    plan = make_plan(to_openai_tools([lookup_customer, issue_refund]), None, None)
    sampling = {"temperature": 0.0, "repeat_penalty": 1.1}  # the server's request defaults

    def complete(messages, **kw):
        return llm.create_chat_completion(messages=messages, **sampling, **kw)

    def prompt(text: str) -> Sample:
        start = time.perf_counter()
        out = complete([{"role": "user", "content": text}], max_tokens=1)
        return Sample(out["usage"]["prompt_tokens"], time.perf_counter() - start)

    def generate(text: str) -> Sample:
        start = time.perf_counter()
        out = complete([{"role": "user", "content": text}], max_tokens=gen_tokens)
        return Sample(out["usage"]["completion_tokens"], time.perf_counter() - start)

    def tool_call(text: str) -> Sample:
        messages = [{"role": "system", "content": plan.protocol}, {"role": "user", "content": text}]
        start = time.perf_counter()
        out = complete(messages, max_tokens=1024, response_format=plan.response_format)
        return Sample(out["usage"]["completion_tokens"], time.perf_counter() - start)

    return prompt, generate, tool_call


def rate(samples: list[Sample]) -> float:
    return sum(s.tokens for s in samples) / sum(s.seconds for s in samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gen-tokens", type=int, default=48)
    args = parser.parse_args()

    ensure_server()
    stack, raw = stack_side(args.gen_tokens), raw_side(args.gen_tokens)
    stack[0]("warm up"), raw[0]("warm up")
    results: dict[str, dict[str, list[Sample]]] = {"stack": {}, "raw": {}}
    for kind, index, texts in (("prompt", 0, PROMPTS), ("generation", 1, PROMPTS), ("tool call", 2, TOOL_PROMPTS)):
        for text in texts:
            for side, fns in (("stack", stack), ("raw", raw)):
                results[side].setdefault(kind, []).append(fns[index](text))

    print(f"bench_model: {os.cpu_count()} cores, {platform.machine()}, settings {llama_settings()}, "
          f"extra buffers {'on' if extra_buffers_allowed() else 'off'}")  # fmt: skip
    print(f"{'metric':<34}{'stack':>10}{'raw':>10}{'ratio':>8}")
    print("-" * 62)
    for kind, label in (
        ("prompt", "prompt tok/s"),
        ("generation", "generation tok/s"),
        ("tool call", "tool-call output tok/s"),
    ):
        s, r = rate(results["stack"][kind]), rate(results["raw"][kind])
        print(f"{label:<34}{s:>10.1f}{r:>10.1f}{s / r:>8.2f}")
    for kind in ("prompt", "generation", "tool call"):
        for i, (s, r) in enumerate(zip(results["stack"][kind], results["raw"][kind], strict=True)):
            label = f"  {kind} #{i + 1} ({s.tokens} tok) seconds"
            print(f"{label:<34}{s.seconds:>10.2f}{r.seconds:>10.2f}{r.seconds / s.seconds:>8.2f}")


if __name__ == "__main__":
    main()
