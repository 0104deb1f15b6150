"""Readiness tells the truth: /readyz answers 503 while the database or Kafka is out of reach and
200 again by itself once it returns, within seconds even when the network swallows packets;
and a request that needs the database meanwhile is a 503 to retry, never a 500, writing nothing.

The database is cut as an outage looks to IMB: PostgreSQL behind a proxy that drops every
connection (tests/faults/proxy.py); SQLite's folder taken away, as an unmounted volume."""

import asyncio
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from broker.api.app import create_app
from broker.db.models import AuditRecord, Message, OutboxEntry
from broker.db.reachability import DatabaseUnreachable
from broker.kafka.embedded import find_tansu_binary
from broker.outages import DATABASE_UNREACHABLE, outage_of
from broker.runtime import Runtime, build_runtime
from broker.settings import Settings
from broker.workers.supervisor import readiness_probe
from tests.e2e.processes import free_port
from tests.faults.proxy import CuttableProxy, cuttable
from tests.rows import row_counts
from tests.world import TRUST, World, eventually, risk_event

# Kafka's reachability does not depend on the database: one is enough.
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
# Longer than the readiness check's own limit, shorter than anyone would wait for a probe.
PROBE_BOUND_SECONDS = 4.0


@dataclass
class Outage:
    """Takes the test's database out of IMB's reach, and gives it back."""

    cut: Callable[[Runtime], Awaitable[None]]
    restore: Callable[[], None]


@pytest.fixture
def outage_and_url(database_url: str, tmp_path: Path) -> Iterator[tuple[Outage, str]]:
    if database_url.startswith("sqlite"):
        yield _sqlite_outage(database_url, tmp_path / "volume")
        return
    url = make_url(database_url)
    with cuttable(url.host or "127.0.0.1", url.port or 5432) as proxy:
        behind = url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
        yield _proxy_outage(proxy), behind


def _sqlite_outage(database_url: str, volume: Path) -> tuple[Outage, str]:
    volume.mkdir()
    database = volume / "imb.db"
    shutil.move(str(make_url(database_url).database), database)
    away = volume.with_name("volume-away")

    async def cut(rt: Runtime) -> None:
        _move(volume, away)
        await rt.db.engine.dispose()  # its open connection would still reach the moved file

    return Outage(cut, lambda: _move(away, volume)), f"sqlite+aiosqlite:///{database}"


def _move(folder: Path, to: Path) -> None:
    folder.rename(to)


def _proxy_outage(proxy: CuttableProxy) -> Outage:
    async def cut(_rt: Runtime) -> None:
        proxy.cut()

    return Outage(cut, proxy.restore)


@pytest.fixture
def outage(outage_and_url: tuple[Outage, str]) -> Outage:
    return outage_and_url[0]


@pytest.fixture
def settings(settings: Settings, outage_and_url: tuple[Outage, str]) -> Settings:
    """The test's settings, with the database reached only through what the outage cuts."""
    return settings.model_copy(update={"database_url": outage_and_url[1]})


@pytest.fixture
async def kafka_probe(runtime: Runtime, settings: Settings) -> AsyncIterator[None]:
    """/readyz's Kafka check, as `imb serve` sets it up."""
    assert settings.kafka_bootstrap_servers
    probe, runtime.kafka_ready = await readiness_probe(settings.kafka_bootstrap_servers)
    yield
    await probe.stop()


async def _ready(api: httpx.AsyncClient) -> httpx.Response:
    async with asyncio.timeout(PROBE_BOUND_SECONDS):
        return await api.get("/readyz")


@pytest.mark.usefixtures("kafka_probe")
async def test_readiness_is_503_while_the_database_is_out_of_reach_and_200_once_it_returns(
    api: httpx.AsyncClient, runtime: Runtime, outage: Outage
) -> None:
    before = await _ready(api)
    await outage.cut(runtime)
    during = [await _ready(api) for _ in range(3)]
    outage.restore()
    after = await eventually(lambda: _ready(api), lambda r: r.status_code == 200, timeout=15)

    assert before.status_code == 200, before.text
    for response in during:
        assert response.status_code == 503
        assert response.json() == {
            "status": "not_ready",
            "checks": {"database": False, "kafka": True},
        }
    assert after.json() == {"status": "ready", "checks": {"database": True, "kafka": True}}


