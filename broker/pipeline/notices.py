"""Outbox notices between processes (PostgreSQL).

A relay in the process that wrote to the outbox is woken in memory (`Wakeups`). A relay in a
process of its own would otherwise find the entries only at its next poll
(`relay_idle_seconds`), once for the events and once again for the deliveries. So every
transaction that writes to a lane's outbox also sends `NOTIFY imb_outbox, '<lane>'`, which
PostgreSQL delivers when (and only if) it commits, and every process that runs a relay
listens and wakes that lane's relay at once. The poll stays as the fallback: a lost notice
delays an entry by at most one poll. SQLite has a single process, so it needs none of this.

The API processes listen the same way for deliveries made available (`imb_inbox`), to answer
inbox readers that wait for one.
"""

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from broker.db.engine import is_sqlite
from broker.deliveries import arrivals
from broker.pipeline.lanes import Lane
from broker.runtime import Runtime

CHANNEL = "imb_outbox"
# How often the listening connection is checked; a broken one is replaced by the supervisor.
CHECK_EVERY_SECONDS = 30.0


async def announce(session: AsyncSession, lanes: Iterable[Lane]) -> None:
    """Tell every relay process, at this transaction's commit, that these lanes have entries."""
    if session.bind is None or session.bind.dialect.name != "postgresql":
        return
    for lane in sorted(set(lanes)):
        await session.execute(
            text("SELECT pg_notify(:channel, :lane)"), {"channel": CHANNEL, "lane": lane.value}
        )


async def listen(rt: Runtime, stop: asyncio.Event) -> None:
    """Wake this process's relays whenever any process commits outbox entries, until stopped."""

    def on_notice(payload: str) -> None:
        with contextlib.suppress(ValueError):  # a notice from a newer version's lane
            rt.wakeups.wake(Lane(payload))

    await listen_on(rt, CHANNEL, on_notice, stop)


async def listen_for_arrivals(rt: Runtime, stop: asyncio.Event) -> None:
    """Tell this process's waiting inbox readers whenever any process makes a delivery
    available to their agency (`broker.deliveries.arrivals`), until stopped."""
    await listen_on(rt, arrivals.CHANNEL, lambda agency: rt.arrivals.tell([agency]), stop)


async def listen_on(
    rt: Runtime,
    channel: str,
    on_notice: Callable[[str], None],
    stop: asyncio.Event,
    check_every: float = CHECK_EVERY_SECONDS,
) -> None:
    if is_sqlite(rt.db.url):
        await stop.wait()  # nothing to listen for; returning early would only be restarted
        return

    def on_payload(_connection: object, _pid: int, _channel: str, payload: str) -> None:
        on_notice(payload)

    async with rt.db.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        listener: Any = raw.driver_connection  # asyncpg's connection: it has LISTEN
        await listener.add_listener(channel, on_payload)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), check_every)
                # Raises if the connection is gone. Straight through the driver, outside any
                # transaction: PostgreSQL holds notices back from a connection inside one, so
                # a check that opened a transaction would silence every notice after it.
                await listener.execute("SELECT 1")
        finally:
            with contextlib.suppress(Exception):
                await listener.remove_listener(channel, on_payload)
