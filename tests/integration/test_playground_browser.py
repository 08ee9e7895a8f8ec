"""The browser UIs in real headless Chromium (Playwright driving the Debian `chromium`, no browser
download) against a real `taskwarden serve` on loopback, with the refund desk on scripted models that
stream their text word by word (tests/fixtures/ui_server): the playground streams a run and approves
its refund inline, the review queue decides waiting runs in one click, the dashboard draws its charts.

Screenshots go to ``tests/artifacts/browser/`` (gitignored; ``TASKWARDEN_TEST_ARTIFACTS`` moves them);
the path is printed. Setup: ``apt-get install -y chromium`` (scripts/setup.sh does it with the `test`
extra) and ``pip install -e '.[test]'`` (Playwright). Missing either, these tests skip.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from langgraph_server import ROOT, taskwarden_serve

from taskwarden.workflows.refunds.db import refunds_for, seed

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FIXTURE = ROOT / "tests" / "fixtures" / "ui_server" / "langgraph.json"
ARTIFACTS = Path(os.environ.get("TASKWARDEN_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts") / "browser"
REQUEST = "Hi, this is alice@example.com. Please refund my standing desk, order P1002: it arrived damaged."
ANSWER = "P1002 is refunded: R1002."  # the fixture's reply once the writer's done check told it the refund
EXPECT_TIMEOUT = 30_000


def chromium_path() -> str | None:
    configured = os.environ.get("TASKWARDEN_CHROMIUM")
    if configured:
        return configured
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


@dataclass
class Server:
    url: str
    home: Path

    def reset_refunds(self) -> None:
        """A fresh refund desk database: P1002 refundable again."""
        seed(self.home / "refunds.db", reset=True)

    def refunds(self) -> list[tuple[str, float]]:
        return [(r["purchase_id"], r["amount"]) for r in refunds_for(self.home / "refunds.db")]

    def waiting_thread(self, request: str = REQUEST) -> str:
        """A run started through the API that now waits for the $249 refund's approval."""
        thread = httpx.post(f"{self.url}/threads", json={"metadata": {"source": "test"}}).json()["thread_id"]
        response = httpx.post(f"{self.url}/threads/{thread}/runs/wait", timeout=120, json={
            "assistant_id": "refunds", "input": {"messages": [{"type": "human", "content": request}]}})
        response.raise_for_status()
        assert self.thread(thread)["status"] == "interrupted"
        return thread

    def approve(self, thread_id: str) -> None:
        """Approve the thread's pending review through the API and wait for the run to end."""
        pending = [i for items in self.thread(thread_id)["interrupts"].values() for i in items]
        response = httpx.post(f"{self.url}/threads/{thread_id}/runs/wait", timeout=120, json={
            "assistant_id": "refunds", "command": {"resume": {pending[0]["id"]: {"decisions": [{"type": "approve"}]}}}})
        response.raise_for_status()

    def thread(self, thread_id: str) -> dict:
        return httpx.get(f"{self.url}/threads/{thread_id}").json()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui-served")
    env = {"TASKWARDEN_UI_FIXTURE_DELAY": "0.02", "TASKWARDEN_ALERT_ERROR_RATE": "50%"}
    with taskwarden_serve(home, FIXTURE, env=env) as url:
        yield Server(url, home)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium, or set TASKWARDEN_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the `test` extra)")
    sync_api.expect.set_options(timeout=EXPECT_TIMEOUT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {ARTIFACTS}")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses to sandbox as root
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context; uncaught page errors fail the test; a last screenshot is always kept."""
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    context.set_default_timeout(EXPECT_TIMEOUT)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        with contextlib.suppress(Exception):
            tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}-last.png"), full_page=True)
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def shot(page, name: str) -> None:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_playground_streams_a_run_and_approves_the_refund_inline(server, page):
    server.reset_refunds()
    page.goto(f"{server.url}/playground")
    expect(page.locator("#workflow option", has_text="refunds")).to_have_count(1)
    expect(page.locator(".empty")).to_contain_text("What should the workflow do?")
    expect(page.locator("#server-label")).to_have_text("Connected")
    shot(page, "playground-empty")

    page.fill("#prompt", REQUEST)
    page.keyboard.press("Enter")  # keyboard submit

    timeline = page.locator(".run .timeline")
    expect(timeline.locator('li[data-event="plan"]')).to_contain_text("Planned 3 tasks")
    expect(timeline.locator('li[data-event="tool_call"]', has_text="lookup_customer")).to_have_count(1)
    expect(timeline.locator('li[data-event="tool_result"]', has_text="check_refund_policy")).to_contain_text("executed")
    expect(timeline.locator('li[data-event="policy_decision"]', has_text="issue_refund")).to_contain_text(
        "Needs a human's approval")
    assert timeline.locator('li[data-event="tokens"]').count() >= 1, "the worker's streamed tokens were shown"
    expect(page.locator('.task[data-task="t1"]')).to_have_attribute("data-status", "passed")
    expect(page.locator('.task[data-task="t2"]')).to_have_attribute("data-status", "waiting")
    expect(page.locator('#usage [data-meter="Model calls"]')).to_contain_text("/ 30")

    review = page.locator(".review")
    expect(review).to_contain_text("issue_refund")
    expect(review.locator(".args-table")).to_contain_text("249")
    expect(review).to_contain_text("Refunds over $100 need a human's approval")
    expect(page.locator("#thread-status")).to_contain_text("waiting for review")
    assert server.refunds() == [], "nothing is refunded before the decision"
    shot(page, "playground-review")

    review.locator('button[data-decision="approve"]').click()
    expect(page.locator(".msg.ai .answer")).to_have_text(ANSWER)
    expect(page.locator(".run-head")).to_contain_text("completed")
    expect(timeline.locator('li[data-event="review_decided"]')).to_contain_text("Approved by a human")
    expect(timeline.locator('li[data-event="tool_result"]', has_text="issue_refund")).to_contain_text("executed")
    expect(page.locator('.task[data-task="t2"]')).to_have_attribute("data-status", "passed")
    expect(page.locator(".review")).to_have_count(0)
    assert server.refunds() == [("P1002", 249.0)], "the approval resumed the run, which refunded once"
    shot(page, "playground-finished")

    # the thread is in the sidebar, and reopening it rebuilds the conversation from the server's state
    thread_id = re.search(r"thread=([\w-]+)", page.url).group(1)
    assert server.thread(thread_id)["values"]["status"] == "completed"
    expect(page.locator(f'#threads button[data-thread="{thread_id}"]')).to_contain_text("completed")
    page.goto(f"{server.url}/playground?thread={thread_id}")
    expect(page.locator(".msg.human")).to_contain_text("order P1002")
    expect(page.locator(".msg.ai .answer")).to_have_text(ANSWER)
    expect(page.locator('.task[data-task="t2"]')).to_have_attribute("data-status", "passed")
    page.locator("#history-box summary").click()
    expect(page.locator("#history li").first).to_be_visible()
    shot(page, "playground-thread-reopened")


def test_review_queue_decides_waiting_runs_in_one_click(server, page):
    server.reset_refunds()
    approved, rejected = server.waiting_thread(), server.waiting_thread()
    page.goto(f"{server.url}/review")

    card = page.locator(f'.queue-item[data-thread="{approved}"]')
    expect(card).to_contain_text("order P1002")                      # the request
    expect(card).to_contain_text("lookup_customer(email=")           # what was done
    expect(card).to_contain_text("Alice")                            # what was seen
    expect(card.locator(".args-table")).to_contain_text("249")       # the proposed action and its arguments
    expect(card).to_contain_text("Refunds over $100 need a human's approval")  # why it waits
    expect(page.locator("#review-count")).to_have_text(re.compile(r"[1-9]\d*"))
    shot(page, "review-queue")

    card.locator('button[data-decision="approve"]').click()          # one click
    expect(card.locator(".review-outcome")).to_contain_text("The run completed")
    expect(card.locator(".review-outcome")).to_contain_text(ANSWER)
    assert server.refunds() == [("P1002", 249.0)]
    assert server.thread(approved)["status"] == "idle"

    other = page.locator(f'.queue-item[data-thread="{rejected}"]')
    other.locator('button[data-decision="reject"]').click()
    other.locator('input[aria-label="Reason for rejecting"]').fill("replacement already shipped")
    other.locator('input[aria-label="Reason for rejecting"]').press("Enter")
    expect(other.locator(".review-outcome")).to_contain_text("rejected issue_refund (replacement already shipped)")
    expect(other.locator(".review-outcome")).to_contain_text("The run completed")
    values = server.thread(rejected)["values"]
    assert [(r["decision"], r["message"]) for r in values["reviews"]] == [("reject", "replacement already shipped")]
    assert server.refunds() == [("P1002", 249.0)], "the rejected refund was not made"
    shot(page, "review-queue-decided")


def test_review_queue_edits_the_arguments_as_json(server, page):
    server.reset_refunds()
    thread = server.waiting_thread()
    page.goto(f"{server.url}/review")
    card = page.locator(f'.queue-item[data-thread="{thread}"]')
    card.locator('button[data-decision="edit"]').click()
    editor = card.locator("textarea.json")
    editor.fill('{"purchase_id": "P1002", "amount": 120')
    expect(card.locator(".decide-form .field-error")).to_contain_text("Invalid JSON")
    editor.fill('{"purchase_id": "P1002", "amount": 120, "reason": "partial refund", '
                '"customer_email": "alice@example.com"}')
    card.get_by_role("button", name="Approve with these arguments").click()
    expect(card.locator(".review-outcome")).to_contain_text("The run completed")
    assert server.refunds() == [("P1002", 120.0)]


def test_dashboard_draws_charts_after_runs(server, page):
    server.reset_refunds()
    thread = server.waiting_thread()
    server.approve(thread)
    page.goto(f"{server.url}/dashboard")
    expect(page.locator('[data-kpi="Runs"] .value')).to_have_text(re.compile(r"[1-9]\d*"))
    expect(page.locator("svg.chart")).to_have_count(6)
    assert page.locator('[data-chart="Run volume"] svg rect.bar.c-completed').count() >= 1
    assert page.locator('[data-chart="Execution time"] svg circle.pt').count() >= 1
    expect(page.locator('#workflows tr[data-workflow="refunds"]')).to_be_visible()
    expect(page.locator("#recent tbody tr").first).to_contain_text("completed")
    expect(page.locator("#rules")).to_contain_text("error rate > 50%")
    shot(page, "dashboard")


def test_pages_show_an_unreachable_server_and_error_answers(server, page):
    page.goto(f"{server.url}/playground?thread=00000000-0000-0000-0000-000000000000")
    expect(page.locator(".banner.error")).to_contain_text("Thread not found")
    page.goto(f"{server.url}/playground?api=http://127.0.0.1:9/")  # nothing listens on the discard port
    expect(page.locator("#server-label")).to_have_text("Server unreachable")
    # Two banners race (the top bar's health check and the workflow list): check each, not their order.
    banners = page.locator(".banner.error")
    expect(banners.filter(has_text="Server unreachable")).to_have_count(1)
    expect(banners.filter(has_text="Could not list the workflows")).to_contain_text("Is the server running?")
    shot(page, "playground-unreachable")
    page.goto(f"{server.url}/dashboard?api=http://127.0.0.1:9/")
    expect(page.locator(".banner.error")).to_contain_text("Could not load the metrics")