async def test_a_publish_while_the_database_is_out_of_reach_is_a_503_to_retry_writing_nothing(
    world: World, runtime: Runtime, outage: Outage
) -> None:
    event = risk_event()
    counted = (Message, AuditRecord, OutboxEntry)
    before = await row_counts(runtime, *counted)
    await outage.cut(runtime)

    refused = await world.publish(TRUST, **event)
    outage.restore()
    after_outage = await row_counts(runtime, *counted)
    retried = await world.publish(TRUST, **event)

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "5"
    problem = refused.json()
    assert problem["type"] == "urn:imb:problem:unavailable"
    assert problem["instance"] == "/v1/events"
    assert after_outage == before
    assert retried.status_code == 202, retried.text


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A PostgreSQL URL whose server takes connections and never says a word, as a network
    that swallows packets looks to a client."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{listener.getsockname()[1]}/test"


@pytest.fixture
async def silent_database(settings: Settings, blackhole: str) -> AsyncIterator[httpx.AsyncClient]:
    """IMB's API (same keys, so the world's tokens hold) over a database that never answers."""
    rt = build_runtime(settings.model_copy(update={"database_url": blackhole}))
    rt.kafka_ready = _always_reachable
    transport = httpx.ASGITransport(app=create_app(rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://imb.test") as client:
        yield client
    await rt.close()


async def _always_reachable() -> bool:
    return True


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_readiness_answers_within_seconds_when_the_database_never_answers(
    silent_database: httpx.AsyncClient,
) -> None:
    response = await _ready(silent_database)

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": False, "kafka": True}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_request_whose_database_never_answers_is_a_503_once_connecting_times_out(
    world: World, silent_database: httpx.AsyncClient
) -> None:
    async with asyncio.timeout(15):
        refused = await silent_database.post(
            "/v1/events", json=risk_event(), headers=world.auth(TRUST)
        )

    assert refused.status_code == 503, refused.text
    assert refused.json()["type"] == "urn:imb:problem:unavailable"
    assert refused.headers["retry-after"] == "5"


async def _error_of(rt: Runtime, statement: str) -> DBAPIError:
    try:
        async with rt.db.unit_of_work() as session:
            await session.execute(text(statement))
    except DBAPIError as exc:
        return exc
    raise AssertionError(f"{statement!r} did not fail")


async def test_a_fault_in_the_database_is_never_taken_for_an_outage(runtime: Runtime) -> None:
    """Only a service out of reach is a 503: a duplicate key or a bad statement is IMB's own
    fault (a 500, logged with its frames), never something to retry."""
    duplicate = await _error_of(
        runtime, "INSERT INTO timeframe_policies SELECT * FROM timeframe_policies"
    )
    no_such_table = await _error_of(runtime, "SELECT * FROM nowhere")

    assert isinstance(duplicate, IntegrityError)
    assert outage_of(duplicate) is None
    assert outage_of(no_such_table) is None
    assert outage_of(DatabaseUnreachable("refused")) == DATABASE_UNREACHABLE


@contextmanager
def kafka_behind_a_proxy() -> Iterator[CuttableProxy]:
    """A Kafka-protocol broker (Tansu) reached only through a proxy, advertising the proxy's
    address so that clients come back through it after every metadata answer."""
    port = free_port()
    with cuttable("127.0.0.1", port) as proxy:
        broker = subprocess.Popen(
            [
                *(str(find_tansu_binary()), "broker", "--storage-engine", "memory://tansu/"),
                *("--cluster-id", f"readiness-{port}"),
                *("--listener-url", f"tcp://127.0.0.1:{port}"),
                *("--advertised-listener-url", f"tcp://127.0.0.1:{proxy.port}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            yield proxy
        finally:
            broker.terminate()
            broker.wait(timeout=10)


async def _probe_when_up(bootstrap: str) -> tuple[AIOKafkaProducer, Callable[[], Awaitable[bool]]]:
    for _ in range(100):
        try:
            return await readiness_probe(bootstrap)
        except Exception:  # the broker is still starting
            await asyncio.sleep(0.1)
    raise AssertionError("the Kafka-protocol broker did not start")


@ONE_DATABASE
async def test_readiness_is_503_while_kafka_is_out_of_reach_and_200_once_it_returns(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    with kafka_behind_a_proxy() as proxy:
        probe, runtime.kafka_ready = await _probe_when_up(f"127.0.0.1:{proxy.port}")
        try:
            before = await _ready(api)
            proxy.cut()
            during = await _ready(api)
            proxy.restore()
            after = await eventually(
                lambda: _ready(api), lambda r: r.status_code == 200, timeout=15
            )
        finally:
            await probe.stop()

    assert before.status_code == 200, before.text
    assert during.status_code == 503
    assert during.json()["checks"] == {"database": True, "kafka": False}
    assert after.json()["checks"] == {"database": True, "kafka": True}
