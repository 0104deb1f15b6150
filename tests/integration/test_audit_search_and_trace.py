"""Auditors search the trail and trace a subject; an agency sees only its own part of it."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from broker.db.models import AuditRecord
from schemas.vocabulary import Scope
from tests.integration.deadlines import (
    ACK,
    SECOND,
    deliveries_of,
    dispatched_here,
    pass_at,
    routed_here,
)
from tests.world import (
    CARE_TEAM,
    COUNCIL,
    GP,
    HOUSING,
    NHS_NUMBER,
    OTHER_NHS_NUMBER,
    TRUST,
    World,
    crisis_event,
    risk_event,
)

ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
REGULATOR = "CQC"
EVIDENCE = "Agreed at the ward round after discussing his low mood and the eviction."
TRIGGER = "Talks of walking to the railway bridge"
COMMUNICATION = "Lead calls each partner within the hour; sister is next of kin."
PLAN_LEAD = {"name": "D. Okafor", "role": "AMHP"}


async def _as_regulator(world: World) -> None:
    world.tokens[REGULATOR] = await world.token_for(REGULATOR, [Scope.AUDIT_READ, Scope.AUDIT_ALL])


async def _records(world: World, who: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a search, following the cursor."""
    items: list[dict[str, Any]] = []
    while True:
        response = await world.get(who, "/v1/audit/records", **params)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return items
        params = {**params, "cursor": body["next_cursor"]}


async def test_search_filters_and_pages_and_an_agency_sees_only_its_own(world: World) -> None:
    await _as_regulator(world)
    to_council = await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))
    to_housing = await routed_here(world, TRUST, risk_event(recipients=[HOUSING]))
    await dispatched_here(world.rt, [to_council, to_housing])

    everything = await _records(world, REGULATOR, limit=2)
    council = await _records(world, COUNCIL, limit=2)
    decided = await _records(world, REGULATOR, event="delivery.decided", subject=NHS_NUMBER)
    housing_by_regulator = await _records(world, REGULATOR, agency=HOUSING)
    future = await _records(world, REGULATOR, **{"from": datetime.now(UTC) + timedelta(days=1)})

    ids = [r["id"] for r in everything]
    assert ids == sorted(set(ids))
    assert {r["message_id"] for r in everything} >= {str(to_council), str(to_housing)}
    assert {r["message_id"] for r in council if r["message_id"]} == {str(to_council)}
    assert {r["event"] for r in council} >= {"event.received", "delivery.decided"}
    assert [(r["event"], r["message_id"]) for r in decided] == [
        ("delivery.decided", str(to_council)),
        ("delivery.decided", str(to_housing)),
    ]
    assert all(r["subject"] and r["subject"] != NHS_NUMBER for r in decided)
    assert str(to_council) not in {r["message_id"] for r in housing_by_regulator}
    assert str(to_housing) in {r["message_id"] for r in housing_by_regulator}
    assert future == []


