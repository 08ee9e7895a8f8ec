"""The embedded model end to end: real weights, real llama.cpp server, real constrained decoding.

Uses the data home already in effect (``$TASKWARDEN_HOME`` or ``~/.taskwarden``) so the
1.1 GB model is joined once, not per session; stops the server at the end only if
this session started it.
"""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from taskwarden.models import init_chat_model
from taskwarden.models.errors import ModelServerError, ModelUnavailableError

pytestmark = pytest.mark.integration


@tool
def lookup_customer(email: str) -> dict:
    """Look up a customer record by email address."""
    return {}


@tool
def list_purchases(customer_id: str) -> list:
    """List the purchases of a customer by customer id."""
    return []


@tool
def issue_refund(purchase_id: str, amount: float = Field(gt=0), reason: str = Field(min_length=3)) -> str:
    """Refund an amount of money for a purchase, with a short reason."""
    return "ok"


TOOLS = [lookup_customer, list_purchases, issue_refund]
SYSTEM = SystemMessage("You are a customer-support agent. Use the tools to act; never invent ids.")


class Address(BaseModel):
    city: str
    country: str


class Customer(BaseModel):
    name: str
    age: int = Field(ge=0, le=150)
    address: Address
    vip: bool


@pytest.fixture(scope="module")
def local_model():
    pytest.importorskip("llama_cpp")
    from taskwarden.models.server import ensure_server, read_state, stop_server

    already_running = read_state() is not None
    try:
        ensure_server()
    except ModelUnavailableError as exc:
        pytest.skip(f"embedded model not installed: {exc}")
    yield init_chat_model("local")
    if not already_running:
        stop_server()


def _check_call(call, expected_name):
    tool_by_name = {t.name: t for t in TOOLS}
    assert call["name"] == expected_name
    tool_by_name[call["name"]].tool_call_schema.model_validate(call["args"])  # matches its schema
    assert call["id"].startswith("call_") and call["type"] == "tool_call"


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Please find the customer with email maria.lopez@example.com", "lookup_customer"),
        ("Show me every purchase made by customer C-1042.", "list_purchases"),
        ("Refund $19.99 on purchase P-7781, the item arrived broken.", "issue_refund"),
    ],
)
def test_real_tool_calls_parse_and_match_their_schemas(local_model, prompt, expected):
    reply = local_model.bind_tools(TOOLS).invoke([SYSTEM, HumanMessage(prompt)])
    assert reply.invalid_tool_calls == []
    assert len(reply.tool_calls) == 1
    _check_call(reply.tool_calls[0], expected)
    assert reply.usage_metadata["input_tokens"] > 0 and reply.usage_metadata["output_tokens"] > 0
    assert reply.response_metadata["model_name"] == "qwen2.5-coder-1.5b-instruct-q4_k_m"


def test_tool_results_in_history_lead_to_a_valid_next_step(local_model):
    history = [
        SYSTEM,
        HumanMessage("What did customer maria.lopez@example.com buy?"),
        AIMessage(
            "", tool_calls=[{"name": "lookup_customer", "args": {"email": "maria.lopez@example.com"}, "id": "c1"}]
        ),
        ToolMessage('{"customer_id": "C-1042", "name": "Maria Lopez"}', tool_call_id="c1"),
    ]
    reply = local_model.bind_tools(TOOLS).invoke(history)
    assert reply.invalid_tool_calls == []
    if reply.tool_calls:
        _check_call(reply.tool_calls[0], reply.tool_calls[0]["name"])
    else:
        assert reply.content.strip()


def test_structured_output_returns_a_valid_pydantic_object(local_model):
    text = "Ana Silva, 34, lives in Porto, Portugal. She is one of our VIP members."
    result = local_model.with_structured_output(Customer).invoke(f"Extract the customer: {text}")
    assert isinstance(result, Customer)
    assert result.address.city == "Porto" and 0 <= result.age <= 150


def test_structured_output_include_raw(local_model):
    out = local_model.with_structured_output(Address, include_raw=True).invoke("Where: Lyon, France")
    assert out["parsing_error"] is None and isinstance(out["parsed"], Address)
    assert isinstance(out["raw"], AIMessage) and out["raw"].usage_metadata["total_tokens"] > 0


def test_parallel_callers_queue_instead_of_failing(local_model):
    bound = local_model.bind_tools(TOOLS, tool_choice="lookup_customer")
    prompts = [f"Find customer user{i}@example.com" for i in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(bound.invoke, prompts))
    assert [r.tool_calls[0]["args"]["email"] for r in replies] == [f"user{i}@example.com" for i in range(3)]


def test_a_killed_server_is_restarted_transparently(local_model):
    from taskwarden.models.server import read_state

    before = read_state()
    os.killpg(before["pid"], signal.SIGKILL)
    time.sleep(0.5)
    reply = local_model.invoke("Say OK.")
    assert reply.content.strip()
    after = read_state()
    assert after["pid"] != before["pid"] and after["port"] == before["port"]


def test_missing_model_path_gives_a_clear_error(tmp_path, monkeypatch):
    from taskwarden.models.server import ensure_server

    monkeypatch.setenv("TASKWARDEN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TASKWARDEN_LOCAL_MODEL_PATH", str(tmp_path / "nope.gguf"))
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        ensure_server()


