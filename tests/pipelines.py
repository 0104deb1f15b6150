"""Running the broker's workers in the test's own process against the real Kafka broker."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from broker.kafka.topics import ensure_topics
from broker.runtime import Runtime
from broker.workers.supervisor import Worker, start_api_loops, start_workers, stop_workers


@asynccontextmanager
async def running_workers(rt: Runtime, workers: list[Worker]) -> AsyncIterator[None]:
    """`workers` running until the block ends, the topics they use created first, and beside
    them what `imb serve` runs for its API (the API under test is in this process too)."""
    settings = rt.settings
    assert settings.kafka_bootstrap_servers
    await ensure_topics(settings.kafka_bootstrap_servers, settings.kafka.pipeline_topics())
    stop = asyncio.Event()
    tasks = start_workers(rt, settings.kafka_bootstrap_servers, workers, stop)
    tasks += start_api_loops(rt, stop)
    try:
        yield
    finally:
        await stop_workers(tasks, stop)
