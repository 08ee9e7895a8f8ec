"""MCP tools from a real stdio server (tests/fixtures/mcp_echo_server.py) pass the grants and the gate.

Stdio servers talk over pipes, so these run with inet sockets blocked like every unit test.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest
from langchain_core.tools import ToolException

from taskwarden.graph.workflow import Workflow
from taskwarden.graph.workflow_file import load_workflow
from taskwarden.tools.executor import execute, gate_call, idempotency_key
from taskwarden.tools.ledger import Ledger
from taskwarden.tools.mcp import McpLoadError, McpServer, load_mcp_tools
from taskwarden.tools.policy_text import parse_rule
from taskwarden.tools.registry import Role

SERVER = Path(__file__).parents[1] / "fixtures" / "mcp_echo_server.py"


def echo_server(tickets: Path, **settings) -> McpServer:
    return McpServer(command=sys.executable, args=[str(SERVER)], env={"TICKETS_FILE": str(tickets)}, **settings)


@pytest.fixture(scope="module")
def tickets(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mcp") / "tickets.txt"


@pytest.fixture(scope="module")
def specs(tickets):
    """The echo server's tools, loaded once (each load or call starts the server)."""
    return {spec.name: spec for spec in load_mcp_tools({"echo": echo_server(tickets, trust_read_only_hint=True)})}


def test_tools_load_with_their_names_descriptions_and_schemas(specs):
    assert list(specs) == ["add", "create_ticket"]
    add, ticket = specs["add"].tool, specs["create_ticket"].tool
    assert add.description == "Add two integers."
    assert add.tool_call_schema.model_json_schema()["properties"] == {"a": {"type": "integer", "title": "A"},
                                                                      "b": {"type": "integer", "title": "B"}}
    assert ticket.tool_call_schema.model_json_schema()["required"] == ["title"]
    assert ticket.metadata["mcp_server"] == "echo" and ticket.metadata["readOnlyHint"] is False


def test_risk_is_write_unless_the_spec_says_otherwise(tickets, specs):
    assert (specs["add"].risk, specs["create_ticket"].risk) == ("read", "write")  # readOnlyHint trusted
    untrusted = load_mcp_tools({"echo": echo_server(tickets)})
    assert [spec.risk for spec in untrusted] == ["write", "write"]  # the hint alone is not believed
    chosen = load_mcp_tools({"echo": echo_server(tickets, scopes=["tickets:write"], tools={
        "create_ticket": {"risk": "irreversible", "scopes": ["tickets:create"]}})})
    assert [(spec.name, spec.risk, spec.scopes) for spec in chosen] == [
        ("create_ticket", "irreversible", ("tickets:create",))]


def test_invoking_a_loaded_tool_calls_the_server(specs, tickets):
    assert specs["create_ticket"].tool.invoke({"title": "printer on fire"}) == "ticket created: printer on fire"
    assert "normal\tprinter on fire" in tickets.read_text()

    async def inside_a_running_loop():  # sync invoke runs on a helper thread's loop; ainvoke on this one
        return specs["add"].tool.invoke({"a": 2, "b": 40}), await specs["add"].tool.ainvoke({"a": 2, "b": "2"})

    assert asyncio.run(inside_a_running_loop()) == ("42", "4")
    with pytest.raises(ToolException, match="the title is empty"):
        specs["create_ticket"].tool.invoke({"title": "  "})


def test_a_side_effecting_mcp_call_runs_once_through_the_ledger(specs, tickets, tmp_path):
    ledger, args = Ledger(tmp_path / "ledger.db"), {"title": "only once"}
    key = idempotency_key("thread", "t1", "create_ticket", args)
    first = execute(specs["create_ticket"], args, key, ledger)
    again = execute(specs["create_ticket"], args, key, ledger)
    assert (first.outcome, again.outcome) == ("executed", "replayed")
    assert tickets.read_text().count("only once") == 1


