"""LocalChatModel against a scripted endpoint: what it sends, what it returns, how it recovers."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableBinding
from pydantic import BaseModel, Field
from sample_tools import issue_refund, lookup_customer

from taskwarden.models.errors import ModelCallError
from taskwarden.models.local import LocalChatModel

CALL = json.dumps({"tool": "lookup_customer", "args": {"email": "jane@example.com"}})




class Person(BaseModel):
    name: str
    age: int = Field(ge=0)


def _connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions"))


def test_bind_tools_sends_grammar_and_protocol_and_returns_a_tool_call(model, endpoint):
    fake = endpoint([CALL])
    bound = model.bind_tools([lookup_customer, issue_refund])
    reply = bound.invoke([SystemMessage("You are support."), HumanMessage("who is jane@example.com?")])

    sent = fake.requests[0]
    branches = sent["response_format"]["schema"]["anyOf"]
    assert sent["response_format"]["type"] == "json_object"
    assert [b["properties"]["tool"]["const"] for b in branches] == ["lookup_customer", "issue_refund", "final_answer"]
    system = sent["messages"][0]
    assert system.content.startswith("Tools you can call:") and system.content.endswith("You are support.")
    assert "tools" not in sent and "tool_choice" not in sent
    fake.assert_complete()

    assert reply.tool_calls == [
        {
            "name": "lookup_customer",
            "args": {"email": "jane@example.com"},
            "id": reply.tool_calls[0]["id"],
            "type": "tool_call",
        }
    ]
    assert reply.usage_metadata == {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    assert reply.response_metadata["model_name"] == "test-model"


def test_bound_tools_are_visible_to_langgraph_style_introspection(model):
    bound = model.bind_tools([lookup_customer], tool_choice="any")
    assert isinstance(bound, RunnableBinding)
    assert [t["function"]["name"] for t in bound.kwargs["tools"]] == ["lookup_customer"]
    assert bound.kwargs["tool_choice"] == "any"


def test_system_prompt_prefix_is_byte_stable_across_calls(model, endpoint):
    fake = endpoint([CALL, CALL])
    bound = model.bind_tools([lookup_customer, issue_refund])
    bound.invoke([SystemMessage("S"), HumanMessage("one")])
    bound.invoke([SystemMessage("S"), HumanMessage("two")])
    assert fake.requests[0]["messages"][0].content == fake.requests[1]["messages"][0].content


def test_final_answer_and_history_rendering(model, endpoint):
    fake = endpoint(['{"tool": "final_answer", "answer": "Jane is a gold customer."}'])
    history = [
        HumanMessage("who is jane?"),
        AIMessage("", tool_calls=[{"name": "lookup_customer", "args": {"email": "j@x.com"}, "id": "c1"}]),
        ToolMessage('{"tier": "gold"}', tool_call_id="c1"),
    ]
    reply = model.bind_tools([lookup_customer]).invoke(history)
    assert reply.content == "Jane is a gold customer." and reply.tool_calls == []
    rendered = [(type(m).__name__, m.content) for m in fake.requests[0]["messages"][1:]]
    assert rendered[1] == ("AIMessage", '{"tool": "lookup_customer", "args": {"email": "j@x.com"}}')
    assert rendered[2] == ("HumanMessage", 'Observation from lookup_customer: {"tier": "gold"}')


def test_named_tool_choice_drops_the_final_answer_branch(model, endpoint):
    fake = endpoint([json.dumps({"tool": "issue_refund", "args": {"purchase_id": "P-9", "amount": 3}})])
    reply = model.bind_tools([lookup_customer, issue_refund], tool_choice="issue_refund").invoke("refund P-9")
    branches = fake.requests[0]["response_format"]["schema"]["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in branches] == ["issue_refund"]
    assert reply.tool_calls[0]["name"] == "issue_refund"


def test_invalid_args_are_repaired_once_with_the_error_fed_back(model, endpoint):
    bad = json.dumps({"tool": "issue_refund", "args": {"purchase_id": "P-1", "amount": 0}})
    good = json.dumps({"tool": "issue_refund", "args": {"purchase_id": "P-1", "amount": 20}})
    fake = endpoint([bad, good])
    reply = model.bind_tools([issue_refund]).invoke("refund P-1 for $20")

    repair_turns = fake.requests[1]["messages"][-2:]
    assert repair_turns[0].content == bad
    assert "invalid arguments for issue_refund" in repair_turns[1].content and "must be > 0" in repair_turns[1].content
    assert reply.tool_calls[0]["args"]["amount"] == 20 and reply.invalid_tool_calls == []
    assert reply.usage_metadata["total_tokens"] == 30
    assert reply.response_metadata["repairs"] == 1


def test_args_still_invalid_after_repair_become_an_invalid_tool_call(model, endpoint):
    bad = json.dumps({"tool": "issue_refund", "args": {"purchase_id": "P-1", "amount": -1}})
    endpoint([bad, bad])
    reply = model.bind_tools([issue_refund]).invoke("refund")
    assert reply.tool_calls == []
    invalid = reply.invalid_tool_calls[0]
    assert invalid["name"] == "issue_refund" and "must be > 0" in invalid["error"]
    assert invalid["type"] == "invalid_tool_call"


def test_max_repairs_zero_never_re_asks(endpoint):
    model = LocalChatModel(model="m", base_url="http://127.0.0.1:1/v1", max_repairs=0)
    fake = endpoint(["not json"])
    reply = model.bind_tools([lookup_customer]).invoke("x")
    assert len(fake.requests) == 1 and reply.invalid_tool_calls


def test_structured_output_parses_a_pydantic_object(model, endpoint):
    fake = endpoint(['{"name": "Bob", "age": 42}'])
    result = model.with_structured_output(Person).invoke("Bob is 42")
    assert result == Person(name="Bob", age=42)
    sent = fake.requests[0]
    assert sent["response_format"]["schema"]["properties"]["age"]["minimum"] == 0
    assert sent["messages"][0].content.startswith("Reply with exactly one JSON object that matches this JSON schema")
    assert "ls_structured_output_format" not in sent


def test_structured_output_include_raw_never_raises(model, endpoint):
    endpoint(['{"name": "Bob", "age": -1}', '{"name": "Bob", "age": -2}'])
    out = model.with_structured_output(Person, include_raw=True).invoke("Bob")
    assert set(out) == {"raw", "parsed", "parsing_error"}
    assert out["parsed"] is None and out["parsing_error"] is not None
    assert isinstance(out["raw"], AIMessage) and out["raw"].content == '{"name": "Bob", "age": -2}'


def test_structured_output_include_raw_success_and_dict_schema(model, endpoint):
    endpoint(['{"name": "Al", "age": 3}', '{"city": "Paris"}'])
    out = model.with_structured_output(Person, include_raw=True).invoke("Al")
    assert out["parsed"] == Person(name="Al", age=3) and out["parsing_error"] is None
    city = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert model.with_structured_output(city).invoke("Paris") == {"city": "Paris"}


def test_structured_output_without_raw_raises_on_persistent_invalid_output(model, endpoint):
    endpoint(['{"name": "Bob"}', '{"name": "Bob"}'])
    with pytest.raises(Exception, match="age"):
        model.with_structured_output(Person).invoke("Bob")


def test_ainvoke_and_batch(model, endpoint):
    endpoint([CALL, CALL, CALL])
    bound = model.bind_tools([lookup_customer])
    assert asyncio.run(bound.ainvoke("x")).tool_calls[0]["name"] == "lookup_customer"
    replies = bound.batch(["a", "b"])
    assert [r.tool_calls[0]["name"] for r in replies] == ["lookup_customer"] * 2
    assert all(r.usage_metadata["total_tokens"] == 15 for r in replies)


def test_plain_invoke_passes_text_through(model, endpoint):
    fake = endpoint(["Hello there"])
    reply = model.invoke("hi")
    assert reply.content == "Hello there" and "response_format" not in fake.requests[0]
    assert reply.response_metadata["model_name"] == "test-model"


def test_connection_errors_are_retried_then_succeed(model, endpoint):
    fake = endpoint([_connection_error(), _connection_error(), "ok"])
    assert model.invoke("hi").content == "ok"
    assert len(fake.requests) == 3


def test_persistent_failures_raise_model_call_error(model, endpoint):
    endpoint([_connection_error()] * 3)
    with pytest.raises(ModelCallError, match="failed 3 times"):
        model.invoke("hi")


def test_managed_model_restarts_the_server_between_retries(endpoint, monkeypatch):
    urls = iter(["http://127.0.0.1:1111/v1", "http://127.0.0.1:2222/v1"])
    calls = []

    def fake_ensure_server():
        calls.append(1)
        return next(urls)

    monkeypatch.setattr("taskwarden.models.server.ensure_server", fake_ensure_server)
    model = LocalChatModel(model="local", managed=True, backoff_s=0.0)
    fake = endpoint([_connection_error(), "recovered"])
    assert model.invoke("hi").content == "recovered"
    assert len(calls) == 2 and model.openai_api_base == "http://127.0.0.1:2222/v1"
    assert str(model.root_client.base_url).startswith("http://127.0.0.1:2222/v1")
    fake.assert_complete()


def test_requests_to_one_endpoint_never_overlap(model, monkeypatch):
    active, peak, order = [0], [0], []
    lock = threading.Lock()

    def slow_endpoint(_self, messages, stop=None, run_manager=None, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        order.append(messages[-1].content)
        with lock:
            active[0] -= 1
        from langchain_core.outputs import ChatGeneration, ChatResult

        return ChatResult(generations=[ChatGeneration(message=AIMessage("ok"))])

    monkeypatch.setattr("langchain_openai.chat_models.base.BaseChatOpenAI._generate", slow_endpoint)
    threads = [threading.Thread(target=model.invoke, args=(f"q{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 1 and sorted(order) == [f"q{i}" for i in range(6)]


def test_defaults_bound_time_and_output_and_use_max_tokens(model):
    assert model.request_timeout == 180.0 and model.max_retries == 0 and model.disable_streaming is True
    payload = model._get_request_payload([HumanMessage("hi")])
    assert payload["max_tokens"] == 1024 and "max_completion_tokens" not in payload


def test_a_reply_cut_at_the_token_limit_is_repaired_not_raised(model, endpoint):
    """Measured on the embedded model: a long report in a tool call hit max_tokens and the OpenAI client's
    LengthFinishReasonError crashed the run."""
    from openai.types.chat import ChatCompletion

    truncated = '{"tool": "issue_refund", "args": {"purchase_id": "P-1", "amo'
    cut = ChatCompletion.model_validate({
        "id": "c1", "object": "chat.completion", "created": 0, "model": "test-model",
        "choices": [{"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": truncated}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 1024, "total_tokens": 1034}})
    good = json.dumps({"tool": "issue_refund", "args": {"purchase_id": "P-1", "amount": 20}})
    fake = endpoint([openai.LengthFinishReasonError(completion=cut), good])
    reply = model.bind_tools([issue_refund]).invoke("refund P-1 for $20")
    repair = fake.requests[1]["messages"][-1].content
    assert "cut off at the 1024-token limit" in repair and "write a shorter one" in repair
    assert reply.tool_calls[0]["args"] == {"purchase_id": "P-1", "amount": 20}
