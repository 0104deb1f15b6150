"""An agency chooses how its deliveries are pushed beside its inbox: a signed webhook or its
own Kafka topic. Only the agency itself (`channels:manage`) or an administrator may, the
signing secret is shown once, and bad input writes nothing."""

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from broker.agencies.channels import signing_secrets
from broker.db.models import AuditRecord, DeliveryChannel
from schemas.vocabulary import Scope
from tests.world import COUNCIL, HOUSING, TRUST, World

CHANNEL = f"/v1/agencies/{COUNCIL}/channel"
WEBHOOK = {"kind": "webhook", "url": "https://epr.council.example/imb?token=s3cret"}


def _x25519_public_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


@pytest.fixture
async def managers(world: World) -> World:
    """COUNCIL's and HOUSING's integration clients, each allowed to manage its own channel."""
    for agency in (COUNCIL, HOUSING):
        world.tokens[f"{agency}-channels"] = await world.token_for(
            agency, [Scope.CHANNELS_MANAGE, Scope.INBOX_READ]
        )
    return world


async def _audited(world: World, event: str) -> list[dict[str, Any]]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.scalars(select(AuditRecord).where(AuditRecord.event == event))
        return [dict(r.detail or {}) for r in rows]


async def _channel_rows(world: World) -> int:
    async with world.rt.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(DeliveryChannel)) or 0)


async def test_an_agency_sets_its_webhook_and_is_shown_its_signing_secret_once(
    managers: World,
) -> None:
    answer = await managers.put(f"{COUNCIL}-channels", CHANNEL, WEBHOOK)
    assert answer.status_code == 200, answer.text
    channel = answer.json()
    assert channel["kind"] == "webhook"
    assert channel["url"] == WEBHOOK["url"]
    assert channel["secret"].startswith("whsec_")
    # The secret is one the Standard Webhooks library signs and verifies with.
    webhook, now = Webhook(channel["secret"]), datetime.now(UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": webhook.sign("msg_1", now, '{"a":1}'),
    }
    assert webhook.verify('{"a":1}', headers) == {"a": 1}

    shown = await managers.get(f"{COUNCIL}-channels", CHANNEL)
    assert shown.status_code == 200, shown.text
    assert shown.json()["secret"] is None
    assert shown.json()["url"] == WEBHOOK["url"]

    again = await managers.put(f"{COUNCIL}-channels", CHANNEL, WEBHOOK)
    assert again.json()["secret"] is None, "setting the same webhook again kept its secret"

    [audited, _] = await _audited(managers, "channel.set")
    assert audited == {
        "agency": COUNCIL,
        "kind": "webhook",
        "webhook": "https://epr.council.example",
        "topic": None,
        "format": "imb",
    }


async def test_rotating_the_secret_shows_a_new_one_and_keeps_the_old_signing_for_a_day(
    managers: World,
) -> None:
    first = (await managers.put(f"{COUNCIL}-channels", CHANNEL, WEBHOOK)).json()["secret"]

    rotated = await managers.post(f"{COUNCIL}-channels", f"{CHANNEL}/rotate-secret", {})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()["secret"]
    assert second.startswith("whsec_") and second != first
    assert rotated.json()["previous_secret_valid_until"] is not None

    async with managers.rt.db.unit_of_work() as session:
        row = await session.get(DeliveryChannel, COUNCIL)
        assert row is not None
        now = managers.rt.clock()
        assert signing_secrets(managers.rt, row, now) == [second, first]
        stored = (row.secret_sealed or b"") + (row.previous_secret_sealed or b"")
        assert first.encode() not in stored and second.encode() not in stored, "sealed at rest"
    assert await _audited(managers, "channel.secret_rotated") == [{"agency": COUNCIL}]


