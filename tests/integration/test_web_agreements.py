"""The agreements pages: only IG leads, only their agency's agreements, approval by form."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from broker.db.models import AgreementParty, AuditRecord
from broker.runtime import Runtime
from tests.web import add_person, post_form, sign_in, visible_text, web_client
from tests.world import COUNCIL, GP, TRUST, World, agreement_body

IG_LEAD, DUTY, GP_LEAD = "ig.trust", "duty.trust", "ig.gp"
APPROVER = {"approver_name": "Jo Bloggs", "approver_role": "Caldicott Guardian"}


@pytest.fixture
async def browser(world: World, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await add_person(runtime, IG_LEAD, TRUST)
    await add_person(runtime, DUTY, TRUST, role="duty")
    await add_person(runtime, GP_LEAD, GP)
    async with web_client(runtime) as client:
        yield client


async def _proposed(world: World, parties: list[str], **terms: Any) -> str:
    """A draft agreement awaiting every party's approval; its id."""
    created = await world.post("admin", "/v1/agreements", agreement_body(parties, **terms))
    assert created.status_code == 201, created.text
    agreement_id: str = created.json()["id"]
    return agreement_id


async def _approvals(rt: Runtime, agreement_id: str) -> dict[str, Any]:
    async with rt.db.unit_of_work() as session:
        parties = (
            await session.scalars(
                select(AgreementParty).where(AgreementParty.agreement_id == UUID(agreement_id))
            )
        ).all()
        return {p.agency_code: p.approved_by for p in parties}


async def test_list_shows_the_agencys_agreements_with_pending_approvals(
    world: World, browser: httpx.AsyncClient
) -> None:
    await _proposed(world, [TRUST, COUNCIL], title="Crisis line data sharing")
    await _proposed(world, [COUNCIL, GP], title="Council and practice only")
    await sign_in(browser, IG_LEAD)

    text = visible_text(await browser.get("/ig/agreements"))

    assert "Crisis line data sharing" in text
    assert "Awaiting LA001, RX4" in text
    assert "Community mental health partnership" in text
    assert "Council and practice only" not in text


async def test_review_date_within_30_days_is_flagged(
    world: World, browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    soon = (runtime.clock() + timedelta(days=10)).date().isoformat()
    await _proposed(world, [TRUST, COUNCIL], title="Review soon", review_date=soon)
    await sign_in(browser, IG_LEAD)

    text = visible_text(await browser.get("/ig/agreements"))

    assert "review due in 10 days" in text


async def test_detail_shows_terms_then_an_empty_approve_form_for_the_viewers_agency(
    world: World, browser: httpx.AsyncClient
) -> None:
    agreement_id = await _proposed(world, [TRUST, COUNCIL], retention_days=365)
    await sign_in(browser, IG_LEAD)

    page = await browser.get(f"/ig/agreements/{agreement_id}")

    text = visible_text(page)
    assert page.status_code == 200
    for shown in (
        "risk.changed",
        "direct_care",
        "public_task",
        "health_social_care",
        "365 days",
        "Approve these terms for RX4",
        "not yet approved",
    ):
        assert shown in text
    # The approval is the approver's own act: nothing is filled in for them, and the form
    # comes after the terms it approves.
    assert f'value="{IG_LEAD}"' not in page.text and 'value="IG lead"' not in page.text
    assert text.index("Retention") < text.index("Approve these terms for RX4")


async def test_approve_form_records_the_named_approval_and_says_so(
    world: World, browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    agreement_id = await _proposed(world, [TRUST, COUNCIL])
    await sign_in(browser, IG_LEAD)
    detail = f"/ig/agreements/{agreement_id}"

    response = await post_form(browser, f"{detail}/approve", APPROVER, token_from=detail)

    assert response.status_code == 303
    page = visible_text(await browser.get(response.headers["location"]))
    assert "approval has been recorded" in page
    assert "RX4: approved by Jo Bloggs (Caldicott Guardian)" in page
    assert "Approve for RX4" not in page
    approvals = await _approvals(runtime, agreement_id)
    assert approvals == {TRUST: {"name": "Jo Bloggs", "role": "Caldicott Guardian"}, COUNCIL: None}
    async with runtime.db.unit_of_work() as session:
        records = (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.actor_client == f"user:{IG_LEAD}")
            )
        ).all()
        approved = [
            (r.actor_agency, r.detail["agreement_id"])
            for r in records
            if r.event == "agreement.approved"
        ]
    assert approved == [(TRUST, agreement_id)]


async def test_the_last_approval_puts_the_agreement_in_force(
    world: World, browser: httpx.AsyncClient
) -> None:
    agreement_id = await _proposed(world, [TRUST, COUNCIL])
    await world.approve(agreement_id, [COUNCIL])
    await sign_in(browser, IG_LEAD)
    detail = f"/ig/agreements/{agreement_id}"

    await post_form(browser, f"{detail}/approve", APPROVER, token_from=detail)

    text = visible_text(await browser.get(detail))
    assert "Version 1 · active" in text


async def test_approve_without_or_with_a_wrong_form_token_is_403_and_records_nothing(
    world: World, browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    agreement_id = await _proposed(world, [TRUST, COUNCIL])
    await sign_in(browser, IG_LEAD)
    path = f"/ig/agreements/{agreement_id}/approve"

    missing = await browser.post(path, data=APPROVER)
    wrong = await browser.post(path, data={**APPROVER, "csrf_token": "forged"})

    assert missing.status_code == wrong.status_code == 403
    assert "form has expired" in visible_text(missing)
    assert await _approvals(runtime, agreement_id) == {TRUST: None, COUNCIL: None}


async def test_approve_without_a_name_is_refused_and_records_nothing(
    world: World, browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    agreement_id = await _proposed(world, [TRUST, COUNCIL])
    await sign_in(browser, IG_LEAD)
    detail = f"/ig/agreements/{agreement_id}"

    response = await post_form(
        browser, f"{detail}/approve", {**APPROVER, "approver_name": " "}, token_from=detail
    )

    assert response.status_code == 422
    assert "approval was not recorded" in visible_text(response)
    assert await _approvals(runtime, agreement_id) == {TRUST: None, COUNCIL: None}


async def test_another_agencys_agreement_is_a_404_page(
    world: World, browser: httpx.AsyncClient, runtime: Runtime
) -> None:
    agreement_id = await _proposed(world, [TRUST, COUNCIL])
    await sign_in(browser, GP_LEAD)
    detail = f"/ig/agreements/{agreement_id}"

    page = await browser.get(detail)
    approve = await post_form(browser, f"{detail}/approve", APPROVER, token_from="/ig/agreements")

    assert page.status_code == approve.status_code == 404
    assert "belongs to another agency" in visible_text(page)
    assert await _approvals(runtime, agreement_id) == {TRUST: None, COUNCIL: None}
    assert (await browser.get("/ig/agreements/not-an-id")).status_code == 404


async def test_other_roles_get_a_403_page(world: World, browser: httpx.AsyncClient) -> None:
    agreement_id = await _proposed(world, [TRUST, COUNCIL])
    await sign_in(browser, DUTY)

    for path in ("/ig/agreements", f"/ig/agreements/{agreement_id}", "/ig/overrides"):
        page = await browser.get(path)
        assert page.status_code == 403
        assert "for IG leads; your role is duty" in visible_text(page)
