"""Episodes and lessons (on both stores), knowledge ingestion and its tool."""

from __future__ import annotations

import pytest

from taskwarden.memory.episodes import describe_action, lessons_from, namespace, recall, record_episode
from taskwarden.memory.knowledge import add_documents, chunk_text, knowledge_tool, knowledge_tools, search_knowledge

REJECTED = {
    "goal": "Refund order A1001 for $250 to alice@example.com, the blender arrived broken",
    "plan": [{"id": "t1", "description": "Look up order A1001"}, {"id": "t2", "description": "Refund $250"}],
    "outcome": "Stopped by a human reviewer", "status": "rejected",
    "decisions": [
        {"action": "issue_refund", "args": {"order_id": "A1001", "amount": 250}, "decision": "reject",
         "message": "Orders over $200 need a photo of the damage first"},
    ],
    "feedback": ["The reply did not mention the 30-day policy"],
}
REJECTION = ("A reviewer rejected issue_refund(order_id=A1001, amount=250) because: "
             "Orders over $200 need a photo of the damage first")


def test_lessons_are_derived_deterministically():
    edited = {"goal": "g", "decisions": [
        {"action": "issue_refund", "args": {"order_id": "A7", "amount": 180}, "decision": "edit",
         "edited_args": {"order_id": "A7", "amount": 100}, "message": "cap at 100"},
        {"action": "send_email", "args": {"to": "bob"}, "decision": "approve"},
        {"action": "send_email", "args": {"to": "bob"}, "decision": "response", "message": "be more polite"},
        {"kind": "task", "task_id": "t2", "decision": "reject", "message": ""},
    ]}
    assert lessons_from(edited) == [
        "A reviewer changed amount from 180 to 100 in issue_refund(order_id=A7, amount=180) (cap at 100)",
        "A reviewer said about send_email(to=bob): be more polite",
        "A reviewer rejected the task escalation on task t2.",
    ]
    assert lessons_from(REJECTED) == [REJECTION, "Evaluator feedback: The reply did not mention the 30-day policy",
                                      "A previous run ended rejected: Stopped by a human reviewer"]
    assert lessons_from(REJECTED) == lessons_from(dict(REJECTED))
    assert describe_action({"tool": "t", "args": {"x": [1, 2]}}) == "t(x=[1, 2])"


def test_engine_review_records_fit():
    review = {"kind": "task", "escalation_kind": "evaluation", "task_id": "t1", "decision": "edit",
              "message": "", "edited_args": {"result": "Refund of $80 approved"}}
    assert lessons_from({"goal": "g", "decisions": [review]}) == [
        "A reviewer changed result to Refund of $80 approved in the task escalation on task t1"]


def test_record_episode_stores_lessons_under_the_workflow(store):
    key = record_episode(store, "refund_desk", {**REJECTED, "id": "run-1", "lessons": ["Ask for photos"]})
    assert key == "run-1"
    item = store.get(namespace("refund_desk"), "run-1")
    assert item.value["lessons"][0] == REJECTION and item.value["lessons"][-1] == "Ask for photos"
    assert item.value["goal"] == REJECTED["goal"] and item.value["status"] == "rejected"
    with pytest.raises(ValueError):
        record_episode(store, "refund_desk", {"goal": "  "})


def test_rejection_is_recalled_for_a_similar_goal_only(store):
    record_episode(store, "refund_desk", REJECTED)
    record_episode(store, "refund_desk", {"goal": "Send the weekly vulnerability summary to the security team",
                                          "status": "completed", "lessons": ["Include CVSS scores"]})
    similar = recall(store, "refund_desk", "Please refund order B2002 ($300), the toaster was damaged in shipping")
    assert similar[0] == REJECTION and "Include CVSS scores" not in similar
    assert recall(store, "refund_desk", "Route the new lead from Acme Corp to the right sales team") == []
    assert recall(store, "refund_desk", "Write this week's vulnerability report") == ["Include CVSS scores"]
    assert recall(store, "lead_routing", REJECTED["goal"]) == []


def test_recall_deduplicates_and_limits(store):
    for n in range(3):
        record_episode(store, "refund_desk", {**REJECTED, "goal": f"{REJECTED['goal']} (attempt {n})"})
    lessons = recall(store, "refund_desk", REJECTED["goal"], limit=2)
    assert lessons == [REJECTION, "Evaluator feedback: The reply did not mention the 30-day policy"]


# Knowledge

REFUNDS_MD = """# Refund policy

Customers may ask for a refund within 30 days of delivery.

## Approval

Refunds over $100 need approval from a human reviewer. Refunds are paid to the original card.

## Damaged goods

Ask the customer for a photo of the damage before refunding.
"""
SECURITY_MD = """# Security handbook

## Passwords

Rotate service account passwords every 90 days and store them in the vault.

## Reports

The vulnerability report is sent every Monday to the security team.
"""


@pytest.fixture
def documents(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "refunds.md").write_text(REFUNDS_MD)
    (folder / "security.md").write_text(SECURITY_MD)
    (folder / "notes.txt").write_text("Plain text note about the office coffee machine.")
    (folder / "skip.bin").write_bytes(b"\x00\x01")
    return folder


def test_chunking_keeps_headings_and_sizes():
    title, chunks = chunk_text(REFUNDS_MD)
    assert title == "Refund policy"
    assert [s for s, _ in chunks] == ["Refund policy", "Approval", "Damaged goods"]
    assert chunks[1][1].startswith("## Approval\n\nRefunds over $100")
    _, small = chunk_text("# T\n\n" + "word " * 400, max_chars=300)
    assert len(small) > 5 and all(len(c) <= 300 for _, c in small)


def test_add_and_search_knowledge(store, documents):
    assert add_documents(store, [documents]) == 6
    top = search_knowledge(store, "who has to approve a large refund?", limit=2)
    assert top[0]["source"].endswith("refunds.md") and top[0]["section"] == "Approval"
    assert top[0]["score"] > top[1]["score"]
    assert search_knowledge(store, "how often do we rotate passwords", limit=1)[0]["section"] == "Passwords"
    assert add_documents(store, [documents / "refunds.md"]) == 3  # again: replaced, not duplicated
    assert len(store.search(("knowledge",), limit=100)) == 6
    with pytest.raises(FileNotFoundError):
        add_documents(store, [documents / "missing.md"])


def test_knowledge_tool(store, documents):
    add_documents(store, [documents / "refunds.md"])
    tool = knowledge_tool(store, limit=1)
    assert tool.name == "search_knowledge" and "knowledge base" in tool.description
    assert set(tool.args) == {"query"}
    answer = tool.invoke({"query": "photo of damaged item"})
    assert answer.startswith("[1] refunds.md #2 (Damaged goods)") and "photo of the damage" in answer
    assert "No relevant passages" in knowledge_tool(store, namespace=("empty",)).invoke({"query": "x"})


def test_knowledge_tools_for_workflows_search_the_default_memory(tmp_path, monkeypatch, documents):
    """The ToolSpec a workflow grants to its roles: read-only, and the default store opens on first use."""
    from taskwarden.memory import default_store

    monkeypatch.setenv("TASKWARDEN_HOME", str(tmp_path / "home"))
    (spec,) = knowledge_tools(limit=1)
    assert (spec.name, spec.risk, spec.scopes) == ("search_knowledge", "read", ("knowledge:read",))
    assert not (tmp_path / "home" / "memory").exists(), "nothing is opened before the first search"
    store = default_store()
    add_documents(store, [documents / "refunds.md"])
    store.close()
    assert "photo of the damage" in spec.tool.invoke({"query": "photo of damaged item"})

