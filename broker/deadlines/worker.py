"""The deadline monitor as a worker: a pass every `deadlines.poll_seconds` until stopped.

A breach is seen within the poll interval plus one pass of its deadline (DeadlineSettings
keeps the interval at 5 s or less); a backlog is worked through without pausing.
"""

import asyncio
import contextlib

from broker.deadlines.monitor import check_deadlines
from broker.runtime import Runtime


async def run_deadline_monitor(rt: Runtime, stop: asyncio.Event) -> None:
    pause = rt.settings.deadlines.poll_seconds
    while not stop.is_set():
        checked = await check_deadlines(rt)
        if checked.more_waiting:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
