"""A recipient sees only the data items its agreement allows, on Kafka and in its inbox."""

import json
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select

from broker.crypto.envelope import Sealed, delivery_ad, open_sealed
from broker.db.models import AuditRecord, OutboxEntry
from tests.world import COUNCIL, GP, TRUST, World, eventually

pytestmark = pytest.mark.usefixtures("pipeline")

GP_SEES = {"risk.changed": ["current_level", "previous_level", "risk_domains"]}


async def _delivered_to_gp(world: World) -> tuple[str, dict[str, Any]]:
    await world.agree([TRUST, GP], data_items=GP_SEES)
    message_id = (await world.publish(recipients=[GP, COUNCIL])).json()["message_id"]

    async def status() -> dict[str, Any]:
        body: dict[str, Any] = (await world.get(TRUST, f"/v1/events/{message_id}")).json()
        return body

    settled = await eventually(
        status, lambda s: {r["status"] for r in s["recipients"]} == {"delivered"}
    )
    return message_id, {r["agency"]: r for r in settled["recipients"]}


async def test_recipient_receives_only_the_items_its_agreement_allows(world: World) -> None:
    _, recipients = await _delivered_to_gp(world)

    gp_item = (await world.inbox(GP))[0]
    gp_view = (await world.get(GP, f"/v1/inbox/{gp_item['delivery_id']}")).json()
    council_item = (await world.inbox(COUNCIL))[0]
    council_view = (await world.get(COUNCIL, f"/v1/inbox/{council_item['delivery_id']}")).json()

    assert gp_view["payload"] == {
        "previous_level": "medium",
        "current_level": "high",
        "risk_domains": ["self_harm", "self_neglect"],
    }
    assert "rationale" in council_view["payload"]
    assert recipients[GP]["redacted"] == [
        "actions_taken",
        "early_warning_indicators",
        "rationale",
        "review_date",
    ]
    assert recipients[COUNCIL]["redacted"] == []


async def test_redacted_items_are_never_sealed_for_the_recipient_on_kafka(world: World) -> None:
    message_id, _ = await _delivered_to_gp(world)

    async with world.rt.db.unit_of_work() as session:
        values = (
            await session.scalars(select(OutboxEntry.value).where(OutboxEntry.key == GP))
        ).all()
    (record,) = [json.loads(v) for v in values if json.loads(v)["message_id"] == message_id]
    sealed = Sealed.from_json(record["content"])
    content = json.loads(
        open_sealed(world.rt.keys.key_provider, sealed, delivery_ad(UUID(message_id), GP))
    )

    assert set(content["payload"]) == {"previous_level", "current_level", "risk_domains"}


async def test_redaction_is_recorded_in_the_audit_trail(world: World) -> None:
    _, recipients = await _delivered_to_gp(world)

    async with world.rt.db.unit_of_work() as session:
        detail = (
            await session.scalars(
                select(AuditRecord.detail).where(
                    AuditRecord.event == "delivery.decided",
                    AuditRecord.delivery_id == UUID(recipients[GP]["delivery_id"]),
                )
            )
        ).one()

    assert detail["obligations"]["redact"] == recipients[GP]["redacted"]
    assert detail["obligations"]["allowed_items"] == GP_SEES["risk.changed"]
    assert "Stopped medication" not in json.dumps(detail)