@ONE_DATABASE
async def test_bad_search_filters_are_422_with_the_field_path(world: World) -> None:
    cases = {
        ("query", "subject"): {"subject": "1234567890"},
        ("query", "from"): {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        ("query", "event"): {"event": "payload.stolen"},
        ("query", "cursor"): {"cursor": "not-a-cursor"},
    }
    for loc, params in cases.items():
        response = await world.get(COUNCIL, "/v1/audit/records", **params)

        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [tuple(e["loc"]) for e in response.json()["errors"]] == [loc]


async def test_trace_shows_a_missed_crisis_deadline_and_its_escalation_in_order(
    world: World,
) -> None:
    await _as_regulator(world)
    message_id = await routed_here(world, TRUST, crisis_event(recipients=[COUNCIL, HOUSING]))
    await dispatched_here(world.rt, [message_id])
    council_delivery = (await deliveries_of(world.rt, message_id))[COUNCIL]
    assert council_delivery.ack_by is not None
    assert (await world.get(COUNCIL, f"/v1/inbox/{council_delivery.id}")).status_code == 200
    await pass_at(world.rt, council_delivery.ack_by + SECOND)
    acked = await world.post(COUNCIL, f"/v1/inbox/{council_delivery.id}/ack", ACK)
    assert acked.status_code == 200, acked.text
    path = f"/v1/audit/subjects/{NHS_NUMBER}/trace"

    regulator = await world.get(REGULATOR, path)
    council = await world.get(COUNCIL, path)
    gp = await world.get(GP, path)

    assert regulator.status_code == 200, regulator.text
    (message,) = regulator.json()["messages"]
    assert (message["sender"], message["type"], message["urgency"]) == (
        TRUST,
        "crisis.occurred",
        "emergency",
    )
    late = {r["agency"]: r for r in message["recipients"]}[COUNCIL]
    assert late["decision"] == "permit" and late["bases"]
    steps = [
        late["decided_at"],
        late["delivered_at"],
        late["received_at"],
        late["ack_by"],
        late["breaches"][0]["recorded_at"],
        late["escalations"][0]["opened_at"],
        late["acknowledged_at"],
    ]
    assert all(steps) and steps == sorted(steps, key=datetime.fromisoformat)
    assert late["breaches"][0]["breach"] == "acknowledgement"
    assert late["breached"] is True and late["outcome"] == ACK["outcome"]
    assert late["escalations"][0]["reference"]
    assert {r["agency"] for r in message["recipients"]} == {COUNCIL, HOUSING}
    assert [r["agency"] for r in council.json()["messages"][0]["recipients"]] == [COUNCIL]
    assert gp.status_code == 404
    trail = (await world.get(COUNCIL, f"/v1/audit/messages/{message_id}")).json()
    (own,) = trail["deliveries"]
    assert (own["agency"], own["decision"], own["breached"]) == (COUNCIL, "permit", True)
    assert own["ack_by"] == late["ack_by"] and own["outcome"] == ACK["outcome"]
    whole = (await world.get(REGULATOR, f"/v1/audit/messages/{message_id}")).json()
    assert {d["agency"] for d in whole["deliveries"]} == {COUNCIL, HOUSING}


async def _consent(world: World, who: str, nhs_number: str, **body: Any) -> None:
    consent = {
        "state": "given_explicit",
        "scope": {"recipients": [COUNCIL], "purposes": ["direct_care"]},
        "recorded_by": {"name": f"Recorder at {who}", "role": "care coordinator"},
        "evidence": EVIDENCE,
        **body,
    }
    response = await world.post(who, f"/v1/subjects/{nhs_number}/consents", consent)
    assert response.status_code == 201, response.text


async def _active_crisis_plan(world: World) -> str:
    """COUNCIL proposes a plan with TRUST, TRUST confirms it (so it is active) and reads it."""
    plans = f"/v1/subjects/{NHS_NUMBER}/crisis-plans"
    plan = {
        "partners": [
            {"agency": COUNCIL, "role": "AMHP service: leads the response"},
            {"agency": TRUST, "role": "home treatment team"},
        ],
        "lead_agency": COUNCIL,
        "ack_within": "PT5M",
        "triggers": [TRIGGER],
        "escalation_routes": ["Home treatment team, then the AMHP on duty"],
        "communication_plan": COMMUNICATION,
        "proposed_by": PLAN_LEAD,
    }
    proposed = await world.post(COUNCIL, plans, plan)
    assert proposed.status_code == 201, proposed.text
    plan_id: str = proposed.json()["id"]
    confirmation = {"confirmed_by": {"name": "E. Nwosu", "role": "team manager"}}
    confirmed = await world.post(TRUST, f"{plans}/{plan_id}/confirmations", confirmation)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "active"
    assert (await world.get(TRUST, f"{plans}/{plan_id}")).status_code == 200
    return plan_id


def _events(trace: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(g["event"], g["agency"]) for g in trace["governance"]]


async def test_trace_shows_consent_and_crisis_plan_events_to_whom_they_concern(
    world: World,
) -> None:
    await _as_regulator(world)
    message_id = await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))
    await _consent(world, TRUST, NHS_NUMBER)
    await _consent(world, HOUSING, NHS_NUMBER, state="objection_recorded")
    plan_id = await _active_crisis_plan(world)
    path = f"/v1/audit/subjects/{NHS_NUMBER}/trace"

    regulator = await world.get(REGULATOR, path)
    trust = (await world.get(TRUST, path)).json()
    council = (await world.get(COUNCIL, path)).json()
    housing = await world.get(HOUSING, path)

    assert regulator.status_code == 200, regulator.text
    everything = regulator.json()
    assert [m["message_id"] for m in everything["messages"]] == [str(message_id)]
    plan_events = [
        ("crisis_plan.proposed", COUNCIL),
        ("crisis_plan.confirmed", COUNCIL),
        ("crisis_plan.confirmed", TRUST),
        ("crisis_plan.activated", TRUST),
        ("payload.viewed", TRUST),
    ]
    assert _events(everything) == [
        ("care_team.replaced", TRUST),
        ("consent.recorded", TRUST),
        ("consent.recorded", HOUSING),
        *plan_events,
    ]
    moments = [g["recorded_at"] for g in everything["governance"]]
    assert moments == sorted(moments, key=datetime.fromisoformat)
    by_event = {(g["event"], g["agency"]): g["detail"] for g in everything["governance"]}
    assert by_event[("consent.recorded", TRUST)]["state"] == "given_explicit"
    assert by_event[("consent.recorded", TRUST)]["scope"]["recipients"] == [COUNCIL]
    assert by_event[("consent.recorded", HOUSING)]["state"] == "objection_recorded"
    assert by_event[("crisis_plan.activated", TRUST)] == {
        "crisis_plan_id": plan_id,
        "lead_agency": COUNCIL,
        "supersedes": None,
    }
    assert by_event[("crisis_plan.confirmed", TRUST)]["awaiting"] == []
    assert by_event[("payload.viewed", TRUST)]["crisis_plan_id"] == plan_id
    # The plan's partner sees the plan's events and not the consent another agency recorded.
    assert _events(council) == plan_events
    own = [("care_team.replaced", TRUST), ("consent.recorded", TRUST)]
    assert _events(trust) == [*own, *plan_events]
    # HOUSING sent nothing, received nothing, partners no plan: only its own consent record.
    assert housing.status_code == 200, housing.text
    assert housing.json()["messages"] == []
    assert _events(housing.json()) == [("consent.recorded", HOUSING)]


