"""A duty worker on a night shift, in a real browser: a crisis alert arrives on the console
without a reload, its acknowledgement deadline passes, the escalation appears with the alert
inside it, and the worker acknowledges it and then the alert from the page."""

import re

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DUTY_PASSWORD, DUTY_USER
from tests.browser.screenshots import VIEWPORT
from tests.e2e.processes import ServingImb, json_of
from tests.world import NHS_NUMBER, crisis_event

# One database: the console's queries run on both in tests/integration/test_web_duty.py.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
# The first event waits for the router's and dispatcher's consumer groups to form.
FIRST_ARRIVAL_MS = 60_000
# The deadline, the deadline monitor's look and the page's poll, with room to spare.
ESCALATION_MS = 30_000


def _sign_in_to_the_console(page: Page) -> None:
    page.goto("/duty")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(DUTY_USER)
    page.get_by_label("Password").fill(DUTY_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/duty")
    expect(page.get_by_role("heading", name="Duty console · HOU01")).to_be_visible()
    expect(page.get_by_text("Nothing is waiting for the duty team.")).to_be_visible()
    expect(page.get_by_text("Updating live")).to_be_visible()


def _shows(item: Locator, server: ServingImb, timeout: float, what: str) -> None:
    try:
        expect(item).to_be_visible(timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(
            f"{what} never reached the console: {exc}\n"
            f"imb serve's log ends:\n{server.log()[-3000:]}"
        ) from exc


def _acknowledge(fold: Locator, outcome: str, name: str | None = None) -> None:
    """Open the folded form, choose, sign and send; the role is remembered after the first."""
    fold.locator("summary").click()
    fold.get_by_label("Outcome").select_option(outcome)
    if name is not None:
        fold.get_by_label("Your name").fill(name)
        fold.get_by_label("Your role").fill("Duty worker")
    fold.get_by_role("button", name=re.compile("^Acknowledge")).click()


def test_duty_worker_sees_an_alert_escalate_live_and_acknowledges_it(
    duty_trust_api: httpx.Client, serving: ServingImb
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=serving.base_url, viewport=VIEWPORT)
            _sign_in_to_the_console(page)
            page.evaluate("window.sameDocument = true")  # gone if the page ever reloads

            json_of(duty_trust_api.post("/v1/events", json=crisis_event()))
            alert = page.locator("li.delivery").filter(has_text="crisis.occurred")
            _shows(alert, serving, FIRST_ARRIVAL_MS, "the crisis alert")
            expect(alert).to_contain_text("emergency")
            expect(alert).to_contain_text(re.compile(r"From RX4"))
            escalation = page.locator("li.escalation").filter(has_text="crisis.occurred")
            _shows(escalation, serving, ESCALATION_MS, "the escalation")

            expect(escalation).to_contain_text("was not acknowledged by")
            expect(alert).to_have_count(0)  # the alert is inside its escalation now, not twice
            inner = escalation.locator(".duty-alert")
            expect(escalation.locator("time.countdown").first).to_have_text(
                re.compile("^overdue by")
            )
            expect(inner.locator("time.countdown")).to_have_text(re.compile("^overdue by"))
            expect(page).to_have_title(re.compile(r"^\(1\) Duty console"))
            assert page.evaluate("window.sameDocument") is True
            reference = escalation.locator(".ref").inner_text()
            assert re.fullmatch(r"ESC-[2-9A-HJ-NP-Z]{8}", reference)
            assert NHS_NUMBER not in page.content()

            _acknowledge(escalation.locator("details").first, "actioned", name="Jo Night")
            expect(page.get_by_role("status")).to_have_text(f"{reference} acknowledged: actioned")
            expect(page.locator("li.escalation")).to_have_count(0)
            expect(alert).to_be_visible()

            expect(alert.get_by_label("Your name")).to_have_value("Jo Night")
            _acknowledge(alert.locator("details"), "accepted")
            expect(page.get_by_role("status")).to_have_text(
                "crisis.occurred from RX4 acknowledged: accepted"
            )
            expect(page.get_by_text("Nothing is waiting for the duty team.")).to_be_visible()
        finally:
            browser.close()
