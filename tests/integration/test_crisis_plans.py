"""Crisis plans: in force once every partner confirms; a crisis then reaches every partner,
the lead agency first, each through the consent gate and within the plan's own times."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from broker.db.models import AuditRecord, CrisisPlan, CrisisPlanPartner, Subject
from tests.rows import row_counts
from tests.world import (
    COUNCIL,
    GP,
    HOUSING,
    NHS_NUMBER,
    OTHER_NHS_NUMBER,
    TRUST,
    World,
    eventually,
    risk_event,
)

PLANS = f"/v1/subjects/{NHS_NUMBER}/crisis-plans"
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
TRIGGER = "Talks of walking to the railway bridge"


def plan_body(**overrides: Any) -> dict[str, Any]:
    """COUNCIL leads; TRUST, HOUSING and GP respond. Partners answer within 5 minutes, except
    the GP, whose own 30 minutes is longer than the crisis policy's 10 at immediate risk."""
    body: dict[str, Any] = {
        "partners": [
            {"agency": COUNCIL, "role": "AMHP service: leads the response"},
            {"agency": TRUST, "role": "home treatment team"},
            {"agency": HOUSING, "role": "tenancy officer checks on the flat"},
            {"agency": GP, "role": "medication review", "ack_within": "PT30M"},
        ],
        "lead_agency": COUNCIL,
        "ack_within": "PT5M",
        "triggers": [TRIGGER, "Stops answering the door to support workers"],
        "escalation_routes": [
            "Home treatment team, then the AMHP on duty",
            {"step": "out of hours", "contact": "Crisis line 0300 000 0000"},
        ],
        "communication_plan": "Lead calls each partner within the hour; sister is next of kin.",
        "proposed_by": {"name": "D. Okafor", "role": "AMHP"},
    }
    body.update(overrides)
    return body


def crisis_event(**payload: Any) -> dict[str, Any]:
    return risk_event(
        type="crisis.occurred",
        urgency="emergency",
        payload={
            "started_at": datetime.now(UTC).isoformat(),
            "presentation": "Found on the railway bridge by police, brought to A&E.",
            "immediate_risk": True,
            "escalation_summary": {
                "what_has_been_done": "Section 136 assessment under way.",
                "what_has_changed": "First crisis since discharge.",
                "what_is_requested": "Partners follow the crisis plan.",
            },
            **payload,
        },
    )


async def _propose(world: World, who: str = COUNCIL, **overrides: Any) -> dict[str, Any]:
    response = await world.post(who, PLANS, plan_body(**overrides))
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


async def _confirm(world: World, plan_id: str, *agencies: str) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for agency in agencies:
        person = {"name": f"Crisis lead of {agency}", "role": "team manager"}
        response = await world.post(
            agency, f"{PLANS}/{plan_id}/confirmations", {"confirmed_by": person}
        )
        assert response.status_code == 200, response.text
        view = response.json()
    return view


async def _crisis_settled(world: World, **payload: Any) -> dict[str, Any]:
    accepted = await world.post(TRUST, "/v1/events", crisis_event(**payload))
    assert accepted.status_code == 202, accepted.text
    path = f"/v1/events/{accepted.json()['message_id']}"

    async def status() -> dict[str, Any]:
        body: dict[str, Any] = (await world.get(TRUST, path)).json()
        return body

    def settled(body: dict[str, Any]) -> bool:
        recipients = body["recipients"]
        return bool(recipients) and all(r["status"] != "pending" for r in recipients)

    return await eventually(status, settled)


async def _decided(world: World, message_id: str) -> list[dict[str, Any]]:
    """The delivery.decided audit details, in the order the deliveries were decided."""
    trail = (await world.get(TRUST, f"/v1/audit/messages/{message_id}")).json()
    return [r["detail"] for r in trail["records"] if r["event"] == "delivery.decided"]


