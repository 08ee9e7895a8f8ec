"""How often the embedded model's tool calls parse and match their schemas (target: 100%).

52 varied prompts over three realistic tool sets (support, operations, inventory),
sent through ``init_chat_model("local").bind_tools(...)``.  Every emitted tool call
is re-checked here, independently, with the tool's own Pydantic schema; a call that
fails (or an ``invalid_tool_calls`` entry) counts against the rate.  Choosing the
expected tool is reported too, as accuracy (the model's judgement, not the stack's).

    .venv/bin/python benchmarks/bench_toolcalls.py
"""

from __future__ import annotations

import statistics
import time
from typing import Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from pydantic import Field, ValidationError

from taskwarden.models import init_chat_model
from taskwarden.models.server import ensure_server

NONE = "(answer)"


@tool
def lookup_customer(email: str) -> dict:
    """Look up a customer record by email address."""


@tool
def list_purchases(customer_id: str) -> list:
    """List all purchases of a customer, by customer id (like C-1234)."""


@tool
def issue_refund(purchase_id: str, amount: float = Field(gt=0), reason: str = Field(min_length=3)) -> str:
    """Refund an amount of money (in dollars) for a purchase id (like P-1234), with a short reason."""


@tool
def check_refund_policy(purchase_id: str) -> dict:
    """Check whether a purchase is eligible for a refund under the policy."""


@tool
def send_email(to: str, subject: str, body: str) -> str:
    """Send an email to a customer."""


@tool
def create_ticket(title: str, priority: Literal["low", "medium", "high", "urgent"], description: str) -> str:
    """Open a support ticket."""


@tool
def get_order_status(order_id: str) -> dict:
    """Get the shipping status of an order id (like O-1234)."""


@tool
def schedule_callback(phone: str, time_slot: Literal["morning", "afternoon", "evening"], topic: str) -> str:
    """Schedule a phone callback to a customer."""


@tool
def escalate_to_human(reason: str, severity: int = Field(ge=1, le=5)) -> str:
    """Hand the conversation to a human agent; severity from 1 (minor) to 5 (critical)."""


@tool
def search_products(query: str, max_results: int = Field(default=5, ge=1, le=20)) -> list:
    """Search the product catalog by keywords."""


@tool
def check_stock(sku: str, warehouse: Literal["east", "west", "central"] | None = None) -> dict:
    """Check how many units of a SKU are in stock, optionally in one warehouse."""


@tool
def reserve_item(sku: str, quantity: int = Field(ge=1), customer_id: str = Field(min_length=1)) -> str:
    """Reserve units of a SKU for a customer id."""


TOOL_SETS = {
    "support": ([lookup_customer, list_purchases, issue_refund, check_refund_policy, send_email],
                "You are a customer-support agent for an online shop. Use a tool whenever one applies."),
    "ops": ([create_ticket, get_order_status, schedule_callback, escalate_to_human],
            "You are an operations assistant. Use a tool whenever one applies."),
    "inventory": ([search_products, check_stock, reserve_item],
                  "You are an inventory assistant for a warehouse. Use a tool whenever one applies."),
}  # fmt: skip

PROMPTS: list[tuple[str, str, str]] = [
    ("support", "Find the customer whose email is maria.lopez@example.com", "lookup_customer"),
    ("support", "Who is john.doe@gmail.com? Pull up his account.", "lookup_customer"),
    ("support", "Can you look up the account for s.nakamura@example.jp?", "lookup_customer"),
    ("support", "I need the customer record for billing@acme-corp.com", "lookup_customer"),
    ("support", "Show all purchases of customer C-1042.", "list_purchases"),
    ("support", "What has customer C-77 bought from us?", "list_purchases"),
    ("support", "List the order history for customer id C-30981.", "list_purchases"),
    ("support", "Refund $19.99 on purchase P-7781, the item arrived broken.", "issue_refund"),
    ("support", "Please refund 250 dollars for purchase P-1200 because it was charged twice.", "issue_refund"),
    ("support", "Issue a refund of $5.49 on P-33 for a late delivery.", "issue_refund"),
    ("support", "Give back $1200 on purchase P-9001, the laptop never arrived.", "issue_refund"),
    ("support", "Is purchase P-4410 eligible for a refund?", "check_refund_policy"),
    ("support", "Check the refund policy for purchase P-812 before we do anything.", "check_refund_policy"),
    ("support", "Can P-5555 still be refunded under our policy?", "check_refund_policy"),
    (
        "support",
        "Email jane@example.com with subject 'Your refund' telling her the refund was processed.",
        "send_email",
    ),
    (
        "support",
        "Send an email to tom@example.org saying his order ships tomorrow; subject: Shipping update.",
        "send_email",
    ),
    ("support", "Write to ana@example.com to apologize for the delay, subject 'Sorry for the wait'.", "send_email"),
    ("support", "Hi! What are your opening hours?", NONE),
    ("support", "Thanks, that is all I needed.", NONE),
    ("ops", "Open an urgent ticket: checkout page returns error 500 for all users.", "create_ticket"),
    ("ops", "Create a low priority ticket about a typo on the About page.", "create_ticket"),
    ("ops", "File a high priority ticket: payment webhook is delayed by 2 hours.", "create_ticket"),
    ("ops", "Please log a medium priority ticket, the search results load slowly.", "create_ticket"),
    ("ops", "Where is order O-5521 right now?", "get_order_status"),
    ("ops", "What's the shipping status of order O-100?", "get_order_status"),
    ("ops", "Has order O-98231 been delivered yet?", "get_order_status"),
    ("ops", "Track order O-7 for me.", "get_order_status"),
    ("ops", "Call back +1 415 555 0199 tomorrow morning about their invoice.", "schedule_callback"),
    ("ops", "Schedule an evening callback to 020 7946 0958 to discuss the warranty.", "schedule_callback"),
    ("ops", "The customer at +49 30 1234567 wants a call in the afternoon about returns.", "schedule_callback"),
    ("ops", "This customer is threatening legal action over a data leak, get a human now.", "escalate_to_human"),
    ("ops", "Escalate: the customer is very upset but it is a minor billing question.", "escalate_to_human"),
    (
        "ops",
        "A user reports their account was hacked and money is gone. Hand off to a person, critical.",
        "escalate_to_human",
    ),
    ("ops", "I need a human agent to handle a complaint about rude staff, moderate severity.", "escalate_to_human"),
    ("ops", "What does SLA stand for?", NONE),
    ("ops", "Good morning!", NONE),
    ("inventory", "Search the catalog for wireless headphones.", "search_products"),
    ("inventory", "Find me up to 3 products matching 'standing desk'.", "search_products"),
    ("inventory", "Do we sell ergonomic office chairs? Search for them.", "search_products"),
    ("inventory", "Look for USB-C chargers, show 10 results.", "search_products"),
    ("inventory", "How many units of SKU HD-4410 are in stock?", "check_stock"),
    ("inventory", "Check stock for SKU CH-200 in the west warehouse.", "check_stock"),
    ("inventory", "Is SKU LMP-77 available in the central warehouse?", "check_stock"),
    ("inventory", "Stock level of SKU DSK-9 in the east warehouse, please.", "check_stock"),
    ("inventory", "Reserve 2 units of SKU HD-4410 for customer C-1042.", "reserve_item"),
    ("inventory", "Hold one SKU CH-200 for customer C-77.", "reserve_item"),
    ("inventory", "Put aside 15 units of SKU USB-C-65W for customer C-3.", "reserve_item"),
    ("inventory", "Customer C-500 wants 4 of SKU LMP-77 reserved.", "reserve_item"),
    ("inventory", "What is a SKU?", NONE),
    ("inventory", "Reserve 3 units of SKU DSK-9 for customer C-12 and tell me when done.", "reserve_item"),
    ("support", "Customer C-2024 wants to know what they ordered last month.", "list_purchases"),
    ("ops", "Create an urgent ticket: the mobile app crashes on launch for iOS 18 users.", "create_ticket"),
]


