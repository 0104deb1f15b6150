"""Who may touch a person's records, tried as a hostile partner agency would.

The world's person has a care team of TRUST (coordinator), COUNCIL and HOUSING; GP is a
registered partner with every scope and no relationship to the person.
"""

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from broker.db.models import AuditRecord, CareTeamMember, ConsentRecord, Message, Subject
from tests.integration.deadlines import routed_here
from tests.rows import row_counts
from tests.world import (
    CARE_TEAM,
    COUNCIL,
    GP,
    HOUSING,
    NHS_NUMBER,
    OTHER_NHS_NUMBER,
    TRUST,
    World,
    crisis_plan,
    risk_event,
)

EVIDENCE = "Said at the home visit that she does not want the council told anything."
RECORDER = {"name": "A. Patel", "role": "care coordinator"}
TABLES = (AuditRecord, CareTeamMember, ConsentRecord, Subject)


def _consents(nhs_number: str = NHS_NUMBER) -> str:
    return f"/v1/subjects/{nhs_number}/consents"


def _team(nhs_number: str = NHS_NUMBER) -> str:
    return f"/v1/subjects/{nhs_number}/care-team"


def _refusal(**body: Any) -> dict[str, Any]:
    return {"state": "refused", "recorded_by": RECORDER, "evidence": EVIDENCE, **body}


