"""An auditor in a real browser: signs in, lands on the audit page, reads the timeliness
report and its chart, searches the audit records for a message and opens its trail, verifies
the audit chain and traces the subject."""

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.screenshots import VIEWPORT, screenshot
from tests.e2e.processes import ImbInstallation, ServingImb, json_of
from tests.world import CARE_TEAM, COUNCIL, HOUSING, NHS_NUMBER, TRUST, agreement_body, risk_event

# One database: the page's queries run on both in tests/integration/test_timeliness_report.py.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

AUDITOR, AUDITOR_PASSWORD = "auditor.trust", "a long and private auditing phrase"
# The first event waits for the router's consumer group to form.
FIRST_ROUTING_S = 60


@pytest.fixture
def trust_api(
    installation: ImbInstallation, serving: ServingImb, tmp_path: Path
) -> Iterator[httpx.Client]:
    installation.add_user(AUDITOR, TRUST, "auditor", AUDITOR_PASSWORD)
    (tmp_path / "agreement.json").write_text(json.dumps(agreement_body([TRUST, HOUSING])))
    installation.agree(tmp_path / "agreement.json", [TRUST, HOUSING])
    client_id, secret = installation.add_client(TRUST, "events:publish consent:manage")
    headers = serving.bearer_headers(client_id, secret)
    with httpx.Client(base_url=serving.base_url, headers=headers) as api:
        care_team = {"members": [m for m in CARE_TEAM["members"] if m["agency"] != COUNCIL]}
        json_of(api.put(f"/v1/subjects/{NHS_NUMBER}/care-team", json=care_team))
        yield api


def _report_appears(page: Page, serving: ServingImb) -> None:
    """The report counts deliveries once the router has decided them: reload until then."""
    deadline = time.monotonic() + FIRST_ROUTING_S
    while not page.locator("#timeliness").is_visible():
        if time.monotonic() > deadline:
            raise AssertionError(f"no report rows; imb serve's log ends:\n{serving.log()[-3000:]}")
        time.sleep(0.5)
        page.reload()


def _chart_reads_without_its_colours(page: Page) -> None:
    """A title, named axes, a visible bar even at 0 %, and the same in words."""
    chart = page.locator("figure.chart")
    expect(chart.locator("svg")).to_have_attribute("aria-describedby", "chart-summary")
    expect(chart.locator("text.chart-title")).to_contain_text("Deadline breach rate")
    expect(chart.locator("text.axis-name")).to_contain_text("Breach rate")
    expect(chart).to_contain_text("Agency · event type")
    expect(chart.locator("text.rate")).to_have_text(["0 %"])
    bar = chart.locator("rect.bar").bounding_box()
    assert bar is not None and bar["width"] >= 2 and bar["height"] >= 10
    expect(page.locator("#chart-summary")).to_contain_text(
        f"{HOUSING} · risk.changed: 0 % of 1 permitted delivery breached a deadline"
    )


def test_auditor_reads_the_report_traces_a_message_verifies_the_chain_and_traces_a_subject(
    trust_api: httpx.Client, serving: ServingImb
) -> None:
    message_id = json_of(trust_api.post("/v1/events", json=risk_event()))["message_id"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=serving.base_url, viewport=VIEWPORT)
            page.goto("/login")
            page.get_by_label("Username").fill(AUDITOR)
            page.get_by_label("Password").fill(AUDITOR_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Audit", exact=True)).to_be_visible()
            _report_appears(page, serving)

            row = page.locator("#timeliness tbody tr").filter(has_text=HOUSING)
            expect(row).to_contain_text("risk.changed")
            expect(row).to_contain_text(re.compile("(\\d+(\\.\\d)? s|\N{EN DASH}) / "))
            expect(row).not_to_contain_text("PT")
            _chart_reads_without_its_colours(page)
            screenshot(page, "audit-timeliness-report")
            expect(page.locator("#chain")).to_contain_text("Last signed checkpoint")

            page.get_by_label("Event", exact=True).select_option("event.received")
            page.get_by_role("button", name="Search").click()
            page.get_by_role("link", name=f"Trace {message_id}").click()
            expect(page.locator("#trace")).to_contain_text("event.received")
            expect(page.locator("#trace")).to_contain_text("delivery.decided")
            expect(page.locator("#trace time").first).to_have_text(re.compile(r"(GMT|BST)$"))
            assert NHS_NUMBER not in page.content()
            screenshot(page, "audit-message-trace")

            page.get_by_role("button", name="Verify now").click()
            expect(page.get_by_role("status")).to_contain_text("Audit chain intact")
            expect(page.locator("#verification")).to_contain_text("intact")

            page.get_by_label("NHS number").fill(NHS_NUMBER)
            page.get_by_role("button", name="Trace subject").click()
            expect(page.locator("#subject")).to_contain_text(HOUSING)
            expect(page.locator("#subject")).to_contain_text(message_id)
            assert page.content().count(NHS_NUMBER) == 1  # only in the field it was typed in
            screenshot(page, "audit-subject-trace")
        finally:
            browser.close()
