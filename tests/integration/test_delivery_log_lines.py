"""What the operator's log says when a push runs out of retries or a delivery is produced to an
agency's own topic: the ids to follow it by, and nothing about the person it concerns."""

import io
from collections.abc import AsyncIterator, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from schemas.sealed_records import encoded_public_key
from tests.captured_logs import captured_logs, log_lines
from tests.receivers import Receiver, receiving
from tests.world import COUNCIL, NHS_NUMBER, TRUST, World, eventually, risk_event

pytestmark = pytest.mark.usefixtures("pipeline")
# What the published event says about the person; none of it may reach a log line.
PERSONAL = [
    NHS_NUMBER,
    "MRN-1001",
    risk_event()["reason_for_sharing"],
    risk_event()["payload"]["rationale"],
]


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    with captured_logs() as out:
        yield out


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving(Receiver()) as serving:
        yield serving


async def _council_channel(world: World, channel: dict[str, str]) -> None:
    answer = await world.put("admin", f"/v1/agencies/{COUNCIL}/channel", channel)
    assert answer.status_code == 200, answer.text


async def _published_to_council(world: World) -> str:
    answer = await world.publish(TRUST, recipients=[COUNCIL])
    assert answer.status_code == 202, answer.text
    message_id: str = answer.json()["message_id"]
    return message_id


def _assert_nothing_personal(out: io.StringIO) -> None:
    logged = out.getvalue()
    for text in PERSONAL:
        assert text not in logged, text


async def _one_line(out: io.StringIO, event: str) -> dict[str, object]:
    async def lines() -> list[dict[str, object]]:
        return log_lines(out, event)

    [line] = await eventually(lines, lambda found: len(found) == 1, 60)
    return line


@pytest.mark.usefixtures("fast_retries")
async def test_a_push_out_of_retries_is_logged_as_dead_lettered_by_its_ids(
    world: World, receiver: Receiver, log_output: io.StringIO
) -> None:
    receiver.script = [500] * 20  # down for good
    await _council_channel(world, {"kind": "webhook", "url": receiver.url})
    message_id = await _published_to_council(world)

    line = await _one_line(log_output, "delivery.dead_lettered")

    [item] = await world.inbox(COUNCIL)
    assert line["level"] == "info"
    assert line["message_id"] == message_id
    assert line["delivery_id"] == item["delivery_id"]
    assert (line["recipient"], line["channel"], line["attempts"]) == (COUNCIL, "webhook", 3)
    assert log_lines(log_output, "delivery.received") == []
    _assert_nothing_personal(log_output)


async def test_a_record_produced_to_the_agencys_topic_is_logged_as_produced_not_received(
    world: World, log_output: io.StringIO
) -> None:
    key = encoded_public_key(X25519PrivateKey.generate().public_key())
    await _council_channel(world, {"kind": "kafka", "public_key": key})
    message_id = await _published_to_council(world)

    line = await _one_line(log_output, "delivery.produced")

    [item] = await world.inbox(COUNCIL)
    assert line["message_id"] == message_id
    assert line["delivery_id"] == item["delivery_id"]
    assert (line["recipient"], line["channel"], line["attempts"]) == (COUNCIL, "kafka", 1)
    assert log_lines(log_output, "delivery.received") == [], "Kafka cannot say it was read"
    _assert_nothing_personal(log_output)
