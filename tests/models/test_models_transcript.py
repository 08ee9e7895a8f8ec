"""Rendering histories into plain messages the llama.cpp chat template accepts."""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from taskwarden.models.transcript import render_messages


def test_protocol_first_then_caller_system_prompts_in_order():
    out = render_messages(
        [SystemMessage("You are support."), HumanMessage("hi"), SystemMessage("Be brief.")], "PROTOCOL"
    )
    assert isinstance(out[0], SystemMessage)
    assert out[0].content == "PROTOCOL\n\nYou are support.\n\nBe brief."
    assert [type(m) for m in out[1:]] == [HumanMessage]


def test_tool_calls_and_results_become_protocol_text():
    history = [
        HumanMessage("refund P-1"),
        AIMessage("", tool_calls=[{"name": "check_refund_policy", "args": {"purchase_id": "P-1"}, "id": "c1"}]),
        ToolMessage("eligible", tool_call_id="c1"),
        ToolMessage("boom", tool_call_id="c1", status="error", name="check_refund_policy"),
        AIMessage("All done."),
    ]
    out = render_messages(history, "P", json_replies=True)
    assert json.loads(out[2].content) == {"tool": "check_refund_policy", "args": {"purchase_id": "P-1"}}
    assert isinstance(out[3], HumanMessage) and out[3].content == "Observation from check_refund_policy: eligible"
    assert out[4].content == "Error from check_refund_policy: boom"
    assert json.loads(out[5].content) == {"tool": "final_answer", "answer": "All done."}
    assert not any(isinstance(m, ToolMessage) for m in out)


def test_plain_mode_keeps_assistant_text_and_adds_no_system_message():
    out = render_messages([HumanMessage("hi"), AIMessage("hello")])
    assert [m.content for m in out] == ["hi", "hello"]
