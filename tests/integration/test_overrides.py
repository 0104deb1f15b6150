"""Overriding a person's refusal: permitted only with a qualifying override, always reviewed."""

from typing import Any

import pytest

from broker.db.models import AuditRecord, Override
from schemas.vocabulary import Scope
from tests.rows import row_counts
from tests.world import (
    COUNCIL,
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

RECORDER = {"name": "A. Patel", "role": "care coordinator"}
OVERRIDE = SAFEGUARDING_OVERRIDE
REVIEW = {
    "outcome": "upheld",
    "note": "Proportionate: risk of serious harm, refusal recorded and weighed.",
    "reviewed_by": {"name": "I. Gov", "role": "IG lead"},
}


async def _refuse_housing(world: World) -> None:
    body = {"state": "refused", "scope": {"recipients": [HOUSING]}, "recorded_by": RECORDER}
    response = await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", body)
    assert response.status_code == 201, response.text


async def _settled(world: World, message_id: str) -> dict[str, Any]:
    async def status() -> dict[str, Any]:
        body: dict[str, Any] = (await world.get(TRUST, f"/v1/events/{message_id}")).json()
        return body

    def done(body: dict[str, Any]) -> bool:
        recipients = body["recipients"]
        return bool(recipients) and all(r["status"] != "pending" for r in recipients)

    return await eventually(status, done)


async def _overridden_to_housing(world: World) -> dict[str, Any]:
    await world.agree([TRUST, HOUSING], lawful_basis=SAFEGUARDING_BASIS)
    await _refuse_housing(world)
    event = risk_event(recipients=[HOUSING], purpose="safeguarding", override=OVERRIDE)
    accepted = await world.post(TRUST, "/v1/events", event)
    assert accepted.status_code == 202, accepted.text
    status = await _settled(world, accepted.json()["message_id"])
    (housing,) = status["recipients"]
    return housing


async def test_override_with_safeguarding_basis_delivers_against_a_refusal(world: World) -> None:
    housing = await _overridden_to_housing(world)

    assert housing["decision"] == "permit_override"
    assert housing["status"] == "delivered"
    assert "override:safeguarding_adult_at_risk" in housing["bases"]
    assert "dpa_sch1:para_18" in housing["bases"]
    assert housing["override"]["review_status"] == "open"
    assert housing["override"]["authorised_by"] == OVERRIDE["authorised_by"]
    assert [i["type"] for i in await world.inbox(HOUSING)] == ["risk.changed"]


async def test_refusal_without_override_withholds(world: World) -> None:
    await _refuse_housing(world)
    accepted = await world.publish(recipients=[HOUSING, COUNCIL])

    status = await _settled(world, accepted.json()["message_id"])

    by_agency = {r["agency"]: r for r in status["recipients"]}
    assert by_agency[HOUSING]["decision"] == "deny"
    assert by_agency[HOUSING]["reason"] == "consent_refused"
    assert by_agency[HOUSING]["override"] is None
    assert by_agency[COUNCIL]["decision"] == "permit"
    assert await world.inbox(HOUSING) == []


async def test_override_for_routine_direct_care_does_not_set_aside_a_refusal(
    world: World,
) -> None:
    await world.agree([TRUST, HOUSING], lawful_basis=SAFEGUARDING_BASIS)
    await _refuse_housing(world)
    event = risk_event(recipients=[HOUSING], urgency="routine", override=OVERRIDE)

    status = await _settled(
        world, (await world.post(TRUST, "/v1/events", event)).json()["message_id"]
    )

    (housing,) = status["recipients"]
    assert housing["decision"] == "deny"
    assert "override" in housing["explanation"].lower()
    assert (await world.get(TRUST, "/v1/overrides", status="open")).json()["items"] == []


async def test_override_opens_a_review_item_for_both_agencies_only(world: World) -> None:
    await _overridden_to_housing(world)

    seen = {
        agency: (await world.get(agency, "/v1/overrides", status="open")).json()["items"]
        for agency in (TRUST, HOUSING, COUNCIL)
    }

    assert len(seen[TRUST]) == 1 and seen[HOUSING] == seen[TRUST]
    assert seen[COUNCIL] == []
    item = seen[TRUST][0]
    assert item["reason"] == "safeguarding_adult_at_risk"
    assert item["justification"] == OVERRIDE["justification"]
    assert (item["sender"], item["recipient"]) == (TRUST, HOUSING)


async def test_review_closes_the_item_and_is_audited(world: World) -> None:
    housing = await _overridden_to_housing(world)
    (item,) = (await world.get(HOUSING, "/v1/overrides", status="open")).json()["items"]

    reviewed = await world.post(HOUSING, f"/v1/overrides/{item['id']}/review", REVIEW)
    again = await world.post(TRUST, f"/v1/overrides/{item['id']}/review", REVIEW)

    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["outcome"] == "upheld"
    assert reviewed.json()["note"] == REVIEW["note"]
    assert again.status_code == 409
    assert (await world.get(TRUST, "/v1/overrides", status="open")).json()["items"] == []
    closed = (await world.get(TRUST, "/v1/overrides", status="closed")).json()["items"]
    assert [c["id"] for c in closed] == [item["id"]]
    trail = (await world.get(TRUST, f"/v1/audit/messages/{item['message_id']}")).json()
    events = [r["event"] for r in trail["records"]]
    assert "override.opened" in events and events[-1] == "override.reviewed"
    assert trail["records"][-1]["detail"]["outcome"] == "upheld"
    status = (await world.get(TRUST, f"/v1/events/{item['message_id']}")).json()
    assert status["recipients"][0]["override"]["review_outcome"] == "upheld"
    assert housing["delivery_id"] == item["delivery_id"]


async def test_another_agency_cannot_review_and_bad_reviews_write_nothing(
    world: World,
) -> None:
    await _overridden_to_housing(world)
    (item,) = (await world.get(TRUST, "/v1/overrides", status="open")).json()["items"]
    path = f"/v1/overrides/{item['id']}/review"
    before = await row_counts(world.rt, AuditRecord, Override)

    outsider = await world.post(COUNCIL, path, REVIEW)
    no_note = await world.post(TRUST, path, {"outcome": "upheld"})
    bad_outcome = await world.post(TRUST, path, {**REVIEW, "outcome": "maybe"})
    unknown = await world.post(
        TRUST, "/v1/overrides/5f0c1a3e-1111-4a4a-9a9a-0123456789ab/review", REVIEW
    )

    assert outsider.status_code == 404
    assert no_note.status_code == 422 and ["body", "note"] in [
        e["loc"] for e in no_note.json()["errors"]
    ]
    assert bad_outcome.status_code == 422
    assert unknown.status_code == 404
    assert await row_counts(world.rt, AuditRecord, Override) == before
    still_open = (await world.get(TRUST, "/v1/overrides", status="open")).json()["items"]
    assert [i["id"] for i in still_open] == [item["id"]]


async def test_overrides_queue_needs_the_governance_scope(world: World) -> None:
    token = await world.token_for(GP, [Scope.INBOX_READ])
    response = await world.api.get("/v1/overrides", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
