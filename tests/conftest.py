"""Shared fixtures: a real database per test, a real Kafka-protocol broker per session."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from broker.api.app import create_app
from broker.runtime import Runtime, build_runtime
from broker.settings import DeliverySettings, KafkaSettings, Settings, WorkerSettings
from broker.workers.supervisor import Worker
from tests.databases import PostgresDatabase, SqliteTemplate, backends, postgres_database
from tests.kafka_fixture import start_test_kafka
from tests.pipelines import running_workers
from tests.world import World, build_world


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    yield from start_test_kafka()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabase]:
    yield from postgres_database()


@pytest.fixture(params=backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: SqliteTemplate = request.getfixturevalue("sqlite_template")
        return template.fresh(tmp_path)
    database: PostgresDatabase = request.getfixturevalue("postgres")
    return database.fresh()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> Settings:
    """Settings isolated per test: own data dir, database, topics and consumer groups."""
    run = uuid.uuid4().hex[:10]
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka=KafkaSettings(
            topic_prefix=f"test-{run}.",
            partitions=2,
            router_group=f"router-{run}",
            dispatcher_group=f"dispatcher-{run}",
            session_timeout_ms=2000,
            heartbeat_interval_ms=500,
        ),
        workers=WorkerSettings(relay_idle_seconds=0.05),
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = build_runtime(settings)
    yield rt
    await rt.close()


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://imb.test") as client:
        yield client


@pytest.fixture
async def pipeline(runtime: Runtime, settings: Settings) -> AsyncIterator[None]:
    """The relay, router and dispatcher running in this process against the real broker."""
    async with running_workers(runtime, list(Worker)):
        yield


@pytest.fixture
async def world(runtime: Runtime, api: httpx.AsyncClient) -> World:
    """Three agencies with clients, an agreement among them and a subject's care team."""
    return await build_world(runtime, api)


@pytest.fixture
def fast_retries(world: World) -> None:
    """Pushes retried within a second, and dead-lettered after three attempts."""
    world.rt.settings.delivery = DeliverySettings(
        retry_first_seconds=0.05,
        retry_max_seconds=0.2,
        max_attempts=3,
        poll_seconds=0.05,
        push_timeout_seconds=2,
    )
