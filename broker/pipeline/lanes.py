"""Lanes: urgent work travels apart from routine work, and goes first, end to end.

An event is urgent when its sender says `urgent` or `emergency`, and every `crisis.occurred` is,
whatever its urgency: escalation pathways override routine processes. An urgent event has its
own outbox order, Kafka topics and consumer groups, and its database work goes ahead of routine
batches in the same process (`UrgentFirst`), so a crisis never waits behind a backlog.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum

from schemas.vocabulary import Urgency


class Lane(StrEnum):
    URGENT = "urgent"
    ROUTINE = "routine"


# The order every loop that serves both lanes looks at them in.
URGENT_FIRST = (Lane.URGENT, Lane.ROUTINE)
URGENT_URGENCIES = frozenset({Urgency.URGENT.value, Urgency.EMERGENCY.value})
ALWAYS_URGENT_TYPES = frozenset({"crisis.occurred"})


def lane_of(event_type: str, urgency: str) -> Lane:
    if urgency in URGENT_URGENCIES or event_type in ALWAYS_URGENT_TYPES:
        return Lane.URGENT
    return Lane.ROUTINE


class UrgentFirst:
    """Routine database work in this process waits while any urgent work is under way.

    Routine batches are applied in slices, and each slice first waits its turn here, so urgent
    work waits at most for one routine slice to commit. On SQLite, with its one connection,
    this is what keeps an urgent transaction from queueing behind a backlog's.
    """

    def __init__(self) -> None:
        self._urgent = 0
        self._clear = asyncio.Event()
        self._clear.set()

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        self._urgent += 1
        self._clear.clear()
        try:
            yield
        finally:
            self._urgent -= 1
            if self._urgent == 0:
                self._clear.set()

    async def routine_turn(self) -> None:
        await self._clear.wait()

    @property
    def urgent_under_way(self) -> bool:
        return self._urgent > 0


class Wakeups:
    """One signal per lane: set after a commit that wrote to that lane's outbox, so an
    in-process relay publishes at once instead of at its next poll."""

    def __init__(self) -> None:
        self._events = {lane: asyncio.Event() for lane in Lane}
        # Set after a commit that queued pushes, so each channel's pusher looks at once.
        self._pushes = {kind: asyncio.Event() for kind in ("webhook", "kafka")}

    def wake_pushes(self) -> None:
        for queued in self._pushes.values():
            queued.set()

    async def wait_for_pushes(self, channel: str, at_most: float) -> None:
        """Until pushes are queued in this process or `at_most` seconds have passed (then look
        anyway: retries come due, and other processes queue pushes too)."""
        queued = self._pushes[channel]
        try:
            await asyncio.wait_for(queued.wait(), at_most)
        except TimeoutError:
            return
        queued.clear()

    def wake(self, lane: Lane) -> None:
        self._events[lane].set()

    def wake_all(self) -> None:
        for event in self._events.values():
            event.set()

    async def wait(self, lane: Lane, at_most: float) -> None:
        """Until the lane is woken or `at_most` seconds have passed (then look anyway: another
        process may have written to the outbox)."""
        event = self._events[lane]
        try:
            await asyncio.wait_for(event.wait(), at_most)
        except TimeoutError:
            return
        event.clear()
