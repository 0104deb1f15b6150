"""The overrides page: the open queue an IG lead's agency is party to, and review by form."""

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from broker.db.models import AuditRecord, Override
from broker.runtime import Runtime
from tests.rows import row_counts
from tests.web import add_person, post_form, sign_in, visible_text, web_client
from tests.world import (
    GP,
    HOUSING,
    NHS_NUMBER,
    SAFEGUARDING_BASIS,
    SAFEGUARDING_OVERRIDE,
    TRUST,
    World,
    eventually,
    risk_event,
)

pytestmark = pytest.mark.usefixtures("pipeline")

HOUSING_LEAD, GP_LEAD = "ig.housing", "ig.gp"
OVERRIDE = SAFEGUARDING_OVERRIDE
REVIEW = {"outcome": "upheld", "note": "Proportionate to the risk.", "reviewer_name": "I. Gov"}


@pytest.fixture
async def browser(world: World, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await add_person(runtime, HOUSING_LEAD, HOUSING)
    await add_person(runtime, GP_LEAD, GP)
    async with web_client(runtime) as client:
        yield client


async def _override_to_housing(world: World, runtime: Runtime) -> str:
    """A safeguarding alert sent to housing against the person's refusal; the override's id."""
    await world.agree([TRUST, HOUSING], lawful_basis=SAFEGUARDING_BASIS)
    refusal = {
        "state": "refused",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": {"name": "A. Patel", "role": "care coordinator"},
    }
    response = await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", refusal)
    assert response.status_code == 201, response.text
    event = risk_event(recipients=[HOUSING], purpose="safeguarding", override=OVERRIDE)
    assert (await world.post(TRUST, "/v1/events", event)).status_code == 202

    async def overrides() -> list[Override]:
        async with runtime.db.unit_of_work() as session:
            found = list((await session.scalars(select(Override))).all())
            session.expunge_all()
            return found

    (item,) = await eventually(overrides, lambda found: len(found) == 1)
    return str(item.id)


async def _status(runtime: Runtime, override_id: str) -> dict[str, Any]:
    async with runtime.db.unit_of_work() as session:
        item = await session.get(Override, UUID(override_id))
        assert item is not None
        return {"status": item.status, "outcome": item.outcome, "reviewed_by": item.reviewed_by}


async def test_queue_shows_the_override_and_a_review_closes_it(
    world: World, runtime: Runtime, browser: httpx.AsyncClient
) -> None:
    override_id = await _override_to_housing(world, runtime)
    await sign_in(browser, HOUSING_LEAD)

    queue = visible_text(await browser.get("/ig/overrides"))
    for shown in (
        "risk.changed",
        "urgent",
        "RX4 → HOU01",
        "safeguarding adult at risk",
        OVERRIDE["authorised_by"],
        OVERRIDE["justification"],
    ):
        assert shown in queue
    path = f"/ig/overrides/{override_id}/review"
    response = await post_form(browser, path, REVIEW, token_from="/ig/overrides")

    assert response.status_code == 303
    after = visible_text(await browser.get(response.headers["location"]))
    assert "review has been recorded" in after
    assert "No overrides are waiting for review" in after
    closed = await _status(runtime, override_id)
    assert (closed["status"], closed["outcome"]) == ("closed", "upheld")
    assert closed["reviewed_by"]["person"] == {"name": "I. Gov", "role": "IG lead"}
    assert closed["reviewed_by"]["client"] == f"user:{HOUSING_LEAD}"


async def test_review_without_the_form_token_is_403_and_leaves_it_open(
    world: World, runtime: Runtime, browser: httpx.AsyncClient
) -> None:
    override_id = await _override_to_housing(world, runtime)
    await sign_in(browser, HOUSING_LEAD)

    response = await browser.post(f"/ig/overrides/{override_id}/review", data=REVIEW)

    assert response.status_code == 403
    assert (await _status(runtime, override_id))["status"] == "open"


async def test_an_agency_not_involved_neither_sees_nor_reviews_the_override(
    world: World, runtime: Runtime, browser: httpx.AsyncClient
) -> None:
    override_id = await _override_to_housing(world, runtime)
    await sign_in(browser, GP_LEAD)

    queue = visible_text(await browser.get("/ig/overrides"))
    path = f"/ig/overrides/{override_id}/review"
    response = await post_form(browser, path, REVIEW, token_from="/ig/overrides")

    assert "No overrides are waiting for review" in queue
    assert response.status_code == 404
    assert (await _status(runtime, override_id))["status"] == "open"


async def test_the_review_form_chooses_nothing_and_a_review_without_an_outcome_writes_nothing(
    world: World, runtime: Runtime, browser: httpx.AsyncClient
) -> None:
    override_id = await _override_to_housing(world, runtime)
    await sign_in(browser, HOUSING_LEAD)
    before = await row_counts(runtime, AuditRecord)

    queue = await browser.get("/ig/overrides")
    unchosen = {key: value for key, value in REVIEW.items() if key != "outcome"}
    refused = await post_form(
        browser, f"/ig/overrides/{override_id}/review", unchosen, token_from="/ig/overrides"
    )

    assert "checked" not in queue.text and "selected" not in queue.text
    assert f'value="{HOUSING_LEAD}"' not in queue.text  # the reviewer names themselves
    assert refused.status_code == 422
    assert "The review was not recorded: form.outcome: choose upheld or not upheld" in (
        visible_text(refused)
    )
    assert (await _status(runtime, override_id))["status"] == "open"
    assert await row_counts(runtime, AuditRecord) == before
