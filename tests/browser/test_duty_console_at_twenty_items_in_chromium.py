"""A busy night on the duty console, in a real browser: twenty crisis alerts have escalated,
each shows once (inside its escalation), the list stays compact with every acknowledgement
form folded away, and a form the worker opened stays open while the list updates itself."""

import re
import time

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, DUTY_PASSWORD, DUTY_USER
from tests.browser.screenshots import VIEWPORT, screenshot
from tests.e2e.processes import ServingImb, json_of
from tests.world import crisis_event

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
ALERTS = 20
# Routing (the consumer groups form first), the six-second deadline and the monitor's look.
ALL_ESCALATED_S = 150
# Two and a half screens of 800 px: a worker scrolls a little, not through twenty forms.
MOST_HEIGHT_PX = 2000


def _sign_in(page: Page) -> None:
    page.goto("/duty")
    page.get_by_label("Username").fill(DUTY_USER)
    page.get_by_label("Password").fill(DUTY_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/duty")
    expect(page.get_by_text("Updating live")).to_be_visible()


def _all_escalated(page: Page, serving: ServingImb) -> None:
    deadline = time.monotonic() + ALL_ESCALATED_S
    escalations = page.locator("li.escalation")
    while escalations.count() < ALERTS or page.locator("li.delivery").count():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{escalations.count()} of {ALERTS} alerts escalated;"
                f" imb serve's log ends:\n{serving.log()[-3000:]}"
            )
        page.wait_for_timeout(500)


def test_twenty_escalated_alerts_each_show_once_in_a_compact_list_of_folded_forms(
    duty_trust_api: httpx.Client, serving: ServingImb
) -> None:
    for _ in range(ALERTS):
        json_of(duty_trust_api.post("/v1/events", json=crisis_event()))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=serving.base_url, viewport=VIEWPORT)
            _sign_in(page)
            _all_escalated(page, serving)

            alerts = page.locator("li.escalation .duty-alert")
            expect(alerts).to_have_count(ALERTS)
            ids = alerts.evaluate_all("nodes => nodes.map(node => node.id)")
            assert len(set(ids)) == ALERTS  # every alert once, none also listed on its own
            assert page.locator("details[open]").count() == 0
            expect(page.get_by_label("Outcome").first).to_be_hidden()
            expect(page.locator(".duty-summary")).to_contain_text(
                re.compile(r"as at \d\d:\d\d:\d\d (GMT|BST)")
            )
            screenshot(page, "duty-console-20-items")
            height = page.evaluate("document.documentElement.scrollHeight")
            assert height < MOST_HEIGHT_PX, f"{ALERTS} items take {height} px"

            fold = page.locator("li.escalation").first.locator("details").first
            fold.locator("summary").click()
            page.locator("h1").click()  # focus leaves the item; only its open form keeps it
            page.wait_for_timeout(4500)  # two polls of the list

            expect(fold).to_have_attribute("open", "")
            expect(fold.get_by_label("Outcome")).to_be_visible()
            expect(fold.get_by_label("Outcome")).to_have_value("")
            expect(fold.get_by_label("Your name")).to_have_value("")
            expect(page.locator("#duty-live")).to_contain_text("Updating live")
            screenshot(page, "duty-console-form-open")
        finally:
            browser.close()
