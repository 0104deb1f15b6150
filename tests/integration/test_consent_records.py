"""A subject's consent history: kept whole, newest first, evidence readable only through the API."""

from sqlalchemy import select

from broker.db.models import AuditRecord
from tests.world import HOUSING, NHS_NUMBER, TRUST, World

RECORDER = {"name": "A. Patel", "role": "care coordinator"}


async def test_consent_history_is_kept_and_listed_newest_first(world: World) -> None:
    path = f"/v1/subjects/{NHS_NUMBER}/consents"
    given = {"state": "given_explicit", "recorded_by": RECORDER}
    refused = {
        "state": "refused",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": RECORDER,
        "evidence": "Asked at review that housing is not told.",
    }
    assert (await world.post(TRUST, path, given)).status_code == 201
    assert (await world.post(TRUST, path, refused)).status_code == 201

    history = (await world.get(TRUST, path)).json()["items"]

    assert [r["state"] for r in history] == ["refused", "given_explicit"]
    assert history[0]["scope"]["recipients"] == [HOUSING]
    assert history[0]["evidence"] == "Asked at review that housing is not told."
    assert history[0]["recording_agency"] == TRUST


async def test_consent_for_an_unknown_recipient_agency_is_refused(world: World) -> None:
    body = {"state": "refused", "scope": {"recipients": ["NOPE1"]}, "recorded_by": RECORDER}
    response = await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", body)
    assert response.status_code == 422
    assert ["body", "scope", "recipients", 0, "agency"] in [
        e["loc"] for e in response.json()["errors"]
    ]
    assert (await world.get(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents")).json()["items"] == []


async def test_recording_a_consent_is_audited_without_its_evidence(world: World) -> None:
    body = {
        "state": "withdrawn",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": RECORDER,
        "evidence": "Withdrew consent by phone after the tenancy visit.",
    }
    recorded = (await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", body)).json()

    async with world.rt.db.unit_of_work() as session:
        statement = select(AuditRecord.actor_agency, AuditRecord.detail).where(
            AuditRecord.event == "consent.recorded"
        )
        ((actor, detail),) = (await session.execute(statement)).all()

    assert actor == TRUST
    assert detail["consent_id"] == recorded["id"]
    assert (detail["state"], detail["scope"]["recipients"]) == ("withdrawn", [HOUSING])
    assert "tenancy visit" not in str(detail)
