"""Tools from MCP servers, wrapped as `ToolSpec`s so they pass the same grants, policy gate and ledger.

A workflow declares its servers (stdio ``command`` + ``args``, or a streamable HTTP ``url``) as
`McpServer`s; `load_mcp_tools` lists their tools with ``langchain-mcp-adapters`` and wraps each one:

- **Risk.** Each tool is ``write`` unless the spec says otherwise: a per-tool ``tools: {name: {risk}}``
  wins, then the server's ``risk``. A tool's own ``readOnlyHint`` annotation makes it ``read`` only
  when the spec sets ``trust_read_only_hint: true`` (a server describes itself; the workflow's
  author decides whether to believe it).
- **Arguments.** The tool's JSON schema becomes a Pydantic model (types, required, defaults of its
  top-level properties, each shown to the model exactly as the server declares it), so the gate
  refuses malformed calls before they reach the server and policy conditions see typed values.
- **Sessions.** Every call opens its own session (for stdio: a fresh server process), so tools
  work from any thread and no connection outlives a call; servers must not keep state in memory
  between calls. An MCP error result (``isError``) raises, so the engine records a failed call.
- **Sync and async.** `load_mcp_tools` and the tools' sync ``invoke`` run the async client with
  `run_sync`, which works whether or not the calling thread runs an event loop; async code can use
  `aload_mcp_tools` and ``ainvoke`` instead.
"""

from __future__ import annotations

import asyncio
import json
import keyword
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, TypeVar

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model, model_validator

from taskwarden.tools.registry import Risk, ToolSpec

T = TypeVar("T")
_JSON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool, "array": list,
                                "object": dict}
_ENV_REF = re.compile(r"\$\{([^}]+)\}")


class McpLoadError(RuntimeError):
    """An MCP server could not be reached or does not offer the tools its spec names."""


class McpToolSettings(BaseModel):
    """Overrides for one tool of a server."""

    model_config = ConfigDict(extra="forbid")
    risk: Risk | None = None
    scopes: list[str] | None = None


class McpServer(BaseModel):
    """One MCP server in a workflow spec: how to reach it and how much to trust its tools."""

    model_config = ConfigDict(extra="forbid")
    command: str | None = None
    """stdio: the executable that starts the server (looked up on ``PATH``)."""
    args: list[str] = []
    env: dict[str, str] | None = None
    """stdio: extra environment variables (``${VAR}`` is taken from ours); the server otherwise gets
    only a minimal environment (``HOME``, ``PATH``...), not ours."""
    cwd: str | None = None
    """stdio: working directory; relative paths resolve against the workflow file's folder."""
    url: str | None = None
    """Streamable HTTP endpoint, e.g. ``http://localhost:8000/mcp``."""
    headers: dict[str, str] | None = None
    """HTTP headers; ``${VAR}`` is replaced from the environment (keep tokens out of the file)."""
    risk: Risk = "write"
    """Risk of the server's tools unless `tools` says otherwise."""
    scopes: list[str] = []
    trust_read_only_hint: bool = False
    """Let a tool's ``readOnlyHint`` annotation make it a ``read`` tool."""
    tools: dict[str, McpToolSettings] | None = None
    """Only these tools are loaded (with their overrides); all of the server's tools when unset."""
    prefix: bool = False
    """Name the tools ``<server>_<tool>`` (when two servers offer the same tool name)."""
    timeout_s: float = Field(default=30.0, gt=0)
    """Deadline for listing the tools, and for each call."""

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either `command` (stdio) or `url` (streamable HTTP)")
        if self.url is not None and (self.args or self.env is not None or self.cwd is not None):
            raise ValueError("`args`, `env` and `cwd` are for stdio servers (`command`)")
        if self.command is not None and self.headers is not None:
            raise ValueError("`headers` are for HTTP servers (`url`)")
        return self

    def connection(self, base_dir: Path | None = None) -> dict[str, Any]:
        """The server as a ``langchain-mcp-adapters`` connection."""
        if self.url is not None:
            headers = {key: _ENV_REF.sub(lambda m: os.environ.get(m.group(1), m.group(0)), value)
                       for key, value in (self.headers or {}).items()}
            return {"transport": "streamable_http", "url": self.url, "headers": headers or None}
        cwd = Path(self.cwd) if self.cwd else None
        if base_dir is not None:
            cwd = base_dir / cwd if cwd else base_dir
        return {"transport": "stdio", "command": self.command, "args": list(self.args), "env": self.env,
                "cwd": str(cwd) if cwd else None}


def load_mcp_tools(servers: Mapping[str, McpServer], base_dir: Path | None = None) -> list[ToolSpec]:
    """The tools of every server as `ToolSpec`s (sync; see `run_sync`). Raises `McpLoadError`."""
    return run_sync(lambda: aload_mcp_tools(servers, base_dir))


