"""The notifier worker: notices for new escalations, as often as the deadline monitor looks
for breaches, so a notice follows its escalation within one more poll; and telling duty teams
that IMB turned their agency's delivery channel off."""

import asyncio
import contextlib

from broker.notify.channel_notices import tell_duty_teams
from broker.notify.service import BATCH, notify_due
from broker.runtime import Runtime


async def run_notifier(rt: Runtime, stop: asyncio.Event) -> None:
    while not stop.is_set():
        # A full batch means more may be waiting; otherwise rest until the next poll.
        await tell_duty_teams(rt)
        if await notify_due(rt) < BATCH:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rt.settings.deadlines.poll_seconds)
