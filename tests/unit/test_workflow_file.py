"""Workflows in YAML: the shipped example equals the Python refund desk; bad files get clear errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scripts import REFUND_PLAN
from taskwarden.cli.main import main
from taskwarden.cli.runs import RunIndex
from taskwarden.graph.reliability import MECHANISMS, Reliability
from taskwarden.graph.workflow_file import WorkflowFileError, load_workflow
from taskwarden.testing import ScriptedChatModel, call, say, structured
from taskwarden.workflows import get_workflow
from taskwarden.workflows.refunds.workflow import refund_desk

EXAMPLE = Path(__file__).parents[2] / "workflows" / "examples" / "refunds.yaml"
SAMPLE_CALLS = [
    ("issue_refund", {"purchase_id": "P1002", "amount": 249.0, "reason": "damaged"}),
    ("issue_refund", {"purchase_id": "P1001", "amount": 100.0, "reason": "broken"}),
    ("issue_refund", {"purchase_id": "P1001", "amount": 100.01, "reason": "broken"}),
    ("issue_refund", {"purchase_id": "P1001", "reason": "no amount"}),
    ("lookup_customer", {"email": "alice@example.com"}),
    ("draft_reply", {"customer_id": "C001", "message": "Done."}),
]
MINIMAL = """\
name: tiny
description: A tiny workflow.
instructions: Do the thing.
roles:
  - {name: doer, description: does it}
