"""The pipeline keeps delivering when its Kafka broker is restarted without its data, as the
fault campaign's R2 does: topics are made again by the stages, a consumer whose offsets the
broker will not take starts afresh rather than waiting for ever, and events whose records were
lost are announced again."""

import asyncio
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from broker.kafka.topics import ensure_topics
from broker.pipeline import consume
from broker.settings import Settings, WorkerSettings
from broker.workers.supervisor import Worker
from tests.faults.cluster import KafkaBroker
from tests.pipelines import running_workers
from tests.world import COUNCIL, TRUST, World, eventually


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(tmp_path / "kafka.log")
    broker.start()
    yield broker
    broker.kill()


@pytest.fixture
def settings(settings: Settings, database_url: str, own_kafka: KafkaBroker) -> Settings:
    settings.kafka_bootstrap_servers = own_kafka.bootstrap
    settings.workers = WorkerSettings(relay_idle_seconds=0.05, reannounce_after_seconds=2)
    return settings


async def test_events_before_and_after_an_empty_restart_are_all_delivered_once(
    world: World, own_kafka: KafkaBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consume, "COMMIT_TIMEOUT_SECONDS", 3.0)
    async with running_workers(world.rt, list(Worker)):
        before = [await world.publish(TRUST, recipients=[COUNCIL]) for _ in range(3)]
        await eventually(lambda: world.inbox(COUNCIL), lambda found: len(found) == 3)

        own_kafka.kill()
        await asyncio.to_thread(own_kafka.start)  # the same address, nothing on it
        after = [await world.publish(TRUST, recipients=[COUNCIL]) for _ in range(3)]
        items = await eventually(
            lambda: world.inbox(COUNCIL), lambda found: len(found) >= 6, timeout=90
        )
        await asyncio.sleep(2)  # any duplicate that was going to appear, appears
        items = await world.inbox(COUNCIL)

    sent = sorted(answer.json()["message_id"] for answer in before + after)
    assert sorted(item["message_id"] for item in items) == sent


async def test_a_commit_the_broker_will_not_take_fails_the_loop_rather_than_wedging_it(
    own_kafka: KafkaBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What wedged the routers in the campaign: aiokafka retries a refused commit without
    end. A broker that answers nothing (stopped, not gone) refuses it the same way."""
    monkeypatch.setattr(consume, "COMMIT_TIMEOUT_SECONDS", 2.0)
    topic = f"commits-{uuid.uuid4().hex[:8]}"
    await ensure_topics(own_kafka.bootstrap, {topic: 1})
    producer = AIOKafkaProducer(bootstrap_servers=own_kafka.bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, b"one record")
    await producer.stop()
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=own_kafka.bootstrap,
        group_id=f"group-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )
    await reader.start()
    assert own_kafka.process is not None
    try:
        assert await reader.getmany(timeout_ms=10_000)
        own_kafka.process.send_signal(signal.SIGSTOP)
        with pytest.raises(consume.CommitStuck):
            await asyncio.wait_for(consume.commit_offsets(reader), 20)
    finally:
        own_kafka.process.send_signal(signal.SIGCONT)
        await reader.stop()
