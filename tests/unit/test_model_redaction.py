"""What models see: every model call of a run is redacted at the run's level (secrets, pii, off).

Scripted models record the messages they were given, so these tests assert on what each model saw,
and on what the tools, the state and the refund database got back.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel

from scripts import REFUND_PLAN, TODAY, passes, plan, refund, reply, research
from taskwarden.agents.evaluator import evaluation_schema
from taskwarden.graph.context import Context
from taskwarden.graph.redacting_model import RedactingChatModel, hide_messages, pseudonym_key
from taskwarden.graph.workflow import Workflow
from taskwarden.graph.workflow_file import WorkflowFileError, load_workflow
from taskwarden.testing import ScriptedChatModel, call, say, structured
from taskwarden.tools.redact import ModelRedaction, pseudonym
from taskwarden.workflows.refunds.db import reply_drafts, seed
from taskwarden.workflows.refunds.workflow import refund_desk

CFG = {"configurable": {"thread_id": "t-redact"}}
EMAIL = "alice@example.com"
CARD = "4111 1111 1111 1111"
API_KEY = "sk-proj-abcDEF1234567890abcdefXYZ"
SECRET_REQUEST = f"{EMAIL}: refund order P1001, it stopped working. My card was {CARD}, my API key {API_KEY}."
PII_REQUEST = f"{EMAIL}: refund order P1001, it stopped working. Call me on +44 20 7946 0958."
PLACEHOLDER = re.compile(r"<EMAIL_[0-9a-f]{6}>")
TINY = ("name: tiny\ndescription: A tiny workflow.\ninstructions: Do the thing.\n"
        "roles:\n  - {name: doer, description: does it}\n")


def seen(model: ScriptedChatModel) -> list[str]:
    """Everything each call of `model` was given: message contents, tool-call arguments, extra fields."""
    return ["\n".join(f"{m.type}: {m.content} {getattr(m, 'tool_calls', '')} {m.additional_kwargs}" for m in c.messages)
            for c in model.calls]


def all_seen(models: dict[str, ScriptedChatModel]) -> str:
    return "\n".join(text for model in models.values() for text in seen(model))


def request(text: str) -> dict:
    return {"messages": [("user", text)]}


def test_secrets_default_keeps_cards_and_keys_from_every_model_call(make_graph, audit_log):
    graph, models = make_graph(orchestrator=[REFUND_PLAN],
                               worker=[*research(purchase="P1001"), *refund(purchase="P1001", amount=79.0)],
                               evaluator=passes(2))
    out = graph.invoke(request(SECRET_REQUEST), CFG)

    assert out["status"] == "completed"
    assert all(len(model.calls) for model in models.values())
    everything = all_seen(models)
    assert CARD not in everything and CARD.replace(" ", "") not in everything and API_KEY not in everything
    assert "[CARD]" in seen(models["orchestrator"])[0] and "[SECRET]" in seen(models["orchestrator"])[0]
    assert all("[CARD]" in text for model in models.values() for text in seen(model)), "the request is in every prompt"
    assert EMAIL in seen(models["orchestrator"])[0], "e-mail addresses stay visible at the default level"
    after_lookup = next(c for c in models["worker"].calls if isinstance(c.messages[-1], ToolMessage))
    assert f'"email": "{EMAIL}"' in after_lookup.messages[-1].content, "and so do tool results"
    # the replies the engine got kept their metadata: the audit still records model and tokens
    calls = [e.payload for e in audit_log.entries("t-redact") if e.kind == "model_call"]
    assert len(calls) == 1 + 5 + 2 and {(c["model"], c["input_tokens"]) for c in calls} == {("scripted", 10)}


def test_secrets_changes_nothing_in_the_refund_desks_own_requests_and_data(refunds_db):
    """The default level must not alter e-mails, P/R/C ids, amounts or dates: the real model's
    behaviour on the refund desk stays what it was."""
    desk = refund_desk(refunds_db)
    call = ModelRedaction("secrets")
    assert len(desk.sample_requests) == 4
    for text in desk.sample_requests:
        assert call.hide(text) == text
    tools = {spec.name: spec.tool for spec in desk.tools}
    outputs = []
    for email in ("alice@example.com", "bob@example.com", "carla@example.com", "dan@example.com"):
        customer = json.loads(tools["lookup_customer"].invoke({"email": email}))
        purchases = tools["list_purchases"].invoke({"customer_id": customer["customer_id"]})
        outputs += [json.dumps(customer), purchases]
        outputs += [tools["check_refund_policy"].invoke({"purchase_id": p["purchase_id"]})
                    for p in json.loads(purchases)]
    outputs.append(tools["issue_refund"].invoke({"purchase_id": "P1001", "amount": 79.0, "reason": "damaged",
                                                 "customer_email": "alice@example.com"}))
    outputs.append(tools["draft_reply"].invoke({"customer_id": "C001",
                                                "message": "Refund R1001 of $79.00 for P1001 issued on 2026-11-21."}))
    for text in outputs:
        assert call.hide(text) == text, text


def test_secrets_level_sends_the_refund_desk_the_same_prompts_as_off(make_graph, tmp_path):
    def prompts(redact: str) -> list[list[str]]:
        desk = refund_desk(seed(tmp_path / redact / "refunds.db", TODAY), today=lambda: TODAY)  # the same data
        graph, models = make_graph(orchestrator=[REFUND_PLAN],
                                   worker=[*research(purchase="P1001"), *refund(purchase="P1001", amount=79.0),
                                           *reply()],  # the shipped desk adds the writer's task (t3)
                                   evaluator=passes(3), workflow=desk, redact=redact)
        assert graph.invoke(request(desk.sample_requests[1]),
                            {"configurable": {"thread_id": f"t-{redact}"}})["status"] == "completed"
        return [[re.sub(r"call_[0-9a-f]{8}", "call_id", text) for text in seen(model)] for model in models.values()]

    secrets, off = prompts("secrets"), prompts("off")
    assert "alice@example.com" in secrets[0][0] and "R1001" in "".join(secrets[1])
    assert secrets == off


def test_off_sends_everything_as_it_is(make_graph):
    graph, models = make_graph(orchestrator=[REFUND_PLAN],
                               worker=[*research(purchase="P1001"), *refund(purchase="P1001", amount=79.0)],
                               evaluator=passes(2), redact="off")
    assert graph.invoke(request(SECRET_REQUEST), CFG)["status"] == "completed"
    assert CARD in seen(models["orchestrator"])[0] and API_KEY in seen(models["orchestrator"])[0]


def test_pii_keeps_contact_details_from_the_model_and_restores_them_for_tools(make_graph, refunds_db, home):
    token = pseudonym("EMAIL", EMAIL, pseudonym_key())
    reply = f"Dear {token}, we are looking into order P1001 and will write again soon."
    graph, models = make_graph(
        orchestrator=[plan(("t1", "researcher", f"Find the customer {token} and check P1001", ()),
                           ("t2", "writer", "Draft the reply", ("t1",)))],
        worker=[call("lookup_customer", when="(t1)", email=token),
                say(f"Customer C001 ({token}) found; P1001 is eligible.",
                    when=lambda messages: "(t1)" in messages[0].content and isinstance(messages[-1], ToolMessage)),
                call("draft_reply", when="(t2)", customer_id="C001", message=reply),
                say("Reply drafted.", when="(t2)")],
        evaluator=passes(2), redact="pii")
    out = graph.invoke(request(PII_REQUEST), CFG)

    assert out["status"] == "completed"
    everything = all_seen(models)
    assert EMAIL not in everything and "7946 0958" not in everything, "no model saw the e-mail or the phone number"
    assert token in seen(models["orchestrator"])[0] and "<PHONE_" in seen(models["orchestrator"])[0]
    tasks = out["tasks"]
    lookup = tasks["t1"]["actions"][0]
    assert lookup["tool"] == "lookup_customer" and lookup["outcome"] == "executed"
    assert lookup["args"] == {"email": EMAIL}, "the tool got the real address"
    assert '"customer_id": "C001"' in lookup["summary"]
    # the next call saw its own tool call and the tool's result with the placeholder again
    after_tool = next(c for c in models["worker"].calls if isinstance(c.messages[-1], ToolMessage))
    tool_call, observation = after_tool.messages[-2:]
    assert tool_call.tool_calls[0]["args"] == {"email": token}
    assert token in observation.content and EMAIL not in observation.content and "C001" in observation.content
    # what the model wrote comes back with the real values: task results in state, the saved reply, the answer
    assert tasks["t1"]["result"] == f"Customer C001 ({EMAIL}) found; P1001 is eligible."
    planned = graph.get_state(CFG).values["plan"]["tasks"][0]
    assert planned["description"] == f"Find the customer {EMAIL} and check P1001"
    restored = reply.replace(token, EMAIL)
    assert [d["message"] for d in reply_drafts(refunds_db)] == [restored]
    assert out["final_answer"] == restored


def test_pii_placeholders_are_the_same_after_a_rebuild_and_in_another_process(make_graph, home):
    def placeholders(thread: str) -> list[str]:
        graph, models = make_graph(orchestrator=[plan(("t1", "researcher", "Check P1001", ()))],
                                   worker=[say("P1001 is eligible.", when="(t1)")], evaluator=passes(1), redact="pii")
        assert graph.invoke(request(PII_REQUEST), {"configurable": {"thread_id": thread}})["status"] == "completed"
        return PLACEHOLDER.findall(seen(models["orchestrator"])[0])

    first, second = placeholders("t-a"), placeholders("t-b")
    assert first == second == [pseudonym("EMAIL", EMAIL, pseudonym_key())]
    program = ("from taskwarden.graph.redacting_model import pseudonym_key\n"
               "from taskwarden.tools.redact import pseudonym\n"
               f"print(pseudonym('EMAIL', {EMAIL!r}, pseudonym_key()))")
    elsewhere = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=120)
    assert elsewhere.stdout.strip() == first[0], "a new process (a restart) derives the same placeholder"
    assert (home / "redaction.key").stat().st_mode & 0o077 == 0, "the key is readable by its owner only"


def test_the_runs_context_overrides_the_workflows_level(make_graph, home):
    graph, models = make_graph(orchestrator=[plan(("t1", "researcher", "Check P1001", ()))],
                               worker=[say("P1001 is eligible.", when="(t1)")], evaluator=passes(1))
    graph.invoke(request(PII_REQUEST), CFG, context=Context(redact="pii"))
    assert EMAIL not in all_seen(models) and PLACEHOLDER.search(seen(models["orchestrator"])[0])


def test_the_level_is_set_in_a_workflow_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY + "redact: pii\n", encoding="utf-8")
    assert load_workflow(path).redact == "pii"
    path.write_text(TINY, encoding="utf-8")
    assert load_workflow(path).redact == "secrets"
    path.write_text(TINY + "redact: everything\n", encoding="utf-8")
    with pytest.raises(WorkflowFileError, match="redact: Input should be 'secrets', 'pii' or 'off'"):
        load_workflow(path)


def test_unknown_levels_are_refused(refunds_db):
    with pytest.raises(ValueError, match="unknown redaction level"):
        Context(redact="all")  # type: ignore[arg-type]
    desk = refund_desk(refunds_db)
    with pytest.raises(ValueError, match="redact must be one of"):
        Workflow(name="w", description="", instructions="", roles=desk.roles, tools=desk.tools,
                 redact="everything")  # type: ignore[arg-type]


def test_every_part_of_a_message_is_redacted_and_the_reply_keeps_its_metadata():
    key = b"k" * 32
    token = pseudonym("EMAIL", EMAIL, key)
    history = [
        SystemMessage(content=f"support for {EMAIL}"),
        HumanMessage(content=[{"type": "text", "text": f"card {CARD}"}, f"mail {EMAIL}"]),
        AIMessage(content="",
                  tool_calls=[{"name": "login", "args": {"user": EMAIL, "password": "hunter2"}, "id": "c1"}],
                  invalid_tool_calls=[{"name": "x", "args": f'{{"to": "{EMAIL}"}}', "id": "c2", "error": "bad"}],
                  additional_kwargs={"reasoning_content": f"write to {EMAIL}"}),
        ToolMessage(content=f'{{"email": "{EMAIL}", "token": "{API_KEY}"}}', tool_call_id="c1"),
    ]
    hidden = hide_messages(history, ModelRedaction("pii", key))
    text = repr(hidden)
    assert EMAIL not in text and CARD not in text and "hunter2" not in text and API_KEY not in text
    assert hidden[2].tool_calls[0]["args"] == {"user": token, "password": "[SECRET]"}
    assert history[2].tool_calls[0]["args"]["user"] == EMAIL, "the history itself is not changed"

    model = ScriptedChatModel(script=[call("send", to=token, note=f"cc {token}")])
    reply = RedactingChatModel(model, "pii", key).bind_tools([]).invoke(history)
    assert reply.tool_calls[0]["args"] == {"to": EMAIL, "note": f"cc {EMAIL}"}
    assert reply.usage_metadata["input_tokens"] == 10 and reply.response_metadata["model_name"] == "scripted"
    assert RedactingChatModel(model, "pii", key).name_ == "scripted", "other attributes are the model's"


def test_structured_output_is_restored_recursively():
    class Contact(BaseModel):
        email: str

    class Found(BaseModel):
        contacts: list[Contact]
        note: str

    key = b"k" * 32
    token = pseudonym("EMAIL", EMAIL, key)
    model = ScriptedChatModel(script=[structured({"contacts": [{"email": token}], "note": f"{token} is C001"})])
    out = RedactingChatModel(model, "pii", key).with_structured_output(Found, include_raw=True).invoke(
        [HumanMessage(content=f"who is {EMAIL}?")])
    assert out["parsing_error"] is None
    assert out["parsed"] == Found(contacts=[Contact(email=EMAIL)], note=f"{EMAIL} is C001")
    assert EMAIL in out["raw"].content, "the raw reply is restored too"
    assert model.calls[0].schema == "Found", "a schema without run data is passed as it is"


def test_an_output_schema_quoting_run_data_is_pseudonymised_and_validated_against_the_original():
    key = b"k" * 32
    token = pseudonym("EMAIL", EMAIL, key)
    criteria = [f"names the customer {EMAIL}", "states the purchase id"]
    schema = evaluation_schema(criteria)
    model = ScriptedChatModel(script=[
        structured({"unmet_criteria": [f"names the customer {token}"], "verdict": "revise"}),
        structured({"unmet_criteria": ["something else"]})])
    runnable = RedactingChatModel(model, "pii", key).with_structured_output(schema, include_raw=True)
    out = runnable.invoke([HumanMessage(content="Evaluate the result.")])
    assert EMAIL not in str(model.calls[0].schema) and token in str(model.calls[0].schema)
    assert isinstance(out["parsed"], schema) and out["parsed"].unmet_criteria == [criteria[0]]
    invalid = runnable.invoke([HumanMessage(content="Evaluate the result.")])
    assert invalid["parsed"] is None and "something else" in str(invalid["parsing_error"]), "the original decides"