"""


def write(folder: Path, text: str, name: str = "workflow.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_yaml_refund_desk_builds_the_same_workflow_as_the_python_one(home):
    from_yaml, from_python = load_workflow(EXAMPLE), refund_desk()
    assert from_yaml.roles == from_python.roles
    def described(tools):
        return [(t.name, t.risk, t.scopes, t.reconcile is not None, t.tool.description, t.tool.args, t.grounding,
                 t.intent, t.verify is not None) for t in tools]

    assert described(from_yaml.tools) == described(from_python.tools)
    assert from_yaml.policies == from_python.policies
    for field in ("name", "description", "instructions", "plan_hint", "answer_from", "budgets", "models",
                  "sample_requests", "reliability", "confirm"):
        assert getattr(from_yaml, field) == getattr(from_python, field), field
    for tool, args in SAMPLE_CALLS:
        assert from_yaml.gate.check(tool, args) == from_python.gate.check(tool, args), (tool, args)
    assert from_yaml.gate.check(*SAMPLE_CALLS[0]).outcome == "require_approval"
    assert from_yaml.gate.check(*SAMPLE_CALLS[1]).outcome == "allow"
    # Role equality ignores the checks: they are the same desk methods, on the same database
    for mine, theirs in zip(from_yaml.roles, from_python.roles, strict=True):
        for check in ("done_check", "answer_check"):
            yours, python = getattr(mine, check), getattr(theirs, check)
            assert (yours is None) == (python is None), (mine.name, check)
            if python is not None:
                assert yours.__func__ is python.__func__ and yours.__self__.db_path == python.__self__.db_path


def test_the_yaml_desks_done_check_finds_an_unrefunded_purchase(home):
    refunder = next(role for role in load_workflow(EXAMPLE).roles if role.name == "refunder")
    request = "alice@example.com: please refund order P1001, the headphones stopped working."
    assert "P1001" in refunder.done_check([], request)
    refunded = [{"tool": "issue_refund", "args": {"purchase_id": "P1001"}, "outcome": "executed", "observation": "R1"}]
    assert refunder.done_check(refunded, request) is None


CHECKS = '''
def unsent(actions, request):
    """Nothing sent yet: say so."""
    return None if any(a["tool"] == "send" for a in actions) else "nothing was sent"

def unnamed(answer, actions, request):
    return None if "sent" in answer else "the answer does not say what was sent"

def only_request(request):
    return None

def named(word):
    return lambda answer, actions, request: None if word in answer else f"the answer does not say {word!r}"
'''


def test_roles_declare_done_and_answer_checks_from_a_file_or_a_factory(tmp_path):
    write(tmp_path, CHECKS, "checks.py")
    path = write(tmp_path, MINIMAL.replace(
        "  - {name: doer, description: does it}\n",
        "  - name: doer\n    description: does it\n    done_check: ./checks.py:unsent\n"
        "    answer_check: {import: './checks.py:named()', args: {word: done}}\n"
        "  - name: writer\n    description: writes\n    answer_check: ./checks.py:unnamed\n"))
    doer, writer = load_workflow(path).roles
    assert doer.done_check([], "go") == "nothing was sent"
    assert doer.done_check([{"tool": "send", "args": {}, "outcome": "executed", "observation": ""}], "go") is None
    assert doer.answer_check("all done", [], "go") is None
    assert doer.answer_check("ok", [], "go") == "the answer does not say 'done'"
    assert writer.done_check is None and writer.answer_check("all sent", [], "go") is None


@pytest.mark.parametrize(("check", "problem"), [
    ("done_check: ./checks.py:unnamed", "roles[0].done_check (./checks.py:unnamed): TypeError: 'unnamed' cannot be "
     "called as (actions, request): it takes (answer, actions, request)"),
    ("answer_check: ./checks.py:only_request",
     "roles[0].answer_check (./checks.py:only_request): TypeError: 'only_request' cannot be called as "
     "(answer, actions, request): it takes (request)"),
    ("done_check: ./checks.py:nowhere", "roles[0].done_check (./checks.py:nowhere): AttributeError: ./checks.py has "
     "no attribute 'nowhere'"),
    ("done_check: {import: ./checks.py:unsent, args: {a: 1}}",
     "roles[0].done_check: `args` are for factories: end the import with `()`"),
    ("done_check: 'not an import'", "roles[0].done_check: import 'not an import' must look like"),
    ("done_check: {import: 'taskwarden.workflows.refunds.workflow:refund_desk_check()', args: {check: unpaid}}",
     "no refund desk check 'unpaid'; the checks are unchecked, unrefunded, unreported"),
    ("done_check: {import: ./checks.py:unsent, colour: blue}", "roles[0].done_check.colour: unknown key (allowed: "
     "import, args)"),
])
def test_a_check_that_cannot_be_called_as_the_engine_will_is_refused(tmp_path, home, check, problem):
    write(tmp_path, CHECKS, "checks.py")
    path = write(tmp_path, MINIMAL.replace("  - {name: doer, description: does it}\n",
                                           f"  - name: doer\n    description: does it\n    {check}\n"))
    with pytest.raises(WorkflowFileError) as caught:
        load_workflow(path)
    assert problem in str(caught.value)


def test_get_workflow_takes_a_yaml_path(home):
    assert get_workflow(str(EXAMPLE)).name == "refunds"
    with pytest.raises(WorkflowFileError, match="no such workflow file"):
        get_workflow(str(EXAMPLE.with_name("missing.yaml")))


def test_tools_come_from_functions_factories_and_files_with_risk_and_scopes_overridden(tmp_path, home):
    (tmp_path / "my_tools.py").write_text(textwrap.dedent('''
        from taskwarden.tools.registry import tool_spec

        def send_email(to: str, body: str) -> str:
            """Send an e-mail."""
            return f"sent to {to}"

        def archive(path: str) -> str:
            """Archive a file."""
            return path

        def mail_kit(signature: str):
            def sign(text: str) -> str:
                """Sign a text."""
                return text + signature
            return [tool_spec(sign, risk="read")]
    '''))
    path = write(tmp_path, f"""\
        name: mail
        description: Sends mail.
        instructions: Mail people.
        roles:
          - {{name: doer, description: does it, tools: [send_email, check_refund_policy, sign, archive_file]}}
        tools:
          - import: ./my_tools.py:send_email
            scopes: [mail:send]
          - import: ./my_tools.py:archive
            name: archive_file
            risk: irreversible
          - import: taskwarden.workflows.refunds.workflow:refund_desk_tools()
            args: {{db_path: {tmp_path / "refunds.db"}}}
            overrides:
              issue_refund: {{scopes: [refunds:approve]}}
              check_refund_policy: {{risk: write}}
        kits:
          - {{kit: ./my_tools.py:mail_kit, signature: " -- the desk"}}
        policies:
          vars: {{allowlist: [alice@example.com]}}
          rules:
            - send_email when to not in allowlist -> forbid
            - never: issue_refund when amount > 1000
            - archive_file -> require_approval: archiving is final
        """)
    workflow = load_workflow(path)
    specs = {spec.name: spec for spec in workflow.tools}
    assert (specs["send_email"].risk, specs["send_email"].scopes) == ("write", ("mail:send",))
    assert specs["archive_file"].risk == "irreversible"
    assert specs["issue_refund"].scopes == ("refunds:approve",) and specs["issue_refund"].risk == "irreversible"
    assert specs["check_refund_policy"].risk == "write" and specs["lookup_customer"].risk == "read"
    assert specs["sign"].tool.invoke({"text": "hi"}) == "hi -- the desk"
    assert workflow.gate.check("send_email", {"to": "bob@example.com", "body": "x"}).outcome == "forbid"
    assert workflow.gate.check("send_email", {"to": "alice@example.com", "body": "x"}).outcome == "allow"
    assert workflow.gate.check("issue_refund", {"amount": 2000}).outcome == "forbid"
    assert workflow.gate.check("archive_file", {"path": "a"}).reason == "archiving is final"


def test_kits_by_name_get_their_options_with_paths_relative_to_the_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("hello")
    path = write(tmp_path, MINIMAL.replace("description: does it}", "description: does it, tools: [read_file]}")
                 + "kits:\n  - {kit: files, root: ./data, max_read_bytes: 100}\n")
    workflow = load_workflow(path)
    assert {spec.name: spec.risk for spec in workflow.tools} == {"list_files": "read", "read_file": "read",
                                                                 "write_file": "write"}
    assert "hello" in workflow.registry.get("read_file").tool.invoke({"path": "notes.txt"})
    with pytest.raises(WorkflowFileError, match=r"kits\[0\] \(shredder\): no kit 'shredder' in taskwarden.tools.kits"):
        load_workflow(write(tmp_path, MINIMAL + "kits: [{kit: shredder}]\n"))


@pytest.mark.parametrize("change, problem", [
    (lambda t: t + "colour: blue\n", "colour: unknown key (allowed: name, description, instructions, roles,"),
    (lambda t: t.replace("description: does it", "description: does it, tols: [x]"),
     "roles[0].tols: unknown key (allowed: name, description, tools, instructions, criteria, after, must_call, "
     "required, sees_tool_results, done_check, answer_check)"),
    (lambda t: t.replace("instructions: Do the thing.\n", ""), "instructions: missing required key"),
    (lambda t: t.replace("description: does it", "description: does it, tools: lookup"),
     "roles[0].tools: Input should be a valid list"),
    (lambda t: t.replace("name: tiny", "name: 42"), "name: Input should be a valid string"),
    (lambda t: t.replace("roles:\n  - {name: doer, description: does it}", "roles: []"),
     "roles: List should have at least 1 item"),
    (lambda t: t + "tools: [not an import]\n", "tools[0]: import 'not an import' must look like"),
    (lambda t: t + "tools: [nowhere.at_all:fn]\n", "tools[0] (nowhere.at_all:fn): cannot import module 'nowhere'"),
    (lambda t: t + "tools: [{import: 'taskwarden.tools.registry:tool_spec', args: {a: 1}}]\n",
     "`args` are for factories: end the import with `()`"),
    (lambda t: t + "tools: ['taskwarden.workflows.refunds.workflow:nothing_here()']\n",
     "has no attribute 'nothing_here'"),
    (lambda t: t.replace("description: does it", "description: does it, tools: [send]"),
     "role 'doer' is granted unknown tools ['send']"),
    (lambda t: t + "policies:\n  rules: |\n    delete_file -> forbid\n    send_email when to -> allow\n",
     "policies: rules line 2: the action must be require_approval or forbid, not 'allow'"),
    (lambda t: t + "policies: ['x when a > -> forbid']\n", "policies: rules[0]: invalid policy condition"),
    (lambda t: t + "policies: {vars: {len: 3}}\n", "vars names must be identifiers"),
    (lambda t: t + "policies: ['issue_refund when amount > 100 -> forbid']\n",
     "has policies for unknown tools ['issue_refund']"),
    (lambda t: t + "budgets: {max_stepz: 3}\n", "budgets: unknown budget in ['max_stepz']; known: max_steps"),
    (lambda t: t + "budgets: {max_steps: 0}\n", "budget max_steps must be positive"),
    (lambda t: t + "models: {planner: x}\n", "models may be set for"),
    (lambda t: t + "name: twice\n", "invalid YAML: duplicate key 'name'"),
    (lambda t: t + "roles: [\n", "invalid YAML"),
    (lambda t: "- just a list\n", "a workflow file is a mapping of keys"),
    (lambda t: t + "kits: [{kit: nowhere.at_all:kit}]\n",
     "kits[0] (nowhere.at_all:kit): cannot import module 'nowhere'"),
    (lambda t: t + "mcp_servers: {x: {command: a, url: b}}\n", "mcp_servers.x: give either `command` (stdio) or `url`"),
    (lambda t: t + "mcp_servers: {x: {url: http://h, risk: huge}}\n",
     "mcp_servers.x.risk: Input should be 'read', 'write'"),
    (lambda t: t + "answer_from: {tool: draft_reply}\n", "answer_from.argument: missing required key"),
    (lambda t: t + "reliability: {groundin: false}\n",
     "reliability.groundin: unknown key (allowed: grounding, look_before_act, loop_recovery, verify_after_write, "
     "confirm_before_write, nothing_asked, max_steps_without_progress)"),
    (lambda t: t + "reliability: {grounding: maybe}\n", "reliability.grounding: Input should be a valid boolean"),
    (lambda t: t + "reliability: {max_steps_without_progress: 0}\n",
     "reliability: max_steps_without_progress must be at least 1, got 0"),
    (lambda t: t + "reliability: [grounding]\n", "reliability: Input should be a valid dictionary"),
    (lambda t: t + "confirm: issue_refund\n", "confirm: Input should be a valid list"),
    (lambda t: t + "confirm: [issue_refund]\n", "asks to confirm unknown tools ['issue_refund']"),
])
def test_invalid_files_are_refused_naming_the_file_and_the_key(tmp_path, change, problem):
    path = write(tmp_path, change(MINIMAL))
    with pytest.raises(WorkflowFileError) as caught:
        load_workflow(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)


def test_policies_may_only_read_arguments_and_vars(tmp_path, home):
    base = MINIMAL.replace("description: does it}", "description: does it, tools: [issue_refund]}") + \
        "tools: ['taskwarden.workflows.refunds.workflow:refund_desk_tools()']\n"
    write(tmp_path, base + "policies: {vars: {limit: 50}, rules: 'issue_refund when amount > limit -> forbid'}\n")
    assert load_workflow(tmp_path / "workflow.yaml").gate.check("issue_refund", {"amount": 60}).outcome == "forbid"
    write(tmp_path, base + "policies: ['issue_refund when ammount > 100 -> forbid']\n")
    with pytest.raises(WorkflowFileError, match=r"policies: policy `issue_refund when ammount > 100` reads"):
        load_workflow(tmp_path / "workflow.yaml")
    write(tmp_path, base + "policies: {vars: {amount: 5}, rules: ['issue_refund when amount > 100 -> forbid']}\n")
    with pytest.raises(WorkflowFileError, match=r"\['amount'\] are both vars and arguments of issue_refund"):
        load_workflow(tmp_path / "workflow.yaml")


def test_the_cli_refuses_a_missing_or_invalid_file_with_exit_code_2(tmp_path, home, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), "refund please"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"taskwarden: error: {tmp_path / 'nope.yaml'}: no such workflow file"]
    bad = write(tmp_path, MINIMAL + "colour: blue\n")
    assert main(["run", str(bad), "refund please"]) == 2
    assert "colour: unknown key" in capsys.readouterr().err


def test_the_cli_runs_a_yaml_workflow_and_records_its_absolute_path(home, capsys, monkeypatch):
    monkeypatch.chdir(EXAMPLE.parents[2])
    models = {"orchestrator": ScriptedChatModel(script=[REFUND_PLAN]),
              "worker": ScriptedChatModel(script=[
                  call("lookup_customer", when="(t1)", email="alice@example.com"),
                  call("check_refund_policy", when="(t1)", purchase_id="P1002"),
                  say("Alice (C001); P1002 is eligible, $249 paid.", when="(t1)"),
                  call("issue_refund", when="(t2)", purchase_id="P1002", amount=249.0, reason="damaged", customer_email="alice@example.com")]),
              "evaluator": ScriptedChatModel(script=[structured({"verdict": "pass"})])}
    request = "alice@example.com: please refund my standing desk, order P1002 - it arrived damaged"
    code = main(["run", "workflows/examples/refunds.yaml", request, "--thread", "th-y", "--on-review", "stop"],
                models=models)
    assert code == 3, capsys.readouterr()
    assert "Refunds over $100 need a human's approval" in capsys.readouterr().out
    assert RunIndex().get("th-y").workflow == str(EXAMPLE)
    for model in models.values():
        model.assert_complete()


SHOP = '''
from taskwarden.tools.registry import tool_spec

def lookup_purchase(purchase_id: str) -> str:
    """Look a purchase up."""
    return purchase_id

def issue_refund(purchase_id: str, amount: float, reason: str) -> str:
    """Refund a purchase."""
    return "refunded"

def shop_tools():
    return [tool_spec(lookup_purchase, risk="read"),
            tool_spec(issue_refund, risk="irreversible", reconcile=lambda args: None)]

def send_note(to: str, text: str) -> str:
    """Send a note."""
    return "sent"

noted = tool_spec(send_note, grounding={"text": "free"})
'''
RELIABLE = MINIMAL.replace("description: does it}", "description: does it, tools: [issue_refund, send_note]}") + """\
tools:
  - import: ./shop.py:shop_tools()
    overrides:
      issue_refund: {grounding: {purchase_id: observed, reason: free}, intent: "refund|money back"}
  - import: ./shop.py:noted
    grounding: {to: request}
    intent: note