async def aload_mcp_tools(servers: Mapping[str, McpServer], base_dir: Path | None = None) -> list[ToolSpec]:
    """Async `load_mcp_tools`: lists the servers' tools concurrently."""
    loaded = await asyncio.gather(*(_load_server(name, server, base_dir) for name, server in servers.items()))
    return [spec for specs in loaded for spec in specs]


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run the coroutine `factory()` makes to completion from sync code.

    Without an event loop in this thread it runs here (`asyncio.run`); inside one (a notebook, an
    async server) it runs on a fresh loop in a helper thread while this thread waits, which blocks
    that loop meanwhile: async callers should await the async API instead.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(factory))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskwarden-mcp") as pool:
        return pool.submit(lambda: asyncio.run(_awaited(factory))).result()


async def _awaited(factory: Callable[[], Awaitable[T]]) -> T:
    return await factory()


async def _load_server(name: str, server: McpServer, base_dir: Path | None) -> list[ToolSpec]:
    from langchain_mcp_adapters.client import MultiServerMCPClient

    connection = server.connection(base_dir)
    where = f"MCP server {name!r} ({server.url or ' '.join([server.command or '', *server.args])})"
    try:
        client = MultiServerMCPClient({name: connection})  # type: ignore[dict-item]
        tools = await asyncio.wait_for(client.get_tools(server_name=name), server.timeout_s)
    except TimeoutError:
        raise McpLoadError(f"{where} did not list its tools within {server.timeout_s:g}s") from None
    except Exception as exc:
        cause = _innermost(exc)
        raise McpLoadError(f"{where} could not be loaded: {type(cause).__name__}: {cause}") from exc
    offered = {tool.name: tool for tool in tools}
    wanted = list(server.tools) if server.tools is not None else list(offered)
    missing = [tool for tool in wanted if tool not in offered]
    if missing:
        raise McpLoadError(f"{where} has no tools {missing}; it offers {sorted(offered)}")
    return [wrap_mcp_tool(offered[tool], server, server_name=name) for tool in wanted]


def wrap_mcp_tool(tool: BaseTool, server: McpServer, *, server_name: str) -> ToolSpec:
    """A ``langchain-mcp-adapters`` tool as a `ToolSpec` with the risk and scopes its spec allows."""
    settings = (server.tools or {}).get(tool.name) or McpToolSettings()
    hints = tool.metadata or {}
    risk: Risk = settings.risk or ("read" if server.trust_read_only_hint and hints.get("readOnlyHint") is True
                                   else server.risk)
    scopes = settings.scopes if settings.scopes is not None else server.scopes
    schema = tool.args_schema if isinstance(tool.args_schema, dict) else {}
    required = set(schema.get("required") or ())
    call = tool.coroutine  # type: ignore[attr-defined]

    async def acall(**arguments: Any) -> str:
        arguments = {key: value for key, value in arguments.items() if value is not None or key in required}
        content, artifact = await call(**arguments)
        return _as_text(content, artifact)

    def invoke(**arguments: Any) -> str:
        return run_sync(lambda: acall(**arguments))

    name = f"{server_name}_{tool.name}" if server.prefix else tool.name
    wrapped = StructuredTool(name=name, description=tool.description, args_schema=args_model(name, schema),
                             func=invoke, coroutine=acall, metadata={**hints, "mcp_server": server_name})
    return ToolSpec(tool=wrapped, risk=risk, scopes=tuple(scopes), timeout_s=server.timeout_s)


def args_model(name: str, schema: Mapping[str, Any]) -> type[BaseModel] | dict[str, Any]:
    """A Pydantic model validating a tool's JSON schema's top-level properties (type, required,
    default), each shown to the model exactly as declared; the schema itself when its properties
    cannot be model fields (odd names), in which case only the server validates."""
    properties = schema.get("properties") or {}
    if not all(_field_name_ok(prop) and isinstance(sub, dict) for prop, sub in properties.items()):
        return dict(schema)
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {}
    for prop, sub in properties.items():
        kind = _JSON_TYPES.get(sub["type"]) if isinstance(sub.get("type"), str) else None
        annotation: Any = kind or Any
        if prop not in required and kind is not None:
            annotation = kind | None
        default = ... if prop in required else sub.get("default")
        fields[prop] = (Annotated[annotation, WithJsonSchema(dict(sub))], default)
    model = create_model(f"{name}_args", __config__=ConfigDict(protected_namespaces=()), **fields)
    model.__doc__ = schema.get("description")
    return model


def _field_name_ok(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_") \
        and not hasattr(BaseModel, name)


def _as_text(content: Any, artifact: Any) -> str:
    """The call's text for the model: its text blocks, else its structured content, else the blocks."""
    if isinstance(content, str):
        return content
    blocks = content if isinstance(content, list) else [content]
    texts = [block["text"] for block in blocks if isinstance(block, dict) and block.get("type") == "text"]
    if texts:
        return "\n".join(texts)
    if artifact and artifact.get("structured_content") is not None:
        return json.dumps(artifact["structured_content"], default=str)
    return json.dumps(blocks, default=str)


def _innermost(exc: BaseException) -> BaseException:
    """The one real error inside (possibly nested) exception groups from the client's task groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
