"""An IG lead in a real browser: signs in, approves an agreement (its form after the terms,
nothing filled in for them), reviews an override (no outcome chosen for them)."""

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, IG_PASSWORD, IG_USER
from tests.browser.screenshots import VIEWPORT, screenshot
from tests.e2e.processes import ImbInstallation, ServingImb, json_of
from tests.world import (
    HOUSING,
    NHS_NUMBER,
    SAFEGUARDING_BASIS,
    SAFEGUARDING_OVERRIDE,
    TRUST,
    agreement_body,
    risk_event,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TITLE = "Safeguarding adults partnership"
OVERRIDE = SAFEGUARDING_OVERRIDE


def _propose_agreement_housing_has_approved(imb: ImbInstallation, folder: Path) -> str:
    body = agreement_body([TRUST, HOUSING], title=TITLE, lawful_basis=SAFEGUARDING_BASIS)
    (folder / "agreement.json").write_text(json.dumps(body))
    created = json.loads(
        imb.run("agreement", "add", "--file", str(folder / "agreement.json")).stdout
    )
    imb.run(
        "agreement",
        "approve",
        created["id"],
        "--agency",
        HOUSING,
        "--name",
        "H. Lead",
        "--role",
        "Caldicott Guardian",
    )
    agreement_id: str = created["id"]
    return agreement_id


def _trust_token(imb: ImbInstallation, server: ServingImb) -> dict[str, str]:
    client_id, secret = imb.add_client(TRUST, "events:publish consent:manage")
    return server.bearer_headers(client_id, secret)


def _send_alert_against_a_refusal(server: ServingImb, auth: dict[str, str]) -> str:
    """The person has refused sharing with housing; the trust overrides it to safeguard.
    The message's id."""
    refusal = {
        "state": "refused",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": {"name": "A. Patel", "role": "care coordinator"},
    }
    team = {
        "members": [
            {"agency": TRUST, "role": "care coordinator", "named_lead": "A", "coordinator": True},
            {"agency": HOUSING, "role": "tenancy support", "named_lead": "H"},
        ]
    }
    with httpx.Client(base_url=server.base_url, headers=auth) as api:
        # Only the person's care team keeps their consent records: the trust starts the team.
        json_of(api.put(f"/v1/subjects/{NHS_NUMBER}/care-team", json=team))
        json_of(api.post(f"/v1/subjects/{NHS_NUMBER}/consents", json=refusal))
        event = risk_event(recipients=[HOUSING], purpose="safeguarding", override=OVERRIDE)
        message_id: str = json_of(api.post("/v1/events", json=event))["message_id"]
    return message_id


def _sign_in(page: Page) -> None:
    page.goto("/ig/agreements")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "login")
    page.get_by_label("Username").fill(IG_USER)
    page.get_by_label("Password").fill(IG_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sharing agreements")).to_be_visible()
    screenshot(page, "ig-agreements")


def _approve(page: Page) -> None:
    row = page.get_by_role("row").filter(has_text=TITLE)
    expect(row).to_contain_text("Awaiting RX4")
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_text("Awaiting approval by RX4")).to_be_visible()
    expect(page.get_by_label("Approver's name")).to_have_value("")
    expect(page.get_by_label("Approver's role")).to_have_value("")
    terms = page.get_by_role("heading", name="Terms", exact=True).bounding_box()
    form = page.get_by_role("heading", name="Approve these terms for RX4").bounding_box()
    assert terms is not None and form is not None and terms["y"] < form["y"]
    expect(page.locator("time").first).to_have_attribute("title", re.compile(r" UTC$"))
    expect(page.locator("time").first).to_have_text(re.compile(r"\d\d:\d\d (GMT|BST)$"))
    screenshot(page, "ig-agreement-detail")
    page.get_by_label("Approver's name").fill("Jo Bloggs")
    page.get_by_label("Approver's role").fill("IG lead")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Your agency's approval has been recorded.")
    expect(page.get_by_text("Version 1 · active")).to_be_visible()
    expect(page.get_by_text(re.compile(r"RX4: approved by Jo Bloggs \(IG lead\)"))).to_be_visible()
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)


def _wait_for_override(
    page: Page, server: ServingImb, auth: dict[str, str], message_id: str, timeout: float = 120.0
) -> None:
    """The router opens the override moments after the event is accepted (longer when the
    Kafka consumer group is still forming)."""
    deadline = time.monotonic() + timeout
    page.get_by_role("link", name="Overrides").click()
    while not page.get_by_text(OVERRIDE["justification"]).is_visible():
        if time.monotonic() > deadline:
            status = httpx.get(f"{server.base_url}/v1/events/{message_id}", headers=auth)
            raise AssertionError(
                f"the override never reached the queue; the event: {status.text}\n"
                f"imb serve's log ends:\n{server.log()[-3000:]}"
            )
        time.sleep(0.3)
        page.reload()


def _review(page: Page) -> None:
    item = page.locator("section").filter(has_text=OVERRIDE["justification"])
    expect(item).to_contain_text("RX4 → HOU01")
    expect(item).to_contain_text("safeguarding adult at risk")
    expect(item).to_contain_text(OVERRIDE["authorised_by"])
    expect(item.get_by_role("radio", checked=True)).to_have_count(0)
    expect(item.get_by_label("Reviewer's name")).to_have_value("")
    screenshot(page, "ig-overrides")
    item.get_by_role("radio", name=re.compile("^Upheld")).check()
    item.get_by_label("Reviewer's name").fill("Jo Bloggs")
    item.get_by_label("Review note").fill("Proportionate: a risk of serious harm to others.")
    item.get_by_role("button", name="Record review").click()
    expect(page.get_by_role("status")).to_contain_text("The review has been recorded")
    expect(page.get_by_text("No overrides are waiting for review.")).to_be_visible()


def test_ig_lead_approves_an_agreement_and_reviews_an_override(
    installation: ImbInstallation, serving: ServingImb, tmp_path: Path
) -> None:
    _propose_agreement_housing_has_approved(installation, tmp_path)
    auth = _trust_token(installation, serving)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(base_url=serving.base_url, viewport=VIEWPORT)
            _sign_in(page)
            _approve(page)
            message_id = _send_alert_against_a_refusal(serving, auth)
            _wait_for_override(page, serving, auth, message_id)
            _review(page)
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("status")).to_have_text("You have signed out.")
            page.goto("/ig/overrides")
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        finally:
            browser.close()
