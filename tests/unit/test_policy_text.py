"""Policy rules written as text: the grammar, named constants, and clear line-numbered errors."""

from __future__ import annotations

import pytest

from taskwarden.tools.expressions import compile_expression, evaluate, names_in
from taskwarden.tools.policy import PolicyGate, forbid, require_approval
from taskwarden.tools.policy_text import PolicySyntaxError, check_constants, check_names, parse_policies, parse_rule

ALLOWLIST = {"allowlist": ["alice@example.com", "bob@example.com"]}


@pytest.mark.parametrize("line, expected", [
    ("issue_refund when amount > 100 -> require_approval", require_approval("issue_refund", "amount > 100")),
    ("issue_refund when amount > 100 -> require_approval because refunds over $100 need a human",
     require_approval("issue_refund", "amount > 100", reason="refunds over $100 need a human")),
    ("send_email when to not in allowlist -> forbid: only allowlisted recipients",
     forbid("send_email", "to not in allowlist", reason="only allowlisted recipients")),
    ("delete_file -> forbid", forbid("delete_file")),
    ("  delete_file->forbid  ", forbid("delete_file")),
    ('never: send_email when "@competitor.com" in to', forbid("send_email", '"@competitor.com" in to')),
    ("never delete_file", forbid("delete_file")),
    ("never delete_file because files are kept for audits", forbid("delete_file", reason="files are kept for audits")),
    ("never: delete_file: files are kept", forbid("delete_file", reason="files are kept")),
    ("* when len(reason) > 500 -> require_approval", require_approval("*", "len(reason) > 500")),
    # keywords inside quotes or brackets belong to the condition
    ('post when text == "a -> b: because when" -> forbid', forbid("post", 'text == "a -> b: because when"')),
    ("never: tag when label in ['a:b', 'c'] : no such labels",
     forbid("tag", "label in ['a:b', 'c']", reason="no such labels")),
])
def test_rule_lines_parse_into_the_rules_the_python_api_builds(line, expected):
    assert parse_rule(line) == expected


def test_a_block_of_rules_skips_blank_lines_and_comments():
    rules = parse_policies("""
        # refunds
        issue_refund when amount > 100 -> require_approval

        never delete_file
    """)
    assert [(rule.tool, rule.action) for rule in rules] == [("issue_refund", "require_approval"),
                                                            ("delete_file", "forbid")]


def test_conditions_read_declared_constants_and_the_gate_enforces_them():
    gate = PolicyGate(tuple(parse_policies("""
        send_email when to not in allowlist -> forbid because only allowlisted recipients
        never: send_email when "@competitor.com" in to
        issue_refund when amount > limit -> require_approval
    """, {**ALLOWLIST, "limit": 100})))
    assert gate.check("send_email", {"to": "alice@example.com"}).outcome == "allow"
    refused = gate.check("send_email", {"to": "mallory@example.com"})
    assert refused.outcome == "forbid" and refused.reason == "only allowlisted recipients"
    assert gate.check("send_email", {"to": "ceo@competitor.com"}).outcome == "forbid"
    assert gate.check("issue_refund", {"amount": 101}).outcome == "require_approval"
    assert gate.check("issue_refund", {"amount": 99}).outcome == "allow"


def test_a_call_cannot_shadow_a_declared_constant():
    gate = PolicyGate(tuple(parse_policies("send_email when to not in allowlist -> forbid", ALLOWLIST)))
    smuggled = {"to": "mallory@example.com", "allowlist": ["mallory@example.com"]}
    assert gate.check("send_email", smuggled).outcome == "forbid"
    assert evaluate(compile_expression("x"), {"x": 1}, {"x": 2}) == 2


def test_constants_are_copied_so_later_changes_do_not_alter_a_rule():
    allowlist = ["alice@example.com"]
    rule = parse_rule("send_email when to not in allowlist -> forbid", {"allowlist": allowlist})
    allowlist.append("mallory@example.com")
    assert rule.matches("send_email", {"to": "mallory@example.com"})


@pytest.mark.parametrize("line, problem", [
    ("issue_refund when amount > 100", "expected `-> require_approval` or `-> forbid`"),
    ("issue_refund -> approve", "the action must be require_approval or forbid, not 'approve'"),
    ("issue_refund when amount > 100 ->", "not 'nothing'"),
    ("issue_refund when -> forbid", "`when` needs a condition"),
    ("issue_refund amount > 100 -> forbid", "expected `when <condition>` after the tool name 'issue_refund'"),
    ("issue_refund when amount >> 1 -> forbid", "RShift is not allowed"),
    ("issue_refund when __import__('os') -> forbid", "only len() may be called"),
    ("issue_refund when amount > -> forbid", "invalid policy condition"),
    ("issue_refund because big -> forbid", "the reason goes after the action"),
    ("never issue_refund -> forbid", "a `never` rule always forbids"),
    ("never", "`never` needs a tool name"),
    ("-> forbid", "expected a tool name"),
])
def test_bad_lines_are_refused_with_the_line_number_and_the_problem(line, problem):
    with pytest.raises(PolicySyntaxError) as caught:
        parse_policies(f"# rules\ndelete_file -> forbid\n{line}\n")
    assert caught.value.line == 3
    assert str(caught.value).startswith("line 3: ")
    assert problem in str(caught.value)
    assert line.strip() in str(caught.value)


def test_names_are_checked_against_the_tools_arguments_and_the_constants():
    tools = {"send_email": ["to", "body"], "issue_refund": ["amount", "purchase_id"]}
    check_names(parse_policies("send_email when to not in allowlist -> forbid\n* when amount > 10 -> require_approval",
                               ALLOWLIST), tools)
    with pytest.raises(ValueError, match=r"reads \['ammount'\], which are neither arguments of issue_refund"):
        check_names([parse_rule("issue_refund when ammount > 100 -> forbid")], tools)
    with pytest.raises(ValueError, match=r"\['to'\] are both vars and arguments of send_email; rename the vars"):
        check_names([parse_rule("send_email when to == 'x' -> forbid", {"to": "x"})], tools)
    assert names_in(compile_expression("len(to) > limit and x in [y]")) == {"to", "limit", "x", "y"}


@pytest.mark.parametrize("name", ["len", "class", "not an identifier", "1st"])
def test_constant_names_must_be_readable_by_a_condition(name):
    with pytest.raises(ValueError, match="vars names must be identifiers"):
        check_constants({name: 1})
