"""Group commit: single publishes that arrive together are written in one transaction.

Each POST /v1/events alone would cost a transaction of its own: its reads (earlier events,
recipients, the person), its inserts and a commit, each a round trip to the database. While
one group's transaction is under way, the publishes that arrive wait for the next, which then
takes them all (up to a batch's worth): under load, tens of events share each transaction and
its commit; a publish alone is written at once, with nothing added to its wait.

An event's answer is what it would have been alone. If a group's transaction fails (another
request took one of its event ids between the look and the commit, say), each of its events is
written again on its own, so one event's trouble is never another's.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy.exc import IntegrityError

from broker.audit.log import Actor
from broker.messages.submit import Outcome, submit_events
from broker.runtime import Runtime
from schemas.events import MAX_BATCH, EventSubmission

log = logging.getLogger(__name__)


@dataclass
class _Waiting:
    actor: Actor
    event: EventSubmission
    answer: asyncio.Future[Outcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, actor: Actor, event: EventSubmission) -> Outcome:
        """The event's outcome once it is committed (or refused)."""
        waiting = _Waiting(actor, event)
        self._waiting.append(waiting)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_while_waiting())
        # A client that goes away does not take its event out of a transaction under way.
        return await asyncio.shield(waiting.answer)

    async def _write_while_waiting(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                outcomes = await self._together(group)
            except Exception:  # whatever it was, each event alone meets only its own fate
                log.info("a group of %d publishes is written one by one", len(group))
                await self._one_by_one(group)
                continue
            for waiting, outcome in zip(group, outcomes, strict=True):
                waiting.answer.set_result(outcome)

    async def _together(self, group: Sequence[_Waiting]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        async with self._rt.db.unit_of_work() as session:
            # Each caller's events together, in arrival order within each caller.
            for actor, same in groupby(group, key=lambda waiting: waiting.actor):
                events = [waiting.event for waiting in same]
                outcomes += await submit_events(session, self._rt, actor, events)
            await session.commit()
        return outcomes

    async def _one_by_one(self, group: Sequence[_Waiting]) -> None:
        for waiting in group:
            try:
                waiting.answer.set_result(
                    await submit_alone(self._rt, waiting.actor, waiting.event)
                )
            except Exception as exc:  # the request that sent it answers it as it would alone
                waiting.answer.set_exception(exc)


async def submit_alone(rt: Runtime, actor: Actor, event: EventSubmission) -> Outcome:
    """One event in its own transaction; once more if another request accepted its event id
    between our look and our commit (the second pass answers it as a replay)."""
    try:
        return await _in_own_transaction(rt, actor, event)
    except IntegrityError:
        return await _in_own_transaction(rt, actor, event)


async def _in_own_transaction(rt: Runtime, actor: Actor, event: EventSubmission) -> Outcome:
    async with rt.db.unit_of_work() as session:
        (outcome,) = await submit_events(session, rt, actor, [event])
        await session.commit()
    return outcome
