"""Render a LangChain history as plain system/user/assistant text that any chat template accepts.

Order is deterministic: ONE system message first, holding our protocol block (tool
list or output schema) followed by the caller's system messages in their order;
then the conversation.  Tool calls become the assistant's JSON replies
(``{"tool": ..., "args": ...}``) and tool results become user turns
(``Observation from <tool>: ...``), which is the same protocol the model answers in.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from taskwarden.models.prompts import TOOL_ERROR_PROMPT, TOOL_RESULT_PROMPT
from taskwarden.models.toolspec import FINAL_ANSWER


def render_messages(
    messages: Sequence[BaseMessage], protocol: str | None = None, *, json_replies: bool = False
) -> list[BaseMessage]:
    """Plain messages for the server; ``json_replies`` renders earlier assistant text as final-answer JSON."""
    system_parts = [protocol] if protocol else []
    turns: list[BaseMessage] = []
    call_names: dict[str, str] = {}
    for message in messages:
        if isinstance(message, SystemMessage):
            system_parts.append(message.text)
        elif isinstance(message, AIMessage):
            turns.append(AIMessage(content=_assistant_text(message, json_replies)))
            call_names.update({c["id"]: c["name"] for c in message.tool_calls if c.get("id")})
        elif isinstance(message, ToolMessage):
            name = message.name or call_names.get(message.tool_call_id, "tool")
            template = TOOL_ERROR_PROMPT if message.status == "error" else TOOL_RESULT_PROMPT
            turns.append(HumanMessage(content=template.format(name=name, content=message.text)))
        else:
            turns.append(HumanMessage(content=message.text))
    system = [SystemMessage(content="\n\n".join(p for p in system_parts if p))] if any(system_parts) else []
    return system + turns


def tool_call_json(name: str, args: Any) -> str:
    """The protocol form of one tool call."""
    return json.dumps({"tool": name, "args": args}, ensure_ascii=False)


def _assistant_text(message: AIMessage, json_replies: bool) -> str:
    calls = [tool_call_json(c["name"], c["args"]) for c in message.tool_calls]
    calls += [
        f'{{"tool": {json.dumps(c.get("name"))}, "args": {c.get("args") or "{}"}}}' for c in message.invalid_tool_calls
    ]
    if calls:
        return "\n".join(calls)
    if json_replies:
        return json.dumps({"tool": FINAL_ANSWER, "answer": message.text}, ensure_ascii=False)
    return message.text
