"""The example EPR receiver (adapters/examples/webhook_receiver.py) as an agency's record
system: every pushed delivery verified, recorded once and acknowledged; a forged push refused;
a repeated push recorded nothing twice."""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from adapters.examples.webhook_receiver import Record, create_receiver
from adapters.imb_client import AsyncImbClient
from broker.api.app import create_app
from broker.db.models import WebhookAttempt
from tests.receivers import serving
from tests.world import COUNCIL, TRUST, World, eventually, risk_event

pytestmark = pytest.mark.usefixtures("pipeline")
FORGED = {"webhook-id": "x", "webhook-timestamp": "1", "webhook-signature": "v1,eA=="}


@pytest.fixture
async def imb_url(world: World) -> AsyncIterator[str]:
    async with serving(create_app(world.rt)) as url:
        yield url


async def test_the_example_receiver_verifies_records_once_and_acknowledges(
    world: World, imb_url: str, tmp_path: Path
) -> None:
    secrets: list[str] = []
    record = Record(tmp_path / "epr.sqlite3")
    async with AsyncImbClient(imb_url, *world.credentials[COUNCIL]) as council:
        app = create_receiver(secrets, record, council)
        async with serving(app) as epr_url:
            url = f"{epr_url}/imb/deliveries"
            channel = await world.put(
                "admin", f"/v1/agencies/{COUNCIL}/channel", {"kind": "webhook", "url": url}
            )
            secrets.append(channel.json()["secret"])
            for _ in range(2):
                await world.publish(TRUST, recipients=[COUNCIL])
            items = await eventually(
                lambda: world.inbox(COUNCIL),
                lambda found: len(found) == 2 and all(i["status"] == "acknowledged" for i in found),
            )
            async with httpx.AsyncClient() as forger:
                forged = await forger.post(url, content=json.dumps(risk_event()), headers=FORGED)
            again = await world.post(
                COUNCIL, f"/v1/deliveries/{items[0]['delivery_id']}/redeliver", {}
            )
            await eventually(lambda: _pushes_taken(world), lambda taken: taken >= 3)

    assert forged.status_code == 401
    assert again.status_code == 202, again.text
    assert record.count() == 2, "recorded once each, the repeat changed nothing"
    assert record.last_seq() == 2


async def _pushes_taken(world: World) -> int:
    async with world.rt.db.unit_of_work() as session:
        query = select(func.count()).where(WebhookAttempt.status_code == 204)
        return int(await session.scalar(query) or 0)


async def test_a_gap_in_the_seqs_is_caught_up_from_the_inbox_once(
    world: World, imb_url: str, tmp_path: Path
) -> None:
    """Two deliveries made while the council read its inbox only (seqs 1 and 2), then a push
    (seq 3): the receiver sees the gap, reads 1 and 2 from the inbox, and records each once."""
    for _ in range(2):
        await world.publish(TRUST, recipients=[COUNCIL])
    await eventually(lambda: world.inbox(COUNCIL), lambda found: len(found) == 2)
    secrets: list[str] = []
    record = Record(tmp_path / "epr.sqlite3")
    council = AsyncImbClient(imb_url, *world.credentials[COUNCIL])
    async with council, serving(create_receiver(secrets, record, council)) as epr_url:
        body = {"kind": "webhook", "url": f"{epr_url}/imb/deliveries"}
        channel = await world.put("admin", f"/v1/agencies/{COUNCIL}/channel", body)
        secrets.append(channel.json()["secret"])
        await world.publish(TRUST, recipients=[COUNCIL])
        items = await eventually(
            lambda: world.inbox(COUNCIL),
            lambda found: len(found) == 3 and all(i["status"] == "acknowledged" for i in found),
        )

    assert record.count() == 3
    assert record.contiguous() == 3, "seqs 1, 2 and 3, none missing"
    assert sorted(i["seq"] for i in items) == [1, 2, 3]
