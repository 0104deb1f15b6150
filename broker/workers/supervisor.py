"""Running the workers: each restarts after a failure, and all stop on request."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from aiokafka import AIOKafkaProducer

from broker.audit.worker import run_chainer
from broker.deadlines.worker import run_deadline_monitor
from broker.notify.worker import run_notifier
from broker.pipeline import stages, transport
from broker.pipeline.consume import Stage, consume
from broker.pipeline.relay import OutboxRelay
from broker.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 30.0


class Worker(StrEnum):
    RELAY = "relay"
    ROUTER = "router"
    DISPATCHER = "dispatcher"
    DEADLINES = "deadlines"
    NOTIFIER = "notifier"
    CHAINER = "chainer"

    @property
    def needs_kafka(self) -> bool:
        return self in (Worker.RELAY, Worker.ROUTER, Worker.DISPATCHER)


async def run_relay(rt: Runtime, bootstrap: str, stop: asyncio.Event) -> None:
    kafka = transport.producer(bootstrap)
    await kafka.start()
    try:
        await OutboxRelay(rt, kafka).run(stop)
    finally:
        await kafka.stop()


async def run_consumer(
    rt: Runtime, bootstrap: str, topic: str, group: str, stage: Stage, stop: asyncio.Event
) -> None:
    kafka = transport.consumer(bootstrap, topic, group, rt.settings.kafka)
    await kafka.start()
    try:
        await consume(rt, kafka, stage, stop)
    finally:
        await kafka.stop()


def worker_loop(
    worker: Worker, rt: Runtime, bootstrap: str, stop: asyncio.Event
) -> Callable[[], Awaitable[None]]:
    kafka = rt.settings.kafka
    if worker is Worker.RELAY:
        return lambda: run_relay(rt, bootstrap, stop)
    if worker is Worker.ROUTER:
        return lambda: run_consumer(
            rt, bootstrap, kafka.events_topic, kafka.router_group, stages.ROUTER, stop
        )
    if worker is Worker.DEADLINES:
        return lambda: run_deadline_monitor(rt, stop)
    if worker is Worker.NOTIFIER:
        return lambda: run_notifier(rt, stop)
    if worker is Worker.CHAINER:
        return lambda: run_chainer(rt, stop)
    return lambda: run_consumer(
        rt, bootstrap, kafka.deliveries_topic, kafka.dispatcher_group, stages.DISPATCHER, stop
    )


async def supervise(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
    """Run until stopped, restarting with a growing pause after each failure."""
    backoff = 0.5
    while not stop.is_set():
        try:
            await run()
            backoff = 0.5
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("worker %s failed; restarting in %.1fs", name, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def start_workers(
    rt: Runtime, bootstrap: str, workers: list[Worker], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(supervise(w.value, worker_loop(w, rt, bootstrap, stop), stop), name=w)
        for w in workers
    ]


async def stop_workers(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    stop.set()
    _, still_running = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
    for task in still_running:
        task.cancel()
    await asyncio.gather(*still_running, return_exceptions=True)


async def readiness_probe(bootstrap: str) -> tuple[AIOKafkaProducer, Callable[[], Awaitable[bool]]]:
    """A small client kept open for /readyz, so a probe does not open a connection each time."""
    kafka = transport.producer(bootstrap)
    await kafka.start()
    return kafka, lambda: transport.kafka_reachable(kafka)