def test_grants_and_policies_apply_to_mcp_tools(specs):
    workflow = Workflow(name="helpdesk", description="d", instructions="i", tools=list(specs.values()),
                        roles=[Role("calculator", "adds", ("add",)),
                               Role("agent", "files tickets", ("create_ticket",))],
                        policies=[parse_rule("create_ticket -> require_approval because tickets page someone")])
    calc, agent = workflow.role("calculator"), workflow.role("agent")

    def gate(role, name, args):
        return gate_call({"name": name, "id": "call-1", "args": args}, role, workflow.registry, workflow.gate)

    refused = gate(calc, "create_ticket", {"title": "x"})
    assert refused.decision.outcome == "forbid" and "not available to the calculator role" in refused.refusal
    assert gate(calc, "add", {"a": 1, "b": 2}).decision.outcome == "allow"
    malformed = gate(calc, "add", {"a": "one", "b": 2})
    assert malformed.decision.outcome == "forbid" and "Invalid arguments for add" in malformed.refusal
    held = gate(agent, "create_ticket", {"title": "x"})
    assert held.decision.outcome == "require_approval" and held.decision.reason == "tickets page someone"


def test_a_workflow_file_declares_mcp_servers_with_text_policies(tmp_path, tickets):
    path = tmp_path / "helpdesk.yaml"
    path.write_text(textwrap.dedent(f"""\
        name: helpdesk
        description: Files tickets.
        instructions: File a ticket when asked.
        roles:
          - {{name: agent, description: files tickets, tools: [echo_create_ticket]}}
        mcp_servers:
          echo:
            command: {sys.executable}
            args: ["{SERVER}"]
            env: {{TICKETS_FILE: "{tickets}"}}
            prefix: true
            tools: {{create_ticket: {{scopes: [tickets:write]}}}}
        policies:
          vars: {{urgent: [high, critical]}}
          rules: |
            echo_create_ticket when priority in urgent -> require_approval
        """))
    workflow = load_workflow(path)
    assert [(spec.name, spec.risk, spec.scopes) for spec in workflow.tools] == [
        ("echo_create_ticket", "write", ("tickets:write",))]
    check = workflow.gate.check
    assert check("echo_create_ticket", {"title": "x", "priority": "critical"}).outcome == "require_approval"
    assert check("echo_create_ticket", {"title": "x", "priority": "normal"}).outcome == "allow"


def test_servers_that_fail_are_reported_by_name(tickets):
    with pytest.raises(McpLoadError, match=r"server 'gone' \(/nonexistent/server\) could not be loaded: FileNotFound"):
        load_mcp_tools({"gone": McpServer(command="/nonexistent/server")})
    offers = r"'echo' .* has no tools \['delete_all'\]; it offers \['add', 'create_ticket'\]"
    with pytest.raises(McpLoadError, match=offers):
        load_mcp_tools({"echo": echo_server(tickets, tools={"delete_all": {}})})


@pytest.mark.parametrize("settings, problem", [
    ({}, "give either `command` (stdio) or `url`"),
    ({"command": "x", "url": "http://h/mcp"}, "give either `command` (stdio) or `url`"),
    ({"url": "http://h/mcp", "args": ["a"]}, "`args`, `env` and `cwd` are for stdio servers"),
    ({"command": "x", "headers": {"a": "b"}}, "`headers` are for HTTP servers"),
])
def test_server_specs_are_validated(settings, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        McpServer(**settings)


def test_http_servers_become_streamable_http_connections_with_env_in_headers(monkeypatch):
    monkeypatch.setenv("TICKETS_TOKEN", "s3cret")
    server = McpServer(url="http://localhost:8000/mcp", headers={"Authorization": "Bearer ${TICKETS_TOKEN}"})
    assert server.connection() == {"transport": "streamable_http", "url": "http://localhost:8000/mcp",
                                   "headers": {"Authorization": "Bearer s3cret"}}
