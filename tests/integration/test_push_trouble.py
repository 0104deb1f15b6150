"""When pushing to an agency's record system goes wrong, its duty team hears of it: a 410 Gone
turns the channel off and the duty team is told (its webhook, as escalation notices go), and
the duty console shows the channel off and every dead letter, all still in the inbox. A
receiver down for a long while gets every delivery once in effect when it comes back."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from broker.db.models import AuditRecord, WebhookAttempt
from broker.runtime import Runtime
from broker.settings import DeliverySettings
from tests.receivers import Receiver, free_port, receiving
from tests.web import add_person, sign_in, visible_text, web_client
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, eventually

pytestmark = pytest.mark.usefixtures("pipeline")
COUNCIL_DUTY = "duty.council"


@pytest.fixture
async def record_system() -> AsyncIterator[Receiver]:
    async with receiving(Receiver()) as serving:
        yield serving


@pytest.fixture
async def pager() -> AsyncIterator[Receiver]:
    """The council duty team's own webhook, where notices go."""
    async with receiving(Receiver()) as serving:
        yield serving


@pytest.fixture
async def duty_console(world: World, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    await add_person(runtime, COUNCIL_DUTY, COUNCIL, role="duty")
    async with web_client(runtime) as client:
        assert (await sign_in(client, COUNCIL_DUTY)).status_code == 303
        yield client


async def _channel(world: World, url: str) -> None:
    body = {"kind": "webhook", "url": url}
    answer = await world.put("admin", f"/v1/agencies/{COUNCIL}/channel", body)
    assert answer.status_code == 200, answer.text


async def _duty_team(world: World, webhook_url: str | None) -> None:
    team = {"name": "Council out of hours", "email": "ooh@council.test", "webhook_url": webhook_url}
    answer = await world.put("admin", f"/v1/agencies/{COUNCIL}/duty-team", team)
    assert answer.status_code == 200, answer.text


async def _audited(world: World, event: str) -> list[dict[str, Any]]:
    async with world.rt.db.unit_of_work() as session:
        rows = await session.scalars(select(AuditRecord).where(AuditRecord.event == event))
        return [dict(row.detail or {}) for row in rows]


async def test_a_410_tells_the_agencys_duty_team_and_the_console_shows_the_channel_off(
    world: World, record_system: Receiver, pager: Receiver, duty_console: httpx.AsyncClient
) -> None:
    await _duty_team(world, pager.url)
    record_system.script = [410]
    await _channel(world, record_system.url)
    await world.publish(TRUST, recipients=[COUNCIL])

    [notice] = await pager.until(1)
    told = await eventually(lambda: _audited(world, "channel.duty_team_told"), bool)
    page = visible_text(await duty_console.get("/duty"))

    body = notice.json()
    assert body["type"] == "channel.disabled"
    assert body["agency"] == COUNCIL
    assert "410" in body["reason"]
    assert NHS_NUMBER not in notice.body.decode(), "a notice carries nothing personal"
    assert told == [{"agency": COUNCIL, "channels": ["webhook"]}]
    assert "no longer pushed to your record system" in page
    assert "410 Gone" in page
    await asyncio.sleep(0.5)
    assert len(pager.received) == 1, "told once"


@pytest.mark.usefixtures("fast_retries")
async def test_dead_letters_are_on_the_duty_console(
    world: World, duty_console: httpx.AsyncClient
) -> None:
    await _channel(world, f"http://127.0.0.1:{free_port()}/imb")  # nobody listens there
    await world.publish(TRUST, recipients=[COUNCIL, HOUSING])
    await eventually(lambda: _audited(world, "delivery.dead_lettered"), bool)

    [item] = await world.inbox(COUNCIL)
    page = visible_text(await duty_console.get("/duty"))
    partial = visible_text(await duty_console.get("/duty/items"))

    assert "1 delivery could not be pushed to your record system" in page
    assert item["delivery_id"] in page
    assert "3 attempts" in page and "ConnectError" in page
    assert item["delivery_id"] in partial, "the live list carries it too"
    assert "imb dead-letters redrive" in page


async def test_a_receiver_down_for_long_gets_everything_once_in_effect_when_back(
    world: World,
) -> None:
    """Ten minutes down, shortened to seconds: nothing listens at the webhook's address while
    deliveries arrive and their pushes are retried; then the receiver starts there and gets
    every delivery, taking each once, with none lost or dead-lettered."""
    world.rt.settings.delivery = DeliverySettings(
        retry_first_seconds=0.1, retry_max_seconds=0.5, max_attempts=1000, poll_seconds=0.05
    )
    port = free_port()
    await _channel(world, f"http://127.0.0.1:{port}/imb")
    for _ in range(5):
        await world.publish(TRUST, recipients=[COUNCIL])
    await eventually(lambda: _failed_attempts(world), lambda failed: failed >= 10)

    receiver = Receiver(script=[500])  # and one failure more once it is back
    async with receiving(receiver, port=port):
        items = await eventually(
            lambda: world.inbox(COUNCIL),
            lambda items: len(items) == 5 and all(i["status"] == "received" for i in items),
        )
        await asyncio.sleep(0.5)
    taken = [pushed.headers["webhook-id"] for pushed in receiver.received if pushed.status == 200]

    assert sorted(taken) == sorted(i["delivery_id"] for i in items), "each taken exactly once"
    assert await _audited(world, "delivery.dead_lettered") == []
    assert len(await _audited(world, "delivery.received")) == 5


async def _failed_attempts(world: World) -> int:
    async with world.rt.db.unit_of_work() as session:
        found = await session.scalars(
            select(WebhookAttempt.id).where(WebhookAttempt.error == "ConnectError")
        )
        return len(found.all())
