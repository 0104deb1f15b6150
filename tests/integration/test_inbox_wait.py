"""Waiting for the next delivery: `GET /v1/inbox?wait=S` answers as soon as one is available
to the caller's agency, holds no database connection while it waits, and tells no other
agency anything."""

import asyncio

import httpx
import pytest

from tests.world import COUNCIL, HOUSING, TRUST, World, eventually

# Far longer than a delivery takes: a reader answered before it ends was woken by the arrival.
LONG_WAIT = "30"


async def _waiting_readers(
    world: World, who: str, count: int = 1
) -> "list[asyncio.Task[httpx.Response]]":
    readers = [
        asyncio.create_task(world.get(who, "/v1/inbox", wait=LONG_WAIT)) for _ in range(count)
    ]
    await asyncio.sleep(0.3)  # the requests are in and waiting
    assert not any(r.done() for r in readers), "an empty inbox was answered without waiting"
    return readers


def _message_ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["message_id"] for item in response.json()["items"]]


@pytest.mark.usefixtures("pipeline")
async def test_a_waiting_reader_is_answered_with_the_delivery_as_soon_as_it_arrives(
    world: World,
) -> None:
    [reader] = await _waiting_readers(world, COUNCIL)

    published = await world.publish(TRUST, recipients=[COUNCIL])
    assert published.status_code == 202, published.text

    answer = await asyncio.wait_for(reader, timeout=15)
    assert _message_ids(answer) == [published.json()["message_id"]]


@pytest.mark.usefixtures("pipeline")
async def test_many_waiting_readers_hold_no_database_connection(world: World) -> None:
    # More readers than the database pool has connections (one on SQLite): were each holding
    # one while it waits, the publish below could not be written and nobody would be answered.
    readers = await _waiting_readers(world, COUNCIL, 25)

    published = await world.publish(TRUST, recipients=[COUNCIL])
    assert published.status_code == 202, published.text

    answers = await asyncio.wait_for(asyncio.gather(*readers), timeout=15)
    assert {tuple(_message_ids(a)) for a in answers} == {(published.json()["message_id"],)}


@pytest.mark.usefixtures("pipeline")
async def test_another_agencys_delivery_neither_wakes_nor_shows_to_a_waiting_reader(
    world: World,
) -> None:
    housing = asyncio.create_task(world.get(HOUSING, "/v1/inbox", wait="2"))
    [council] = await _waiting_readers(world, COUNCIL)

    published = await world.publish(TRUST, recipients=[COUNCIL])
    assert published.status_code == 202, published.text

    assert _message_ids(await asyncio.wait_for(council, timeout=15)) == [
        published.json()["message_id"]
    ]
    assert _message_ids(await housing) == []


async def test_a_wait_with_nothing_arriving_ends_with_an_empty_page(world: World) -> None:
    answer = await world.get(COUNCIL, "/v1/inbox", wait="0.5")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("wait", ["-1", "31", "soon", "nan"])
async def test_a_wait_outside_zero_to_thirty_seconds_is_refused(world: World, wait: str) -> None:
    answer = await world.get(COUNCIL, "/v1/inbox", wait=wait)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "wait" in answer.text


@pytest.mark.usefixtures("pipeline")
async def test_since_waits_for_what_arrives_after_the_deliveries_already_seen(
    world: World,
) -> None:
    first = await world.publish(TRUST, recipients=[COUNCIL])
    [seen] = await eventually(lambda: world.inbox(COUNCIL), lambda items: len(items) == 1)
    assert seen["message_id"] == first.json()["message_id"]
    reader = asyncio.create_task(
        world.get(COUNCIL, "/v1/inbox", since=seen["delivered_at"], wait=LONG_WAIT)
    )
    await asyncio.sleep(0.3)
    assert not reader.done(), "the delivery already seen answered a reader asking for newer"

    second = await world.publish(TRUST, recipients=[COUNCIL])
    assert second.status_code == 202, second.text

    answer = await asyncio.wait_for(reader, timeout=15)
    assert _message_ids(answer) == [second.json()["message_id"]]


@pytest.mark.parametrize("since", ["2026-11-29T10:00:00", "0001-01-01T00:00:00+14:00"])
async def test_since_without_an_offset_or_out_of_range_is_refused(world: World, since: str) -> None:
    answer = await world.get(COUNCIL, "/v1/inbox", since=since)
    assert answer.status_code == 422, answer.text
    assert "since" in answer.text
