"""P1: events accepted and routed through single POSTs and through batches, and the bare
aiokafka reference on the same Kafka-protocol broker in the same run."""

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.estate import Estate, fresh_database, set_up
from bench.load import Api, available, flat_out, in_batches, routine_event, wait_available
from bench.measure import CpuMeter, PeakRss, summary_ms
from tests.world import TRUST

RECIPIENTS = 2


async def through_the_api(
    estate: Estate,
    events: int,
    concurrency: int,
    batch: int | None,
    on_serving: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Publish `events` flat out (single POSTs, or batches of `batch`) to a fresh `imb serve`
    and wait for every delivery to be available; rates, latencies and what it cost.
    `on_serving` is told the serve process's id once it is up (to attach a profiler)."""
    serving = estate.serve()
    if on_serving:
        on_serving(serving.process.pid)
    load = [routine_event(i) for i in range(events)]
    try:
        async with Api(serving.base_url, concurrency) as api:
            auth = await api.bearer(estate.clients[TRUST])
            meter = CpuMeter({"imb": [serving.process.pid]}).start()
            with PeakRss(serving.process.pid) as rss:
                begin = time.time()
                if batch:
                    sent = await in_batches(api, auth, load, batch, concurrency)
                else:
                    sent = await flat_out(api, auth, load, concurrency)
                accepted = time.time() - begin
                done = await wait_available(estate, RECIPIENTS * events, timeout=900)
            cpu = meter.stop()
    finally:
        estate.stop()
    arrivals = await available(estate)
    latencies = [at - sent[m] for m, ats in arrivals.items() if m in sent for at in ats]
    return {
        "events": events,
        "via": f"batches of {batch}" if batch else "single POSTs",
        "concurrency": concurrency,
        "accepted_per_s": round(events / accepted, 1),
        "routed_per_s": round(events / (done - begin), 1),
        "deliveries_per_s": round(RECIPIENTS * events / (done - begin), 1),
        "publish_to_inbox_ms": summary_ms(latencies),
        "cpu_s": cpu,
        "imb_cpu_ms_per_event": round(cpu["imb"] * 1000 / events, 2),
        "postgresql_cpu_ms_per_event": round(cpu["postgresql"] * 1000 / events, 2),
        "imb_peak_rss_mb": rss.peak_mb,
    }


async def bare_aiokafka(bootstrap: str, records: int, size: int = 1200) -> float:
    """Records a second for a produce→consume of `records` records of `size` bytes."""
    topic = f"bench-bare-{uuid.uuid4().hex[:8]}"
    value = b"x" * size
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest"
    )
    await producer.start()
    await consumer.start()
    try:
        begin = time.perf_counter()
        sends = [
            await producer.send(topic, value, key=str(i % 64).encode()) for i in range(records)
        ]
        await asyncio.gather(*sends)
        seen = 0
        while seen < records:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(r) for r in batch.values())
        return records / (time.perf_counter() - begin)
    finally:
        await producer.stop()
        await consumer.stop()


def measure(
    kafka: str, folder: Path, database: str, admin_url: str, events: int, batch_events: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, count, batch, concurrency in (
        ("single", events, None, 64),
        ("batch", batch_events, 500, 4),
    ):
        with fresh_database(database, folder, admin_url) as url:
            estate = set_up(folder, url, kafka)
            results[name] = asyncio.run(through_the_api(estate, count, concurrency, batch))
    bare = asyncio.run(bare_aiokafka(kafka, max(events, 10_000)))
    results["bare_aiokafka_records_per_s"] = round(bare, 1)
    for name in ("single", "batch"):
        results[name]["ratio_to_bare_aiokafka"] = round(results[name]["deliveries_per_s"] / bare, 3)
    return results