def test_corrupt_model_file_gives_a_clear_error_with_the_log(tmp_path, monkeypatch):
    from taskwarden.models.server import ensure_server, read_state

    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + os.urandom(4096))
    monkeypatch.setenv("TASKWARDEN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TASKWARDEN_LOCAL_MODEL_PATH", str(corrupt))
    with pytest.raises(ModelServerError, match="failed to start") as info:
        ensure_server(timeout=60)
    assert "Failed to load model" in str(info.value)
    assert read_state() is None


def test_fast_grammar_sampling_matches_the_full_vocabulary_check(local_model, monkeypatch):
    """The server's top-candidates-first grammar sampler changes speed, not (greedy) output."""
    from llama_cpp import Llama, _internals

    from taskwarden.models import fast_grammar
    from taskwarden.models.llama_main import disable_extra_buffers
    from taskwarden.models.plan import make_plan
    from taskwarden.models.server import extra_buffers_allowed, read_state
    from taskwarden.models.toolspec import to_openai_tools

    if not extra_buffers_allowed():
        disable_extra_buffers()
    plan = make_plan(to_openai_tools(TOOLS), None, None)
    llm = Llama(model_path=read_state()["model_path"], n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
    prompts = ["Refund $5 on purchase P-1 for a late delivery.", "Hello, who are you?"]

    def replies():
        out = []
        for prompt in prompts:
            llm.reset()  # same batches every time: no prefix reuse between the two passes
            reply = llm.create_chat_completion(
                messages=[{"role": "system", "content": plan.protocol}, {"role": "user", "content": prompt}],
                response_format=plan.response_format,
                temperature=0.0,
                max_tokens=96,
            )
            out.append(reply["choices"][0]["message"]["content"])
        return out

    monkeypatch.setattr(_internals.LlamaSampler, "add_grammar", _internals.LlamaSampler.add_grammar)
    if getattr(_internals.LlamaSampler.add_grammar, "_taskwarden_fast", False):
        pytest.skip("fast grammar already installed in this process")
    full = replies()
    fast_grammar.install()
    assert replies() == full


def test_the_prompt_cache_restores_an_earlier_prompt_and_changes_no_reply(local_model, monkeypatch):
    """A prompt that starts like the one before the previous one is not decoded again; greedy replies are the same."""
    import llama_cpp
    from llama_cpp import Llama

    from taskwarden.models import prefix_cache
    from taskwarden.models.llama_main import disable_extra_buffers
    from taskwarden.models.plan import make_plan
    from taskwarden.models.server import extra_buffers_allowed, llama_settings, read_state
    from taskwarden.models.toolspec import to_openai_tools

    for name in ("save_state", "load_state"):  # undone after the test
        monkeypatch.setattr(Llama, name, getattr(Llama, name))
    monkeypatch.setattr(llama_cpp, "LlamaRAMCache", llama_cpp.LlamaRAMCache)
    prefix_cache.install()
    if not extra_buffers_allowed():
        disable_extra_buffers()
    settings = {**llama_settings(), "n_ctx": 2048}
    settings.pop("cache_size")
    llm = Llama(model_path=read_state()["model_path"], verbose=False, **settings)
    refunder = make_plan(to_openai_tools(TOOLS), None, None)
    lookup = make_plan(to_openai_tools([issue_refund, lookup_customer]), None, None)
    requests = [(refunder, "Refund $5 on purchase P-1 for a late delivery."),
                (lookup, "Find the customer ana@example.com."),
                (refunder, "Refund $12.50 on purchase P-7, it arrived broken.")]

    def run(cache):
        llm.reset()
        llm.set_cache(cache)
        decoded, replies = [], []
        original_eval = llm.eval

        def counting_eval(tokens):  # a completion's first eval is the part of its prompt no state held
            if len(decoded) == len(replies):
                decoded.append(len(tokens))
            return original_eval(tokens)

        llm.eval = counting_eval
        for plan, text in requests:
            out = llm.create_chat_completion(
                messages=[{"role": "system", "content": plan.protocol}, {"role": "user", "content": text}],
                response_format=plan.response_format, temperature=0.0, repeat_penalty=1.1, max_tokens=96)
            replies.append(out["choices"][0]["message"]["content"])
        del llm.eval
        return decoded, replies

    decoded_off, replies_off = run(None)
    cache = prefix_cache.PrefixStateCache(capacity_bytes=256 << 20)
    decoded_on, replies_on = run(cache)
    assert replies_on == replies_off
    assert decoded_on[:2] == decoded_off[:2]
    assert decoded_on[2] < decoded_off[2] - 100, (decoded_on, decoded_off)  # the refunder's system prompt
    assert 0 < cache.cache_size <= cache.capacity_bytes and len(cache.entries) == 3  # three branches


def test_the_server_restores_earlier_prompts_from_its_cache(local_model):
    """The server is started with the prompt cache, and it serves a role's prompt after another role's."""
    from taskwarden.models.server import log_path

    log = log_path()
    offset = log.stat().st_size
    bound = local_model.bind_tools(TOOLS, tool_choice="lookup_customer")
    other = local_model.bind_tools([issue_refund], tool_choice="issue_refund")
    bound.invoke([SYSTEM, HumanMessage("Find customer ana@example.com")])
    other.invoke([HumanMessage("Refund $5 on purchase P-1 for a late delivery.")])
    reply = bound.invoke([SYSTEM, HumanMessage("Find customer ben@example.com")])
    assert reply.tool_calls[0]["args"]["email"] == "ben@example.com"
    with log.open("rb") as f:
        f.seek(offset)
        assert b"Llama._create_completion: cache hit" in f.read()