async def test_trace_shows_no_sealed_content_no_free_text_and_no_nhs_number(
    world: World,
) -> None:
    await _as_regulator(world)
    await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))
    await _consent(world, TRUST, NHS_NUMBER)
    await _active_crisis_plan(world)

    response = await world.get(REGULATOR, f"/v1/audit/subjects/{NHS_NUMBER}/trace")

    assert response.status_code == 200, response.text
    text = response.text
    assert response.json()["governance"]
    payload = risk_event()["payload"]
    never_shown = [
        NHS_NUMBER,
        EVIDENCE,
        TRIGGER,
        COMMUNICATION,
        PLAN_LEAD["name"],
        "E. Nwosu",
        "AMHP service",
        "Recorder at",
        payload["rationale"],
        *(member["named_lead"] for member in CARE_TEAM["members"]),
    ]
    assert [phrase for phrase in never_shown if phrase in text] == []


async def test_a_subject_with_only_consent_records_is_traced_for_whom_may_see_them(
    world: World,
) -> None:
    await _as_regulator(world)
    team = {"members": [{**CARE_TEAM["members"][0], "agency": TRUST}]}
    created = await world.put(TRUST, f"/v1/subjects/{OTHER_NHS_NUMBER}/care-team", team)
    assert created.status_code == 200, created.text
    await _consent(world, TRUST, OTHER_NHS_NUMBER, state="withdrawn")
    path = f"/v1/audit/subjects/{OTHER_NHS_NUMBER}/trace"

    regulator = await world.get(REGULATOR, path)
    trust = await world.get(TRUST, path)
    council = await world.get(COUNCIL, path)

    assert regulator.status_code == 200, regulator.text
    assert regulator.json()["messages"] == []
    team_replaced, consent = regulator.json()["governance"]
    assert team_replaced["event"] == "care_team.replaced"
    assert (consent["event"], consent["agency"], consent["detail"]["state"]) == (
        "consent.recorded",
        TRUST,
        "withdrawn",
    )
    assert trust.status_code == 200 and trust.json()["governance"] == [team_replaced, consent]
    assert council.status_code == 404


async def test_looking_up_a_trace_is_audited_whether_anything_is_found_or_not(
    world: World,
) -> None:
    await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))

    found = await world.get(COUNCIL, f"/v1/audit/subjects/{NHS_NUMBER}/trace")
    nothing = await world.get(COUNCIL, f"/v1/audit/subjects/{OTHER_NHS_NUMBER}/trace")

    assert (found.status_code, nothing.status_code) == (200, 404)
    async with world.rt.db.unit_of_work() as session:
        looked_up = (
            await session.execute(
                select(AuditRecord.actor_agency, AuditRecord.subject_pseudonym, AuditRecord.detail)
                .where(AuditRecord.event == "audit.subject_traced")
                .order_by(AuditRecord.id)
            )
        ).all()
    pseudonym = world.rt.pseudonymiser.pseudonym
    assert [(agency, subject) for agency, subject, _ in looked_up] == [
        (COUNCIL, pseudonym(NHS_NUMBER)),
        (COUNCIL, pseudonym(OTHER_NHS_NUMBER)),
    ]
    assert looked_up[0][2]["messages"] == 1 and looked_up[1][2]["messages"] == 0