async def test_a_kafka_channel_names_the_agencys_own_topic(managers: World) -> None:
    key = _x25519_public_key()
    answer = await managers.put(
        f"{COUNCIL}-channels", CHANNEL, {"kind": "kafka", "public_key": key}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["topic"].endswith(f"imb.agency.{COUNCIL}.v1")
    assert answer.json()["public_key"] == key
    assert answer.json()["secret"] is None


async def test_back_to_the_inbox_forgets_the_webhook_secret(managers: World) -> None:
    await managers.put(f"{COUNCIL}-channels", CHANNEL, WEBHOOK)
    answer = await managers.put(f"{COUNCIL}-channels", CHANNEL, {"kind": "inbox"})
    assert answer.status_code == 200, answer.text
    async with managers.rt.db.unit_of_work() as session:
        row = await session.get(DeliveryChannel, COUNCIL)
        assert row is not None and row.secret_sealed is None


async def test_an_agency_that_never_chose_reads_its_inbox_only(managers: World) -> None:
    answer = await managers.get(f"{COUNCIL}-channels", CHANNEL)
    assert answer.status_code == 200, answer.text
    assert answer.json()["kind"] == "inbox"
    assert answer.json()["updated_at"] is None


async def test_an_http_webhook_is_allowed_to_a_loopback_address_only(managers: World) -> None:
    local = {"kind": "webhook", "url": "http://127.0.0.1:8080/imb"}
    assert (await managers.put(f"{COUNCIL}-channels", CHANNEL, local)).status_code == 200


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"kind": "webhook", "url": "http://epr.council.example/imb"}, "https://"),
        ({"kind": "webhook", "url": "https://user:pw@epr.council.example/imb"}, "password"),
        ({"kind": "webhook", "url": "ftp://epr.council.example/imb"}, "url"),
        ({"kind": "webhook", "url": "https://169.254.169.254/latest/meta-data"}, "link-local"),
        ({"kind": "webhook", "url": "https://[ff02::1]/imb"}, "multicast"),
        ({"kind": "webhook"}, "needs url"),
        ({"kind": "kafka"}, "needs public_key"),
        ({"kind": "kafka", "public_key": "not base64!"}, "base64url"),
        ({"kind": "kafka", "public_key": "AAAA"}, "32 bytes"),
        ({"kind": "kafka", "public_key": "A" * 43}, "low-order"),
        ({"kind": "inbox", "url": "https://epr.council.example/imb"}, "only for a webhook"),
        ({"kind": "inbox", "format": "fhir"}, "format is only for a webhook or kafka"),
        ({**WEBHOOK, "format": "hl7v2"}, "unknown format hl7v2; this broker has imb, fhir"),
        ({**WEBHOOK, "format": "FHIR R4"}, "format"),
        ({"kind": "pigeon"}, "kind"),
    ],
)
async def test_bad_channels_are_refused_and_write_nothing(
    managers: World, body: dict[str, Any], names: str
) -> None:
    answer = await managers.put(f"{COUNCIL}-channels", CHANNEL, body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert names in answer.text
    assert await _channel_rows(managers) == 0
    assert await _audited(managers, "channel.set") == []


async def test_an_unknown_agency_is_bad_input_for_an_administrator(managers: World) -> None:
    answer = await managers.put("admin", "/v1/agencies/ZZZ99/channel", WEBHOOK)
    assert answer.status_code == 422, answer.text
    assert await _channel_rows(managers) == 0


async def test_another_agency_learns_nothing_and_changes_nothing(managers: World) -> None:
    mine = await managers.put(f"{COUNCIL}-channels", CHANNEL, WEBHOOK)
    assert mine.status_code == 200, mine.text
    hostile = f"{HOUSING}-channels"

    attempts: list[httpx.Response] = [
        await managers.get(hostile, CHANNEL),
        await managers.put(hostile, CHANNEL, {"kind": "webhook", "url": "https://evil.example"}),
        await managers.post(hostile, f"{CHANNEL}/rotate-secret", {}),
    ]
    never_issued = await managers.get(hostile, "/v1/agencies/ZZZ99/channel")
    for answer in attempts:
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"] == never_issued.json()["detail"].replace("ZZZ99", COUNCIL)
        assert "epr.council.example" not in answer.text

    shown = await managers.get(f"{COUNCIL}-channels", CHANNEL)
    assert shown.json()["url"] == WEBHOOK["url"]
    assert shown.json()["previous_secret_valid_until"] is None
    assert len(await _audited(managers, "channel.set")) == 1


async def test_a_client_without_the_scope_cannot_choose_a_channel(world: World) -> None:
    world.tokens["narrow"] = await world.token_for(COUNCIL, [Scope.INBOX_READ])
    answer = await world.put("narrow", CHANNEL, WEBHOOK)
    assert answer.status_code == 403, answer.text
    assert "channels:manage" in answer.text


async def test_an_administrator_sets_any_agencys_channel(managers: World) -> None:
    answer = await managers.put("admin", f"/v1/agencies/{TRUST}/channel", WEBHOOK)
    assert answer.status_code == 200, answer.text
    assert answer.json()["agency"] == TRUST
