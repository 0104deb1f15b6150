"""Notices between processes (PostgreSQL LISTEN/NOTIFY) keep arriving for as long as the
listener runs, not only until its first connection check."""

import asyncio

import pytest

from broker.deliveries import arrivals
from broker.pipeline import notices
from broker.runtime import Runtime
from tests.world import COUNCIL

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def test_a_listener_hears_notices_committed_after_its_connection_checks(
    runtime: Runtime,
) -> None:
    stop = asyncio.Event()
    heard: list[str] = []
    listening = asyncio.create_task(
        notices.listen_on(runtime, arrivals.CHANNEL, heard.append, stop, check_every=0.05)
    )
    try:
        await asyncio.sleep(0.5)  # ten checks of the listening connection
        async with runtime.db.unit_of_work() as session:
            await arrivals.announce(session, [COUNCIL])
            await session.commit()
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.05)
        assert heard == [COUNCIL]
    finally:
        stop.set()
        await listening


async def test_a_rolled_back_transaction_tells_nobody(runtime: Runtime) -> None:
    stop = asyncio.Event()
    heard: list[str] = []
    listening = asyncio.create_task(
        notices.listen_on(runtime, arrivals.CHANNEL, heard.append, stop, check_every=0.05)
    )
    try:
        await asyncio.sleep(0.2)
        async with runtime.db.unit_of_work() as session:
            await arrivals.announce(session, [COUNCIL])  # and not committed
        async with runtime.db.unit_of_work() as session:
            await arrivals.announce(session, ["GP001"])
            await session.commit()
        for _ in range(100):
            if heard:
                break
            await asyncio.sleep(0.05)
        assert heard == ["GP001"]
    finally:
        stop.set()
        await listening