async def _plan_events(world: World) -> list[tuple[str, str | None]]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.execute(
            select(AuditRecord.event, AuditRecord.actor_agency)
            .where(AuditRecord.event.like("crisis_plan.%"))
            .order_by(AuditRecord.id)
        )
        return [(event, agency) for event, agency in rows.all()]


async def test_the_last_confirmation_activates_a_plan_and_supersedes_the_previous_one(
    world: World,
) -> None:
    first = await _propose(world)
    await _confirm(world, first["id"], TRUST, HOUSING)
    still_proposed = (await world.get(GP, f"{PLANS}/{first['id']}")).json()

    activated = await _confirm(world, first["id"], GP)
    second = await _propose(world, TRUST, lead_agency=TRUST, ack_within=None)
    await _confirm(world, second["id"], COUNCIL, HOUSING, GP)

    assert first["status"] == "proposed"
    assert [p["agency"] for p in first["partners"] if p["confirmed_at"]] == [COUNCIL]
    assert still_proposed["status"] == "proposed"
    assert [p["agency"] for p in still_proposed["partners"] if not p["confirmed_at"]] == [GP]
    assert activated["status"] == "active" and activated["activated_at"] is not None
    assert activated["triggers"] == plan_body()["triggers"]
    assert activated["escalation_routes"][1]["contact"] == "Crisis line 0300 000 0000"
    plans = (await world.get(HOUSING, PLANS)).json()["items"]
    assert [(p["id"], p["status"]) for p in plans] == [
        (second["id"], "active"),
        (first["id"], "superseded"),
    ]
    assert plans[1]["ended_at"] is not None
    assert await _plan_events(world) == [
        ("crisis_plan.proposed", COUNCIL),
        ("crisis_plan.confirmed", COUNCIL),
        ("crisis_plan.confirmed", TRUST),
        ("crisis_plan.confirmed", HOUSING),
        ("crisis_plan.confirmed", GP),
        ("crisis_plan.activated", GP),
        ("crisis_plan.proposed", TRUST),
        ("crisis_plan.confirmed", TRUST),
        ("crisis_plan.confirmed", COUNCIL),
        ("crisis_plan.confirmed", HOUSING),
        ("crisis_plan.confirmed", GP),
        ("crisis_plan.superseded", GP),
        ("crisis_plan.activated", GP),
    ]
    async with world.rt.db.unit_of_work() as session:
        sealed = [p.content_sealed for p in await session.scalars(select(CrisisPlan))]
    assert all(TRIGGER.encode() not in blob for blob in sealed)


@pytest.mark.usefixtures("pipeline")
async def test_a_crisis_before_the_last_confirmation_goes_to_the_care_team_only(
    world: World,
) -> None:
    await world.agree([TRUST, GP])
    plan = await _propose(world)
    await _confirm(world, plan["id"], HOUSING, GP)

    status = await _crisis_settled(world, crisis_plan_id=plan["id"])

    assert [(r["agency"], r["crisis_plan_id"]) for r in status["recipients"]] == [
        (HOUSING, None),
        (COUNCIL, None),
    ]
    assert [d["recipient"] for d in await _decided(world, status["message_id"])] == [
        HOUSING,
        COUNCIL,
    ]


