"""Reusable scripts for the refund desk on scripted models."""

import dataclasses
from datetime import date

from taskwarden.testing import call, say, structured

TODAY = date(2026, 11, 21)
"""The fixed date the seeded refund database and the refund desk's clock agree on."""


def plan(*tasks):
    return structured({"tasks": [
        {"id": tid, "description": desc, "role": role, "depends_on": list(deps), "acceptance_criteria": [f"{desc} done"]}
        for tid, role, desc, deps in tasks]})


REFUND_PLAN = plan(("t1", "researcher", "Find the customer and check the policy", ()),
                   ("t2", "refunder", "Issue the refund if allowed", ("t1",)))
"""A plan without the writer: the shipped desk adds its task (a required role), `make_graph`'s desk does not."""


def research(purchase="P1002", email="alice@example.com"):
    return [call("lookup_customer", when="(t1)", email=email),
            call("check_refund_policy", when="(t1)", purchase_id=purchase),
            say(f"Customer found; {purchase} is eligible.", when="(t1)")]


def refund(purchase="P1002", amount=249.0, answer="Refund issued.", email="alice@example.com"):
    return [call("issue_refund", when="(t2)", purchase_id=purchase, amount=amount, reason="damaged",
                 customer_email=email),
            say(answer, when="(t2)")]


NEUTRAL_REPLY = "We have looked into your refund request about your $249 order; the outcome is in your account."
"""Claims no refund, so `draft_reply` saves it whatever the refunder did, and gives P1002's amount, which the
writer's done check asks for once P1002 is refunded."""


def reply(customer="C001", message=NEUTRAL_REPLY,
          answer="Reply drafted.", task="t3"):
    """The writer's steps: a reply that claims no refund, so it is saved whatever the refunder did."""
    return [call("draft_reply", when=f"({task})", customer_id=customer, message=message),
            say(answer, when=f"({task})")]


def passes(n):
    return [structured({"verdict": "pass"}) for _ in range(n)]


def scripted_tasks_only(workflow):
    """`workflow` with no required role: a test scripts only the tasks it is about (required roles have their
    own tests, test_required_roles.py). Returns the same workflow, changed."""
    workflow.roles = [dataclasses.replace(role, required=False) for role in workflow.roles]
    return workflow
