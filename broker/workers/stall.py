"""Giving up loudly: a worker loop that has failed on every attempt for longer than
IMB_WORKERS__STALL_EXIT_SECONDS ends its process with exit status 3, so that what runs it
(Kubernetes, compose) starts a fresh one and its operators see the restarts.

Waiting is not failing. A consumer whose Kafka has gone quiet, or a relay with nothing to send,
makes no attempt that fails, and is left alone: the heartbeat file and /readyz speak for those.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from broker.outages import outage_of

log = logging.getLogger(__name__)
STALL_EXIT_STATUS = 3
# A run this long got somewhere (it connected, it read) before it failed: the clock restarts.
STEADY_RUN_SECONDS = 5.0


class LoopStalled(Exception):
    """The one line an operator reads: which loop, for how long, and the last error's type
    with what it means, never its message (which may quote data)."""

    def __init__(self, loop: str, seconds: float, error: BaseException) -> None:
        reason = outage_of(error) or "an unexpected error"
        super().__init__(
            f"worker loop {loop} has failed on every attempt for {seconds:.0f} s "
            f"(last: {type(error).__name__}, {reason}); exiting with status "
            f"{STALL_EXIT_STATUS} to be restarted"
        )


@dataclass
class FailingSince:
    """How long a loop has failed on every attempt; `limit` 0 never calls it stalled."""

    limit: float
    since: float | None = None

    def succeeded(self) -> None:
        self.since = None

    def failed(self, began: float, ended: float) -> float:
        """Record a run that failed; how long the loop has now been failing."""
        if ended - began >= STEADY_RUN_SECONDS:
            self.since = ended
        elif self.since is None:
            self.since = began
        return ended - self.since

    def stalled(self, failing_for: float) -> bool:
        return 0 < self.limit < failing_for


async def first_stall(tasks: Sequence[asyncio.Task[None]]) -> LoopStalled | None:
    """The first loop to give up, logged; None once every loop has ended without giving up.
    Others that give up while the process stops add nothing: one line says why it ended."""
    pending = set(tasks)
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, LoopStalled):
                log.error("%s", error)
                return error
    return None


async def until_stopped_or_stalled(
    tasks: Sequence[asyncio.Task[None]], stop: asyncio.Event
) -> LoopStalled | None:
    """Wait for a stop request or a loop that gives up, whichever comes first."""
    stopped = asyncio.create_task(stop.wait())
    stalled = asyncio.create_task(first_stall(tasks))
    await asyncio.wait({stopped, stalled}, return_when=asyncio.FIRST_COMPLETED)
    for waiter in (stopped, stalled):
        waiter.cancel()
    return stalled.result() if stalled.done() and not stalled.cancelled() else None