def run() -> list[dict]:
    """Invoke every prompt once; return one row per prompt."""
    model = init_chat_model("local")
    rows = []
    for set_name, (tools, system) in TOOL_SETS.items():
        bound = model.bind_tools(tools)
        by_name = {t.name: t for t in tools}
        for index, (prompt_set, prompt, expected) in enumerate(PROMPTS, start=1):
            if prompt_set != set_name:
                continue
            start = time.perf_counter()
            reply = bound.invoke([SystemMessage(system), HumanMessage(prompt)])
            seconds = time.perf_counter() - start
            valid = invalid = 0
            for call in reply.tool_calls:
                try:
                    by_name[call["name"]].tool_call_schema.model_validate(call["args"])
                    valid += 1
                except (KeyError, ValidationError):
                    invalid += 1
            invalid += len(reply.invalid_tool_calls)
            got = reply.tool_calls[0]["name"] if reply.tool_calls else ("(invalid)" if invalid else NONE)
            rows.append({
                "n": index, "set": set_name, "expected": expected, "got": got, "valid": valid, "invalid": invalid,
                "repairs": reply.response_metadata.get("repairs", 0), "seconds": seconds,
                "tokens": reply.usage_metadata["output_tokens"],
            })  # fmt: skip
    return sorted(rows, key=lambda r: r["n"])


def report(rows: list[dict]) -> None:
    print(f"{'#':>3} {'set':<10}{'expected':<21}{'got':<21}{'schema':<8}{'repairs':>7}{'out tok':>8}{'seconds':>9}")
    print("-" * 87)
    for r in rows:
        schema = "ok" if not r["invalid"] else "INVALID"
        schema = schema if r["valid"] or r["invalid"] else "-"
        cells = f"{r['n']:>3} {r['set']:<10}{r['expected']:<21}{r['got']:<21}{schema:<8}"
        print(f"{cells}{r['repairs']:>7}{r['tokens']:>8}{r['seconds']:>9.2f}")
    calls = sum(r["valid"] + r["invalid"] for r in rows)
    valid = sum(r["valid"] for r in rows)
    first_try = sum(r["valid"] for r in rows if r["repairs"] == 0)
    correct = sum(r["expected"] == r["got"] for r in rows)
    latencies = sorted(r["seconds"] for r in rows)
    print("-" * 87)
    print(f"prompts: {len(rows)}   tool calls emitted: {calls}   final answers: {sum(r['got'] == NONE for r in rows)}")
    print(f"tool calls that parse and match their schema: {valid}/{calls} = {100 * valid / max(calls, 1):.1f}%"
          f"   (first try, no repair: {first_try}/{calls})")  # fmt: skip
    print(f"expected tool (or answer) chosen: {correct}/{len(rows)} = {100 * correct / len(rows):.1f}%")
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    print(f"latency per prompt: mean {statistics.mean(latencies):.2f}s  p50 {statistics.median(latencies):.2f}s  "
          f"p90 {p90:.2f}s  max {latencies[-1]:.2f}s  total {sum(latencies):.0f}s")  # fmt: skip


def main() -> None:
    ensure_server()
    report(run())


if __name__ == "__main__":
    main()