def _without_instance(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("instance", None)
    return body


def _team_of(*agencies: str, coordinator: str) -> dict[str, Any]:
    return {
        "members": [
            {"agency": a, "role": "worker", "named_lead": "X", "coordinator": a == coordinator}
            for a in agencies
        ]
    }


async def _members(world: World, pseudonym: str) -> set[tuple[str, bool]]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.execute(
            select(CareTeamMember.agency_code, CareTeamMember.coordinator).where(
                CareTeamMember.subject_pseudonym == pseudonym
            )
        )
        return {(agency, coordinator) for agency, coordinator in rows.all()}


async def test_an_outsider_reads_no_consent_record_and_cannot_tell_the_person_is_known(
    world: World,
) -> None:
    assert (await world.post(TRUST, _consents(), _refusal())).status_code == 201
    before = await row_counts(world.rt, *TABLES)

    known = await world.get(GP, _consents())
    unknown = await world.get(GP, _consents(OTHER_NHS_NUMBER))

    assert known.status_code == unknown.status_code == 404
    assert _without_instance(known) == _without_instance(unknown)
    assert EVIDENCE not in known.text and "refused" not in known.text
    assert await row_counts(world.rt, *TABLES) == before


async def test_the_care_team_reads_consent_and_each_read_is_audited(world: World) -> None:
    recorded = (await world.post(TRUST, _consents(), _refusal())).json()

    response = await world.get(HOUSING, _consents())

    assert response.status_code == 200
    assert response.json()["items"][0]["evidence"] == EVIDENCE
    async with world.rt.db.unit_of_work() as session:
        viewed = (
            await session.execute(
                select(
                    AuditRecord.actor_agency, AuditRecord.subject_pseudonym, AuditRecord.detail
                ).where(AuditRecord.event == "consent.viewed")
            )
        ).all()
    pseudonym = world.rt.pseudonymiser.pseudonym(NHS_NUMBER)
    assert [(a, s, d["consent_ids"]) for a, s, d in viewed] == [
        (HOUSING, pseudonym, [recorded["id"]])
    ]
    assert EVIDENCE not in str(viewed)


async def test_an_outsider_records_no_consent_for_a_known_or_unknown_person(
    world: World,
) -> None:
    before = await row_counts(world.rt, *TABLES)

    known = await world.post(GP, _consents(), _refusal())
    unknown = await world.post(GP, _consents(OTHER_NHS_NUMBER), _refusal())

    assert known.status_code == unknown.status_code == 404
    assert _without_instance(known) == _without_instance(unknown)
    assert await row_counts(world.rt, *TABLES) == before


async def test_an_outsider_cannot_make_itself_coordinator(world: World) -> None:
    pseudonym = world.rt.pseudonymiser.pseudonym(NHS_NUMBER)
    before = await row_counts(world.rt, *TABLES)

    hijack = await world.put(GP, _team(), _team_of(GP, TRUST, coordinator=GP))

    assert hijack.status_code == 404
    assert await row_counts(world.rt, *TABLES) == before
    assert await _members(world, pseudonym) == {(TRUST, True), (COUNCIL, False), (HOUSING, False)}


async def test_a_member_who_does_not_coordinate_is_told_so_and_changes_nothing(
    world: World,
) -> None:
    before = await row_counts(world.rt, *TABLES)

    response = await world.put(COUNCIL, _team(), _team_of(COUNCIL, TRUST, coordinator=COUNCIL))

    assert response.status_code == 403
    assert "coordinator" in response.json()["detail"]
    assert await row_counts(world.rt, *TABLES) == before


@pytest.mark.parametrize("who", [TRUST, "admin"])
async def test_the_coordinator_or_an_administrator_replaces_the_team(
    world: World, who: str
) -> None:
    new_team = _team_of(TRUST, COUNCIL, GP, coordinator=COUNCIL)

    response = await world.put(who, _team(), new_team)

    assert response.status_code == 200, response.text
    pseudonym = world.rt.pseudonymiser.pseudonym(NHS_NUMBER)
    assert await _members(world, pseudonym) == {(TRUST, False), (COUNCIL, True), (GP, False)}
    # TRUST no longer coordinates: it may not change the team back.
    assert (await world.put(TRUST, _team(), CARE_TEAM)).status_code == 403


async def test_any_agency_creates_a_first_care_team_that_includes_itself(world: World) -> None:
    response = await world.put(GP, _team(OTHER_NHS_NUMBER), _team_of(GP, TRUST, coordinator=GP))

    assert response.status_code == 200, response.text
    pseudonym = world.rt.pseudonymiser.pseudonym(OTHER_NHS_NUMBER)
    assert await _members(world, pseudonym) == {(GP, True), (TRUST, False)}


async def test_a_team_without_the_caller_is_refused_alike_for_any_person(world: World) -> None:
    """Leaving oneself out is refused before anything about the person is looked at, so the
    answer cannot tell a person with a team from one without."""
    before = await row_counts(world.rt, *TABLES)
    team = _team_of(TRUST, COUNCIL, coordinator=TRUST)

    unknown = await world.put(GP, _team(OTHER_NHS_NUMBER), team)
    known = await world.put(GP, _team(), team)

    assert unknown.status_code == known.status_code == 422
    assert _without_instance(unknown) == _without_instance(known)
    assert ["body", "members"] in [e["loc"] for e in known.json()["errors"]]
    assert await row_counts(world.rt, *TABLES) == before


async def test_only_the_crisis_plan_partners_start_the_team_of_a_person_with_only_a_plan(
    world: World,
) -> None:
    plans = f"/v1/subjects/{OTHER_NHS_NUMBER}/crisis-plans"
    proposed = await world.post(COUNCIL, plans, crisis_plan(COUNCIL, TRUST))
    assert proposed.status_code == 201, proposed.text
    confirmation = {"confirmed_by": {"name": "E. Nwosu", "role": "team manager"}}
    await world.post(TRUST, f"{plans}/{proposed.json()['id']}/confirmations", confirmation)
    before = await row_counts(world.rt, *TABLES)

    outsider = await world.put(GP, _team(OTHER_NHS_NUMBER), _team_of(GP, coordinator=GP))
    after_outsider = await row_counts(world.rt, *TABLES)
    partner = await world.put(TRUST, _team(OTHER_NHS_NUMBER), _team_of(TRUST, coordinator=TRUST))

    assert outsider.status_code == 404
    assert after_outsider == before
    assert partner.status_code == 200, partner.text


async def test_a_plan_proposed_for_a_person_nobody_cared_for_lapses_once_others_do(
    world: World,
) -> None:
    plans = f"/v1/subjects/{OTHER_NHS_NUMBER}/crisis-plans"
    early = await world.post(GP, plans, crisis_plan(GP, COUNCIL))
    assert early.status_code == 201, early.text
    team = await world.put(
        TRUST, _team(OTHER_NHS_NUMBER), _team_of(TRUST, COUNCIL, coordinator=TRUST)
    )
    assert team.status_code == 200, team.text

    confirmation = {"confirmed_by": {"name": "E. Nwosu", "role": "team manager"}}
    late = await world.post(COUNCIL, f"{plans}/{early.json()['id']}/confirmations", confirmation)

    assert late.status_code == 409
    assert "propose it again" in late.json()["detail"]


async def test_a_crisis_plan_partner_outside_the_team_keeps_consent_while_the_plan_is_active(
    world: World,
) -> None:
    plans = f"/v1/subjects/{NHS_NUMBER}/crisis-plans"
    plan = crisis_plan(TRUST, GP)
    proposed = await world.post(TRUST, plans, plan)
    assert proposed.status_code == 201, proposed.text
    before_active = await world.get(GP, _consents())
    confirmation = {"confirmed_by": {"name": "Dr K. Lee", "role": "GP partner"}}
    confirmed = await world.post(GP, f"{plans}/{proposed.json()['id']}/confirmations", confirmation)
    assert confirmed.json()["status"] == "active"

    recorded = await world.post(GP, _consents(), _refusal(scope={"recipients": [HOUSING]}))
    read = await world.get(GP, _consents())

    assert before_active.status_code == 404  # a proposed plan is no relationship yet
    assert recorded.status_code == 201, recorded.text
    assert read.status_code == 200 and read.json()["items"][0]["recording_agency"] == GP


async def test_an_outsider_proposes_no_crisis_plan_for_a_person_with_a_care_team(
    world: World,
) -> None:
    plan = crisis_plan(GP, TRUST)
    before = await row_counts(world.rt, *TABLES)

    known = await world.post(GP, f"/v1/subjects/{NHS_NUMBER}/crisis-plans", plan)
    after_known = await row_counts(world.rt, *TABLES)
    fresh = await world.post(GP, f"/v1/subjects/{OTHER_NHS_NUMBER}/crisis-plans", plan)

    assert known.status_code == 404
    assert after_known == before
    # Nobody works with the other person yet: the plan itself is the first relationship.
    assert fresh.status_code == 201, fresh.text


# One agency's consent never silently lifts another's refusal --------------------------------


async def _decision(world: World, recipient: str) -> str:
    body = {
        "recipient": recipient,
        "subject": {"nhs_number": NHS_NUMBER},
        "event_type": "risk.changed",
        "purpose": "direct_care",
    }
    response = await world.post(TRUST, "/v1/decisions/preview", body)
    assert response.status_code == 200, response.text
    outcome: str = response.json()["outcome"]
    return outcome


async def test_consent_over_another_agencys_refusal_is_refused_and_the_refusal_stands(
    world: World,
) -> None:
    scope = {"recipients": [COUNCIL]}
    refusal = (await world.post(HOUSING, _consents(), _refusal(scope=scope))).json()
    before = await row_counts(world.rt, *TABLES)

    given = {"state": "given_explicit", "scope": scope, "recorded_by": RECORDER}
    response = await world.post(TRUST, _consents(), given)

    assert response.status_code == 409
    assert refusal["id"] in response.json()["detail"] and HOUSING in response.json()["detail"]
    assert await row_counts(world.rt, *TABLES) == before
    assert await _decision(world, COUNCIL) == "deny"


async def test_naming_the_refusal_with_evidence_lifts_it_and_says_so_in_the_trail(
    world: World,
) -> None:
    scope = {"recipients": [COUNCIL]}
    refusal = (await world.post(HOUSING, _consents(), _refusal(scope=scope))).json()
    given = {
        "state": "given_explicit",
        "scope": scope,
        "recorded_by": RECORDER,
        "evidence": "At today's review she agreed the council may now be told.",
        "supersedes": [refusal["id"]],
    }

    response = await world.post(TRUST, _consents(), given)

    assert response.status_code == 201, response.text
    assert response.json()["supersedes"] == [refusal["id"]]
    assert await _decision(world, COUNCIL) == "permit"
    async with world.rt.db.unit_of_work() as session:
        details = (
            await session.scalars(
                select(AuditRecord.detail).where(AuditRecord.event == "consent.recorded")
            )
        ).all()
    assert [d["supersedes"] for d in details] == [[], [refusal["id"]]]


async def test_the_refusing_agency_lifts_its_own_refusal_without_naming_it(world: World) -> None:
    scope = {"recipients": [COUNCIL]}
    await world.post(HOUSING, _consents(), _refusal(scope=scope))
    given = {"state": "given_explicit", "scope": scope, "recorded_by": RECORDER}

    response = await world.post(HOUSING, _consents(), given)

    assert response.status_code == 201, response.text
    assert await _decision(world, COUNCIL) == "permit"


async def test_superseding_needs_a_real_refusal_and_evidence(world: World) -> None:
    scope = {"recipients": [COUNCIL]}
    given_by_trust = {"state": "given_explicit", "scope": scope, "recorded_by": RECORDER}
    consent = (await world.post(TRUST, _consents(), given_by_trust)).json()
    refusal = (await world.post(HOUSING, _consents(), _refusal(scope=scope))).json()
    before = await row_counts(world.rt, *TABLES)

    names_a_consent = await world.post(
        TRUST,
        _consents(),
        {**given_by_trust, "evidence": "Agreed.", "supersedes": [consent["id"]]},
    )
    without_evidence = await world.post(
        TRUST, _consents(), {**given_by_trust, "supersedes": [refusal["id"]]}
    )
    refusal_naming = await world.post(
        TRUST, _consents(), _refusal(scope=scope, supersedes=[refusal["id"]])
    )

    assert names_a_consent.status_code == 422
    assert ["body", "supersedes", 0] in [e["loc"] for e in names_a_consent.json()["errors"]]
    assert without_evidence.status_code == 422
    assert ["body", "evidence"] in [e["loc"] for e in without_evidence.json()["errors"]]
    assert refusal_naming.status_code == 422
    assert ["body", "state"] in [e["loc"] for e in refusal_naming.json()["errors"]]
    assert await row_counts(world.rt, *TABLES) == before


# What a sender outside the person's care learns of its own message --------------------------


async def test_an_agency_outside_the_persons_care_must_name_its_recipients(world: World) -> None:
    before = await row_counts(world.rt, *TABLES, Message)
    event = risk_event()  # no recipients: to the person's care team

    outsider = await world.post(GP, "/v1/events", event)
    after_outsider = await row_counts(world.rt, *TABLES, Message)
    carer = await world.post(TRUST, "/v1/events", {**event, "id": str(uuid.uuid4())})

    assert outsider.status_code == 422
    assert ["body", "recipients"] in [e["loc"] for e in outsider.json()["errors"]]
    assert after_outsider == before
    assert carer.status_code == 202, carer.text


async def test_a_sender_outside_the_persons_care_learns_no_detail_of_their_refusal(
    world: World,
) -> None:
    await world.agree([GP, COUNCIL])
    refusal = _refusal(scope={"recipients": [COUNCIL]})
    consent_id = (await world.post(TRUST, _consents(), refusal)).json()["id"]
    outsiders = await routed_here(world, GP, risk_event(recipients=[COUNCIL]))
    carers = await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))

    seen_by_outsider = (await world.get(GP, f"/v1/events/{outsiders}")).json()["recipients"]
    trail = (await world.get(GP, f"/v1/audit/messages/{outsiders}")).json()
    searched = (await world.get(GP, "/v1/audit/records", event="delivery.decided")).json()
    seen_by_carer = (await world.get(TRUST, f"/v1/events/{carers}")).json()["recipients"]

    [withheld] = seen_by_outsider
    assert withheld["status"] == "withheld"  # it always learns its alert did not arrive
    assert withheld["reason"] == "persons_position"
    assert withheld["consent_record_ids"] == []
    texts = [withheld["explanation"], str(trail), str(searched)]
    assert not any(consent_id in text or "refused" in text for text in texts)
    assert [r["detail"]["reason"] for r in searched["items"]] == ["persons_position"]
    [carer] = seen_by_carer
    assert (carer["reason"], carer["consent_record_ids"]) == ("consent_refused", [consent_id])
