"""Which lane an event travels in, and urgent work going ahead of routine work."""

import asyncio

import pytest

from broker.pipeline.lanes import Lane, UrgentFirst, lane_of


@pytest.mark.parametrize(
    ("event_type", "urgency", "lane"),
    [
        ("risk.changed", "routine", Lane.ROUTINE),
        ("risk.changed", "urgent", Lane.URGENT),
        ("risk.changed", "emergency", Lane.URGENT),
        ("engagement.disengaged", "routine", Lane.ROUTINE),
        ("engagement.disengaged", "emergency", Lane.URGENT),
        ("crisis.occurred", "routine", Lane.URGENT),
        ("crisis.occurred", "emergency", Lane.URGENT),
    ],
)
def test_urgent_and_emergency_events_and_every_crisis_travel_in_the_urgent_lane(
    event_type: str, urgency: str, lane: Lane
) -> None:
    assert lane_of(event_type, urgency) is lane


def test_the_urgent_lane_sorts_first_when_descending() -> None:
    """The inbox orders by lane, descending, to put urgent deliveries first."""
    assert sorted([lane.value for lane in Lane], reverse=True) == ["urgent", "routine"]


async def test_routine_work_waits_while_urgent_work_is_under_way() -> None:
    gate = UrgentFirst()
    order: list[str] = []

    async def routine() -> None:
        await gate.routine_turn()
        order.append("routine")

    async with gate.urgent():
        waiting = asyncio.create_task(routine())
        await asyncio.sleep(0.01)
        order.append("urgent done")
    await waiting

    assert order == ["urgent done", "routine"]
    await routine()  # with nothing urgent under way, routine work goes at once
    assert order[-1] == "routine"
