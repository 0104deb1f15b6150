"""The chainer as a worker: links committed audit records, signs checkpoints when due, and
verifies the whole chain on a schedule."""

import asyncio
import contextlib
import time
from datetime import datetime, timedelta

from broker.audit import checkpoints
from broker.audit.chain import Chained, link_batch, lock_head, recent_floor
from broker.audit.log import BROKER
from broker.audit.verification import last_verification, run_verification
from broker.audit.verify import VerifyReport
from broker.logs import after_commit, get_logger
from broker.runtime import Runtime

log = get_logger(__name__)
# How often the worker asks whether a scheduled verification is due, at most.
VERIFY_CHECK_SECONDS = 60.0


async def chain_pending(rt: Runtime, *, sweep: bool = True) -> Chained:
    """One pass: link the next batch of unchained records, then checkpoint if one is due.

    A sweep looks at every record; otherwise only the recent window of ids is searched
    (see `broker.audit.chain`).
    """
    settings = rt.settings.audit
    async with rt.db.unit_of_work() as session:
        head = await lock_head(session)
        above = 0 if sweep else await recent_floor(session, settings.late_window)
        chained = await link_batch(session, head, settings.batch_size, above)
        await session.flush()
        last = await checkpoints.latest(session)
        now = rt.clock()
        if checkpoints.due(
            head, last, now, settings.checkpoint_records, settings.checkpoint_seconds
        ):
            keys = rt.keys
            session.add(
                checkpoints.sign(
                    keys.audit_signing_key, keys.audit_key_id, head.seq, head.hash, now
                )
            )
            after_commit(session, log, "audit.checkpointed", seq=head.seq, key_id=keys.audit_key_id)
        await session.commit()
    return chained


async def verify_if_due(rt: Runtime, since: datetime) -> VerifyReport | None:
    """The scheduled verification, recorded as the broker's own: due once `verify_seconds`
    have passed since the last verification anyone recorded, or since `since` (the worker's
    start) when there was none."""
    async with rt.db.unit_of_work() as session:
        last = await last_verification(session)
    baseline = last.at if last is not None else since
    if rt.clock() - baseline < timedelta(seconds=rt.settings.audit.verify_seconds):
        return None
    return await run_verification(rt, BROKER)


async def run_chainer(rt: Runtime, stop: asyncio.Event) -> None:
    settings = rt.settings.audit
    started, check_every = rt.clock(), min(settings.verify_seconds, VERIFY_CHECK_SECONDS)
    last_sweep: float | None = None
    next_verify_check = time.monotonic() + check_every
    while not stop.is_set():
        sweep = last_sweep is None or time.monotonic() - last_sweep >= settings.sweep_seconds
        chained = await chain_pending(rt, sweep=sweep)
        if sweep and not chained.more_waiting:
            last_sweep = time.monotonic()
        if chained.more_waiting:
            continue
        if time.monotonic() >= next_verify_check:
            await verify_if_due(rt, started)
            next_verify_check = time.monotonic() + check_every
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.poll_seconds)
