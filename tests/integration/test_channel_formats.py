"""A channel's `format`: an agency whose record system speaks FHIR has each delivery pushed as
a FHIR R4 message Bundle, by webhook or on its own Kafka topic, with the same content the inbox
fetch shows. A delivery with no FHIR form (a non-delivery report) comes as IMB's JSON."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from adapters.fhir import delivery_from_bundle
from adapters.fhir.names import agreement_policy
from adapters.imb_client import (
    AgencyTopicReader,
    OpenedDelivery,
    PushedEvent,
    encoded_public_key,
    verify_webhook,
)
from broker.db.models import AuditRecord
from tests.integration.deadlines import SECOND, delivered, instant, pass_at
from tests.receivers import Receiver, receiving
from tests.world import COUNCIL, TRUST, World, eventually, risk_event

pytestmark = pytest.mark.usefixtures("pipeline")
CHANNEL = f"/v1/agencies/{COUNCIL}/channel"
FHIR_JSON = "application/fhir+json"
FHIR = {"format": "fhir"}
SHOWN_ALIKE = ("type", "subject", "reason_for_sharing", "purpose", "urgency", "override")
# A group's first member is assigned after half its session: short, as the suite's own workers.
QUICK_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 500}


@pytest.fixture
async def receiver(world: World) -> AsyncIterator[Receiver]:
    async with receiving(Receiver()) as serving:
        yield serving


async def _channel(world: World, agency: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await world.put("admin", f"/v1/agencies/{agency}/channel", body)
    assert answer.status_code == 200, answer.text
    view: dict[str, Any] = answer.json()
    return view


async def _deliveries_pushed(receiver: Receiver, secret: str, count: int) -> list[PushedEvent]:
    async def verified() -> list[PushedEvent]:
        events = [verify_webhook(r.headers, r.body, secret) for r in list(receiver.received)]
        return [event for event in events if not event.is_heartbeat]

    return await eventually(verified, lambda events: len(events) >= count)


async def _agreement_policy(world: World) -> str:
    [agreement] = (await world.get("admin", "/v1/agreements")).json()["items"]
    return agreement_policy(agreement["id"], agreement["in_force_version"])


async def _assert_agrees_with_the_inbox(
    world: World, bundle: dict[str, Any], delivery_id: str
) -> None:
    """The message read back is, item for item, what the inbox fetch shows the council."""
    fetched = (await world.get(COUNCIL, f"/v1/inbox/{delivery_id}")).json()
    read = delivery_from_bundle(bundle)

    assert (read.delivery_id, read.sender, read.recipient) == (delivery_id, TRUST, COUNCIL)
    assert read.event["id"] == fetched["message_id"]
    assert {key: read.event[key] for key in SHOWN_ALIKE} == {k: fetched[k] for k in SHOWN_ALIKE}
    assert read.event["payload"] == fetched["payload"]
    occurred = (read.event["occurred_at"], fetched["occurred_at"])
    assert datetime.fromisoformat(occurred[0]) == datetime.fromisoformat(occurred[1])
    assert read.agreement == await _agreement_policy(world)


def _assert_is_the_delivery_message(bundle: dict[str, Any], delivery_id: str) -> None:
    Bundle.parse_obj(bundle)  # valid FHIR, or it raises
    header = bundle["entry"][0]["resource"]
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "message")
    assert (header["resourceType"], header["id"]) == ("MessageHeader", delivery_id)


async def test_a_fhir_webhook_receives_each_delivery_as_a_signed_fhir_message(
    world: World, receiver: Receiver
) -> None:
    channel = await _channel(world, COUNCIL, {"kind": "webhook", "url": receiver.url} | FHIR)
    await world.publish(TRUST, recipients=[COUNCIL])

    [pushed] = await _deliveries_pushed(receiver, channel["secret"], 1)
    [item] = await world.inbox(COUNCIL)

    assert channel["format"] == "fhir"
    assert receiver.received[0].json()["datacontenttype"] == FHIR_JSON
    assert (pushed.datacontenttype, pushed.is_fhir) == (FHIR_JSON, True)
    assert pushed.id == item["delivery_id"] and pushed.seq == item["seq"] == 1
    _assert_is_the_delivery_message(pushed.data, item["delivery_id"])
    await _assert_agrees_with_the_inbox(world, pushed.data, item["delivery_id"])


async def test_a_fhir_kafka_agency_opens_a_fhir_message_from_its_own_topic(
    world: World,
) -> None:
    key = X25519PrivateKey.generate()
    body = {"kind": "kafka", "public_key": encoded_public_key(key.public_key())} | FHIR
    channel = await _channel(world, COUNCIL, body)
    await world.publish(TRUST, recipients=[COUNCIL])

    reader = AgencyTopicReader(
        world.rt.settings.kafka_bootstrap_servers or "",
        COUNCIL,
        key,
        topic=channel["topic"],
        group_id=f"council-epr-{uuid.uuid4().hex[:8]}",
        metadata_max_age_ms=200,
        **QUICK_GROUP,
    )
    async with reader:
        opened = await asyncio.wait_for(_first_delivery(reader), 30)
    [item] = await world.inbox(COUNCIL)

    assert channel["format"] == "fhir"
    assert (opened.content_type, opened.is_fhir) == (FHIR_JSON, True)
    assert opened.delivery_id == item["delivery_id"] and opened.seq == item["seq"] == 1
    _assert_is_the_delivery_message(opened.content, item["delivery_id"])
    await _assert_agrees_with_the_inbox(world, opened.content, item["delivery_id"])


async def _first_delivery(reader: AgencyTopicReader) -> OpenedDelivery:
    async for record in reader:
        if isinstance(record, OpenedDelivery):
            return record
    raise AssertionError("the topic ended")


async def test_a_non_delivery_report_has_no_fhir_form_and_is_pushed_as_imb_json(
    world: World, receiver: Receiver
) -> None:
    channel = await _channel(world, TRUST, {"kind": "webhook", "url": receiver.url} | FHIR)
    routine = risk_event(recipients=[COUNCIL], urgency="routine")
    routine["payload"] |= {"previous_level": "low", "current_level": "medium"}
    message_id, recipients = await delivered(world, routine)

    await pass_at(world.rt, instant(recipients[COUNCIL]["ack_by"]) + SECOND)
    [pushed] = await receiver.until(1)
    # Read unverified: it was signed at the moved clock, hours ahead of the verifier's.
    report = pushed.json()

    assert channel["secret"] and report["type"] == "uk.imb.report.unacknowledged.v1"
    assert report["datacontenttype"] == "application/json"
    assert report["data"]["payload"]["original_message_id"] == message_id
    assert report["imbseq"] == report["data"]["seq"] == 1


async def test_the_channel_shows_its_format_and_the_change_is_audited(world: World) -> None:
    webhook = {"kind": "webhook", "url": "https://epr.council.example/imb"}
    await _channel(world, COUNCIL, webhook | FHIR)
    shown = (await world.get("admin", CHANNEL)).json()
    back = await _channel(world, COUNCIL, webhook)
    inbox = await _channel(world, COUNCIL, {"kind": "inbox"})

    assert shown["format"] == "fhir"
    assert back["format"] == "imb", "absent, the format is IMB's JSON again"
    assert inbox["format"] is None, "the inbox has no format of its own to push in"
    assert [detail["format"] for detail in await _channels_audited(world)] == ["fhir", "imb", None]


async def _channels_audited(world: World) -> list[dict[str, Any]]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.scalars(
            select(AuditRecord).where(AuditRecord.event == "channel.set").order_by(AuditRecord.id)
        )
        return [dict(row.detail or {}) for row in rows]
