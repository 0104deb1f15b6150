"""The chainer as a worker: links committed audit records and signs checkpoints when due."""

import asyncio
import contextlib
import time

from broker.audit import checkpoints
from broker.audit.chain import Chained, link_batch, lock_head, recent_floor
from broker.runtime import Runtime


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
        await session.commit()
    return chained


async def run_chainer(rt: Runtime, stop: asyncio.Event) -> None:
    pause, sweep_every = rt.settings.audit.poll_seconds, rt.settings.audit.sweep_seconds
    last_sweep: float | None = None
    while not stop.is_set():
        sweep = last_sweep is None or time.monotonic() - last_sweep >= sweep_every
        chained = await chain_pending(rt, sweep=sweep)
        if sweep and not chained.more_waiting:
            last_sweep = time.monotonic()
        if chained.more_waiting:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
