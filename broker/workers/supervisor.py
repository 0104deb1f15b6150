"""Running the workers: each restarts after a failure, and all stop on request."""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from aiokafka import AIOKafkaProducer

from broker.audit.worker import run_chainer
from broker.deadlines.worker import run_deadline_monitor
from broker.deliveries.agency_topics import run_agency_producer
from broker.deliveries.heartbeats import run_heartbeats
from broker.deliveries.push import run_pusher
from broker.kafka.topics import ensure_topics
from broker.notify.worker import run_notifier
from broker.pipeline import notices, stages, transport
from broker.pipeline.consume import Stage, consume
from broker.pipeline.lanes import URGENT_FIRST, Lane
from broker.pipeline.recovery import run_stall_recovery
from broker.pipeline.relay import OutboxRelay
from broker.runtime import Runtime
from broker.workers.stall import FailingSince, LoopStalled

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


async def pipeline_topics_exist(rt: Runtime, bootstrap: str) -> None:
    """Made afresh where missing, each time a stage starts: a Kafka broker restarted without
    its data would otherwise make them on first use, with its own partition count."""
    kafka = rt.settings.kafka
    await ensure_topics(
        bootstrap, kafka.pipeline_topics(), kafka.replication_factor, configs=kafka.topic_configs()
    )


async def run_relay(rt: Runtime, bootstrap: str, lane: Lane, stop: asyncio.Event) -> None:
    await pipeline_topics_exist(rt, bootstrap)
    kafka = transport.producer(bootstrap)
    await kafka.start()
    try:
        await OutboxRelay(rt, kafka, lane).run(stop)
    finally:
        await kafka.stop()


async def run_consumer(
    rt: Runtime, bootstrap: str, stage: Stage, lane: Lane, stop: asyncio.Event
) -> None:
    await pipeline_topics_exist(rt, bootstrap)
    settings = rt.settings.kafka
    kafka = transport.consumer(
        bootstrap, stage.topic(settings, lane), stage.group(settings, lane), settings
    )
    await kafka.start()
    try:
        await consume(rt, kafka, stage, lane, stop)
    finally:
        await kafka.stop()


def worker_loops(
    worker: Worker, rt: Runtime, bootstrap: str, stop: asyncio.Event
) -> dict[str, Callable[[], Awaitable[None]]]:
    """The loops a worker runs, by name: the pipeline's stages one per lane, each supervised on
    its own so that a failing routine loop never stops the urgent one."""
    if worker is Worker.DEADLINES:
        return {worker.value: lambda: run_deadline_monitor(rt, stop)}
    if worker is Worker.NOTIFIER:
        return {worker.value: lambda: run_notifier(rt, stop)}
    if worker is Worker.CHAINER:
        return {worker.value: lambda: run_chainer(rt, stop)}
    if worker is Worker.RELAY:
        return {
            **{
                f"relay-{lane}": functools.partial(run_relay, rt, bootstrap, lane, stop)
                for lane in URGENT_FIRST
            },
            "relay-notices": lambda: notices.listen(rt, stop),
            "relay-recovery": lambda: run_stall_recovery(rt, stop),
        }
    stage = stages.ROUTER if worker is Worker.ROUTER else stages.DISPATCHER
    loops: dict[str, Callable[[], Awaitable[None]]] = {
        f"{worker.value}-{lane}": functools.partial(run_consumer, rt, bootstrap, stage, lane, stop)
        for lane in URGENT_FIRST
    }
    if worker is Worker.DISPATCHER:
        loops["pusher"] = lambda: run_pusher(rt, stop)
        loops["agency-topics"] = lambda: run_agency_producer(rt, bootstrap, stop)
        loops["heartbeats"] = lambda: run_heartbeats(rt, bootstrap, stop)
    return loops


async def supervise(
    name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event, stall_after: float = 0
) -> None:
    """Run until stopped, restarting with a growing pause after each failure; raise LoopStalled
    once every attempt has failed for longer than `stall_after` seconds (0: never)."""
    backoff = 0.5
    failing = FailingSince(stall_after)
    clock = asyncio.get_running_loop().time
    while not stop.is_set():
        began = clock()
        try:
            await run()
            backoff = 0.5
            failing.succeeded()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            failing_for = failing.failed(began, clock())
            if failing.stalled(failing_for):
                raise LoopStalled(name, failing_for, exc) from exc
            log.exception("worker %s failed; restarting in %.1fs", name, backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def start_api_loops(rt: Runtime, stop: asyncio.Event) -> list[asyncio.Task[None]]:
    """What an API process runs beside its requests: it hears of deliveries made available in
    any process, for the inbox readers waiting for one."""
    loops = {"inbox-notices": lambda: notices.listen_for_arrivals(rt, stop)}
    return [
        asyncio.create_task(supervise(name, loop, stop), name=name) for name, loop in loops.items()
    ]


def start_workers(
    rt: Runtime, bootstrap: str, workers: list[Worker], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """Each worker's loops, supervised; a loop that fails for longer than the settings allow
    ends its task with LoopStalled (`broker.workers.stall`)."""
    stall_after = rt.settings.workers.stall_exit_seconds
    return [
        asyncio.create_task(supervise(name, loop, stop, stall_after), name=name)
        for worker in workers
        for name, loop in worker_loops(worker, rt, bootstrap, stop).items()
    ]


async def stop_workers(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    stop.set()
    _, still_running = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
    for task in still_running:
        task.cancel()
    # Every outcome collected, that of a loop that gave up as the others stopped included: the
    # first to give up has already said why the process ends.
    await asyncio.gather(*tasks, return_exceptions=True)


async def readiness_probe(bootstrap: str) -> tuple[AIOKafkaProducer, Callable[[], Awaitable[bool]]]:
    """A small client kept open for /readyz, so a probe does not open a connection each time."""
    kafka = transport.producer(bootstrap)
    await kafka.start()
    return kafka, lambda: transport.kafka_reachable(kafka)