confirm: [issue_refund]
reliability: {grounding: true, look_before_act: false, loop_recovery: no, max_steps_without_progress: 2}
"""


def test_reliability_confirm_grounding_and_intent_are_declared_in_the_file(tmp_path):
    (tmp_path / "shop.py").write_text(SHOP)
    workflow = load_workflow(write(tmp_path, RELIABLE))
    assert workflow.confirm == ("issue_refund",)
    assert workflow.reliability == Reliability(look_before_act=False, loop_recovery=False, max_steps_without_progress=2)
    assert workflow.reliability.enabled() == ["grounding", "verify_after_write", "confirm_before_write", "nothing_asked"]
    refund, note = workflow.registry.get("issue_refund"), workflow.registry.get("send_note")
    assert (refund.grounding, refund.intent) == ({"purchase_id": "observed", "reason": "free"}, "refund|money back")
    assert refund.reconcile is not None and refund.risk == "irreversible"  # other settings are kept
    assert (note.grounding, note.intent) == ({"text": "free", "to": "request"}, "note")  # merged over the tool's own
    assert workflow.registry.get("lookup_purchase").grounding is None


def test_without_reliability_keys_every_mechanism_is_on(tmp_path):
    workflow = load_workflow(write(tmp_path, MINIMAL))
    assert workflow.reliability == Reliability() and workflow.confirm == ()
    assert workflow.reliability.enabled() == list(MECHANISMS)


@pytest.mark.parametrize("change, problem", [
    (lambda t: t.replace("purchase_id: observed,", "purchase_id: somewhere,"),
     "tools[0].overrides.issue_refund.grounding.purchase_id: Input should be 'request', 'observed', 'seen' or 'free'"),
    (lambda t: t.replace("purchase_id: observed,", "purchase_idd: observed,"),
     "tools[0] (./shop.py:shop_tools()): grounding names arguments issue_refund does not take: ['purchase_idd']; "
     "it takes ['amount', 'purchase_id', 'reason']"),
    (lambda t: t.replace("intent: note", "intent: 'note(('"),
     "tools[1].intent: intent 'note((' is not a regular expression: missing )"),
    (lambda t: t.replace('"refund|money back"', "'[refund'"),
     "tools[0].overrides.issue_refund.intent: intent '[refund' is not a regular expression"),
    (lambda t: t.replace("  - import: ./shop.py:noted", "    grounding: {purchase_id: observed}\n  - import: ./shop.py:noted"),
     "`grounding` and `intent` beside the import are for an entry that gives one tool; this one gives "
     "['lookup_purchase', 'issue_refund']: set them per tool under `overrides`"),
    (lambda t: t.replace("grounding: {to: request}", "grounding: {to: request, cc: seen}"),
     "tools[1] (./shop.py:noted): grounding names arguments send_note does not take: ['cc']"),
    (lambda t: t.replace("overrides:\n      issue_refund: {grounding", "overrides:\n      issue_refund: {grounds"),
     "tools[0].overrides.issue_refund.grounds: unknown key (allowed: risk, scopes, grounding, intent)"),
])
def test_invalid_reliability_declarations_are_refused(tmp_path, change, problem):
    (tmp_path / "shop.py").write_text(SHOP)
    path = write(tmp_path, change(RELIABLE))
    with pytest.raises(WorkflowFileError) as caught:
        load_workflow(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert problem in str(caught.value)
