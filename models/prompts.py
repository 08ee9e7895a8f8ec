"""Prompts that teach a small local model the JSON protocol that the grammar enforces.

The tool block is rendered first in the system message and is byte-stable for a
given tool set, so llama.cpp's prompt cache reuses it across calls; everything
that varies (the finishing rule, the caller's own system prompt) comes after it.
"""

TOOLS_SYSTEM_PROMPT = (
    "Tools you can call:\n{tool_list}\n\n"
    'Reply with exactly one JSON object and nothing else. To call a tool, reply {{"tool": "<tool name>", '
    '"args": {{<arguments>}}}}. {finish_instruction}'
)

TOOL_LINE = """- {name}: {description}
  args schema: {schema}"""

FINISH_AUTO = (
    'When no tool is needed or you have everything you need, reply {{"tool": "final_answer", "answer": {answer}}}.'
)

ANSWER_TEXT = '"<your answer in plain text>"'

ANSWER_OBJECT = "<a JSON object matching {schema}>"

FINISH_REQUIRED = """You must call one of the tools now."""

FINISH_NAMED = """You must call the tool "{name}" now."""

STRUCTURED_OUTPUT_PROMPT = """Reply with exactly one JSON object that matches this JSON schema, and nothing else:
{schema}"""

REPAIR_PROMPT = """Your reply was rejected: {error}
Reply again with one corrected JSON object."""

TRUNCATED_REPLY = "it was cut off at the {limit}-token limit, so it is incomplete ({error}); write a shorter one"

TOOL_RESULT_PROMPT = """Observation from {name}: {content}"""

TOOL_ERROR_PROMPT = """Error from {name}: {content}"""
