"""LocalChatModel inside a LangGraph tool loop (scripted endpoint): calls run, answers come back."""

from __future__ import annotations

import json
from typing import Literal

from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

CALLS: list[str] = []


@tool
def check_refund_policy(purchase_id: str) -> str:
    """Check whether a purchase can be refunded."""
    CALLS.append(purchase_id)
    return "eligible: delivered 3 days ago"


def test_tool_loop_runs_the_called_tool_then_answers(model, endpoint):
    fake = endpoint([
        json.dumps({"tool": "check_refund_policy", "args": {"purchase_id": "P-42"}}),
        json.dumps({"tool": "final_answer", "answer": "P-42 can be refunded."}),
    ])  # fmt: skip
    bound = model.bind_tools([check_refund_policy])

    def call_model(state: MessagesState) -> dict:
        return {"messages": [bound.invoke(state["messages"])]}

    def route_after_call_model(state: MessagesState) -> Literal["tools", "__end__"]:
        return "tools" if state["messages"][-1].tool_calls else END

    builder = StateGraph(MessagesState)
    builder.add_node(call_model)
    builder.add_node("tools", ToolNode([check_refund_policy]))
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", route_after_call_model)
    builder.add_edge("tools", "call_model")
    result = builder.compile().invoke({"messages": [HumanMessage("Can P-42 be refunded?")]})

    assert CALLS == ["P-42"]
    assert result["messages"][-1].content == "P-42 can be refunded."
    second_request = fake.requests[1]["messages"]
    assert second_request[-1].content == "Observation from check_refund_policy: eligible: delivered 3 days ago"
    fake.assert_complete()


def test_stream_yields_the_whole_message_once(model, endpoint):
    endpoint([json.dumps({"tool": "check_refund_policy", "args": {"purchase_id": "P-1"}})])
    chunks = list(model.bind_tools([check_refund_policy]).stream("P-1?"))
    assert len(chunks) == 1 and isinstance(chunks[0], AIMessage)
    assert chunks[0].tool_calls[0]["args"] == {"purchase_id": "P-1"}