@pytest.mark.usefixtures("pipeline")
async def test_a_crisis_with_an_active_plan_reaches_every_partner_lead_first(
    world: World,
) -> None:
    await world.agree([TRUST, GP])
    refusal = {
        "state": "refused",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": {"name": "A. Patel", "role": "care coordinator"},
    }
    assert (await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", refusal)).is_success
    plan = await _propose(world)
    await _confirm(world, plan["id"], TRUST, HOUSING, GP)

    status = await _crisis_settled(world)

    decided = await _decided(world, status["message_id"])
    assert [d["recipient"] for d in decided] == [COUNCIL, GP, HOUSING]
    assert {d["crisis_plan_id"] for d in decided} == {plan["id"]}
    by_agency = {r["agency"]: r for r in status["recipients"]}
    assert {a: r["crisis_plan_id"] for a, r in by_agency.items()} == dict.fromkeys(
        (COUNCIL, GP, HOUSING), plan["id"]
    )
    assert (by_agency[HOUSING]["decision"], by_agency[HOUSING]["reason"]) == (
        "deny",
        "consent_refused",
    )
    assert by_agency[COUNCIL]["status"] == by_agency[GP]["status"] == "delivered"
    lead, gp = decided[0]["timeframe"], decided[1]["timeframe"]
    assert (lead["ack_within"], lead["tightened_by"]) == ("PT5M", [f"crisis_plan:{plan['id']}"])
    # The crisis is at immediate risk: the policy's ten minutes beat the GP's own thirty.
    assert (gp["ack_within"], gp["tightened_by"]) == ("PT10M", [])
    council = by_agency[COUNCIL]
    waited = datetime.fromisoformat(council["ack_by"]) - datetime.fromisoformat(
        council["decided_at"]
    )
    assert timedelta(minutes=4) < waited <= timedelta(minutes=5)
    (item,) = await world.inbox(COUNCIL)
    assert item["crisis_plan_id"] == plan["id"]
    fetched = (await world.get(COUNCIL, f"/v1/inbox/{item['delivery_id']}")).json()
    assert fetched["crisis_plan_id"] == plan["id"]


@ONE_DATABASE
async def test_bad_plans_are_refused_with_the_field_path_and_write_nothing(
    world: World,
) -> None:
    path = f"/v1/subjects/{OTHER_NHS_NUMBER}/crisis-plans"
    partners = plan_body()["partners"]
    cases = {
        ("body", "partners", 3, "agency"): plan_body(
            partners=[*partners[:3], {"agency": "ZZZ99", "role": "unknown"}]
        ),
        ("body", "lead_agency"): plan_body(partners=partners[:3], lead_agency=GP),
        ("body", "partners"): plan_body(partners=[*partners, partners[1]]),
        ("body", "ack_within"): plan_body(ack_within="PT0S"),
        ("body", "partners", 3, "ack_within"): plan_body(
            partners=[*partners[:3], {**partners[3], "ack_within": "-PT5M"}]
        ),
    }
    models = (CrisisPlan, CrisisPlanPartner, AuditRecord, Subject)
    before = await row_counts(world.rt, *models)

    for loc, body in cases.items():
        response = await world.post(COUNCIL, path, body)
        assert response.status_code == 422, (loc, response.text)
        assert list(loc) in [e["loc"] for e in response.json()["errors"]], response.text
    outsider = await world.post(COUNCIL, path, plan_body(partners=partners[1:], lead_agency=TRUST))

    assert outsider.status_code == 422
    assert outsider.json()["errors"] == [
        {
            "loc": ["body", "partners"],
            "msg": f"{COUNCIL} proposes the plan, so it must be one of its partners",
        }
    ]
    assert await row_counts(world.rt, *models) == before


@ONE_DATABASE
async def test_only_partners_see_or_confirm_a_plan(world: World) -> None:
    plan = await _propose(world, partners=plan_body()["partners"][:2])
    confirm = f"{PLANS}/{plan['id']}/confirmations"
    body = {"confirmed_by": {"name": "E. Reed", "role": "housing manager"}}
    before = await row_counts(world.rt, CrisisPlanPartner, AuditRecord)

    read = await world.get(HOUSING, f"{PLANS}/{plan['id']}")
    listed = await world.get(HOUSING, PLANS)
    confirmed = await world.post(HOUSING, confirm, body)
    wrong_subject = await world.get(
        COUNCIL, f"/v1/subjects/{OTHER_NHS_NUMBER}/crisis-plans/{plan['id']}"
    )
    again = await world.post(COUNCIL, confirm, body)

    assert (read.status_code, confirmed.status_code, wrong_subject.status_code) == (404,) * 3
    assert listed.json()["items"] == []
    assert again.status_code == 409
    assert await row_counts(world.rt, CrisisPlanPartner, AuditRecord) == before
    assert (await world.get(TRUST, f"{PLANS}/{plan['id']}")).json()["status"] == "proposed"
