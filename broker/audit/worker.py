"""The chainer as a worker: links committed audit records and signs checkpoints when due."""

import asyncio
import contextlib

from broker.audit import checkpoints
from broker.audit.chain import Chained, link_batch, lock_head
from broker.runtime import Runtime


async def chain_pending(rt: Runtime) -> Chained:
    """One pass: link the next batch of unchained records, then checkpoint if one is due."""
    settings = rt.settings.audit
    async with rt.db.unit_of_work() as session:
        head = await lock_head(session)
        chained = await link_batch(session, head, settings.batch_size)
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
    pause = rt.settings.audit.poll_seconds
    while not stop.is_set():
        chained = await chain_pending(rt)
        if chained.more_waiting:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
