"""Previewing a decision explains it and writes nothing but the preview's audit record."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from broker.db.models import (
    AuditRecord,
    ConsentRecord,
    Delivery,
    Message,
    OutboxEntry,
    Override,
    Subject,
)
from tests.rows import row_counts
from tests.world import COUNCIL, GP, HOUSING, NHS_NUMBER, OTHER_NHS_NUMBER, TRUST, World

TABLES = (Message, Delivery, OutboxEntry, Override, ConsentRecord, Subject)
RECORDER = {"name": "A. Patel", "role": "care coordinator"}


def _preview(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient": COUNCIL,
        "subject": {"nhs_number": NHS_NUMBER},
        "event_type": "risk.changed",
        "purpose": "direct_care",
        "urgency": "urgent",
    }
    body.update(overrides)
    return body


async def _previewed_events(world: World) -> list[tuple[str | None, dict[str, Any]]]:
    """(actor agency, detail) of every decision.previewed audit record."""
    async with world.rt.db.unit_of_work() as session:
        statement = select(AuditRecord.actor_agency, AuditRecord.detail).where(
            AuditRecord.event == "decision.previewed"
        )
        return [(agency, detail) for agency, detail in (await session.execute(statement)).all()]


async def test_preview_permits_with_bases_and_writes_only_an_audit_record(world: World) -> None:
    before = await row_counts(world.rt, *TABLES)

    response = await world.post(TRUST, "/v1/decisions/preview", _preview())

    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["outcome"] == "permit"
    assert decision["purpose_of_use"] == "TREAT"
    assert "art6:public_task" in decision["bases"]
    assert decision["explanation"].startswith("Permitted")
    assert await row_counts(world.rt, *TABLES) == before
    ((actor, detail),) = await _previewed_events(world)
    assert actor == TRUST
    assert (detail["outcome"], detail["recipient"]) == ("permit", COUNCIL)


async def test_preview_explains_a_refusal_and_an_absent_agreement(world: World) -> None:
    refusal = {"state": "refused", "scope": {"recipients": [COUNCIL]}, "recorded_by": RECORDER}
    await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", refusal)

    refused = (await world.post(TRUST, "/v1/decisions/preview", _preview())).json()
    no_agreement = (await world.post(TRUST, "/v1/decisions/preview", _preview(recipient=GP))).json()

    assert (refused["outcome"], refused["reason"]) == ("deny", "consent_refused")
    assert "refused consent" in refused["explanation"]
    assert refused["consent_record_ids"]
    assert (no_agreement["outcome"], no_agreement["reason"]) == ("deny", "no_agreement")


async def test_preview_for_a_past_moment_ignores_consents_recorded_later(world: World) -> None:
    recorded_at = datetime.now(UTC) + timedelta(hours=1)
    world.rt.clock = lambda: recorded_at
    refusal = {"state": "refused", "recorded_by": RECORDER}
    await world.post(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents", refusal)
    before = (recorded_at - timedelta(minutes=30)).isoformat()

    now = (await world.post(TRUST, "/v1/decisions/preview", _preview())).json()
    earlier = (await world.post(TRUST, "/v1/decisions/preview", _preview(at=before))).json()

    assert (now["outcome"], now["reason"]) == ("deny", "consent_refused")
    assert earlier["outcome"] == "permit"


async def test_preview_shows_what_the_agreement_would_redact(world: World) -> None:
    await world.agree([TRUST, GP], data_items={"risk.changed": ["current_level"]})

    decision = (await world.post(TRUST, "/v1/decisions/preview", _preview(recipient=GP))).json()

    assert decision["outcome"] == "permit"
    assert decision["obligations"]["allowed_items"] == ["current_level"]
    assert "rationale" in decision["obligations"]["redact"]
    assert "current_level" not in decision["obligations"]["redact"]


async def test_preview_of_an_unknown_subject_registers_nobody(world: World) -> None:
    before = await row_counts(world.rt, Subject)

    response = await world.post(
        "admin",
        "/v1/decisions/preview",
        _preview(sender=TRUST, subject={"nhs_number": OTHER_NHS_NUMBER}),
    )

    assert response.json()["outcome"] == "permit"
    assert await row_counts(world.rt, Subject) == before


async def test_an_agency_outside_the_care_team_previews_nobody(world: World) -> None:
    """A preview reveals the person's consent position, so it follows the consent rule: GP is
    no member of the person's care team, and known and unknown people answer alike."""
    await world.post(
        TRUST,
        f"/v1/subjects/{NHS_NUMBER}/consents",
        {"state": "refused", "recorded_by": RECORDER},
    )
    before = await row_counts(world.rt, AuditRecord, *TABLES)

    known = await world.post(GP, "/v1/decisions/preview", _preview(recipient=TRUST))
    unknown = await world.post(
        GP,
        "/v1/decisions/preview",
        _preview(recipient=TRUST, subject={"nhs_number": OTHER_NHS_NUMBER}),
    )

    assert known.status_code == unknown.status_code == 404
    assert known.json() == unknown.json()
    assert "refus" not in known.text
    assert await row_counts(world.rt, AuditRecord, *TABLES) == before


async def test_bad_previews_are_refused_and_write_nothing(world: World) -> None:
    before = await row_counts(world.rt, AuditRecord, *TABLES)

    unknown = await world.post(TRUST, "/v1/decisions/preview", _preview(recipient="NOPE1"))
    not_ours = await world.post(
        TRUST, "/v1/decisions/preview", _preview(sender=COUNCIL, recipient=HOUSING)
    )
    bad_nhs = await world.post(
        TRUST, "/v1/decisions/preview", _preview(subject={"nhs_number": "1234567890"})
    )
    bad_override = await world.post(
        TRUST, "/v1/decisions/preview", _preview(override={"reason": "because"})
    )

    assert unknown.status_code == 422
    assert ["body", "recipient"] in [e["loc"] for e in unknown.json()["errors"]]
    assert not_ours.status_code == 422
    assert ["body", "sender"] in [e["loc"] for e in not_ours.json()["errors"]]
    assert bad_nhs.status_code == 422
    assert bad_override.status_code == 422
    assert await row_counts(world.rt, AuditRecord, *TABLES) == before
