"""The baseline: LangChain's prebuilt tool-calling agent with the workflow's instructions and tools."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.checkpoint.memory import InMemorySaver

from taskwarden.graph.hitl import action_request, hitl_request, parse_decisions
from taskwarden.graph.usage import usage_of_call
from taskwarden.graph.workflow import Workflow
from taskwarden.tools.registry import ToolSpec

APPROVAL_DECISIONS = ("approve", "edit", "reject")


def build_baseline_agent(workflow: Workflow, model: BaseChatModel | str) -> Any:
    """A prebuilt agent (compiled, with an in-memory checkpointer for its review interrupts)."""
    if isinstance(model, str):
        from taskwarden.models import init_chat_model

        model = init_chat_model(model)
    tools = [gated_tool(spec, workflow) for spec in workflow.tools]
    prompt = f"{workflow.instructions}\n\n{workflow.description}"
    try:
        from langchain.agents import create_agent
    except ImportError:  # only LangGraph's older prebuilt agent is installed
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(model, tools, prompt=prompt, checkpointer=InMemorySaver())
    return create_agent(model, tools, system_prompt=prompt, checkpointer=InMemorySaver())


def gated_tool(spec: ToolSpec, workflow: Workflow) -> BaseTool:
    """`spec`'s tool behind the workflow's policy gate: a forbidden call is refused, one needing
    approval asks through the same review interrupt Taskwarden uses, and errors become observations."""
    inner = spec.tool

    def call(**args: Any) -> str:
        from langgraph.types import interrupt

        decision = workflow.gate.check(inner.name, args)
        if decision.outcome == "forbid":
            return f"Refused by policy: {decision.reason}"
        if decision.outcome == "require_approval":
            request = hitl_request([action_request(inner.name, args, decision.reason)], [APPROVAL_DECISIONS],
                                   kind="tool_approval")
            answer = parse_decisions(request, interrupt(request))[0]
            if answer["type"] == "reject":
                return f"A human reviewer did not approve this call: {answer.get('message') or 'no reason given'}"
            if answer["type"] == "edit":
                args = answer["edited_action"]["args"]
        try:
            result = inner.invoke(args)
        except Exception as exc:  # noqa: BLE001 - the agent sees the error, as a prebuilt ToolNode would show it
            return f"Error: {type(exc).__name__}: {exc}"
        return result if isinstance(result, str) else str(result)

    return StructuredTool.from_function(func=call, name=inner.name, description=inner.description,
                                        args_schema=inner.args_schema)


def usage_of(messages: list[AnyMessage]) -> dict[str, Any]:
    """Model calls, tokens and cost of an agent's transcript, priced with Taskwarden's price table."""
    calls = [usage_of_call(m) for m in messages if isinstance(m, AIMessage)]
    return {"model_calls": len(calls), "input_tokens": sum(c["input_tokens"] for c in calls),
            "output_tokens": sum(c["output_tokens"] for c in calls), "cost_usd": sum(c["cost_usd"] for c in calls)}
