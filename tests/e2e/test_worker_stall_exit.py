"""Workers ride out an outage and give up loudly on a long one: a real `imb worker` whose
database is cut for a while resumes by itself, in the same process; one that fails on every
attempt for longer than IMB_WORKERS__STALL_EXIT_SECONDS exits with status 3 and one line saying
why, and so does `imb serve`, after answering 503 meanwhile.

PostgreSQL only: the database is cut by a proxy in front of it (tests/faults/proxy.py)."""

import asyncio
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from broker.pipeline.lanes import URGENT_FIRST
from broker.settings import KafkaSettings
from tests.databases import POSTGRES_ENV
from tests.e2e.processes import IMB, ImbInstallation
from tests.faults.proxy import CuttableProxy, cuttable
from tests.topics import records_on
from tests.world import COUNCIL, TRUST, risk_event

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        POSTGRES_ENV not in os.environ,
        reason=f"cutting the database needs PostgreSQL behind a proxy: set {POSTGRES_ENV}",
    ),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
STALL = "worker loop"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.1)


@pytest.fixture
def proxy(database_url: str) -> Iterator[CuttableProxy]:
    url = make_url(database_url)
    with cuttable(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
def behind_proxy(installation: ImbInstallation, proxy: CuttableProxy) -> dict[str, str]:
    """The installation's environment with the database reached through the proxy."""
    url = make_url(installation.database_url).set(host="127.0.0.1", port=proxy.port)
    return {**installation.env, "IMB_DATABASE_URL": url.render_as_string(False)}


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    heartbeat: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str, dict[str, str], int], WorkerProcess]]:
    """`imb worker NAME` in the environment given, giving up after that many seconds; it
    returns once the worker's first heartbeat shows it has started."""
    started: list[WorkerProcess] = []

    def start(name: str, env: dict[str, str], stall_after: int) -> WorkerProcess:
        heartbeat, log = tmp_path / f"{name}-heartbeat", tmp_path / f"{name}.log"
        env = {
            **env,
            "IMB_WORKERS__HEARTBEAT_FILE": str(heartbeat),
            "IMB_WORKERS__STALL_EXIT_SECONDS": str(stall_after),
        }
        with log.open("w") as output:
            process = subprocess.Popen(
                [IMB, "worker", name], env=env, stdout=output, stderr=subprocess.STDOUT
            )
        started.append(WorkerProcess(process, heartbeat, log))
        wait_for(lambda: heartbeat.exists() or process.poll() is not None, f"{name} started")
        return started[-1]

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait(timeout=10)


def events_on_kafka(installation: ImbInstallation) -> int:
    assert installation.kafka_bootstrap
    settings = KafkaSettings(topic_prefix=installation.env["IMB_KAFKA__TOPIC_PREFIX"])
    topics = [settings.events_topic(lane) for lane in URGENT_FIRST]
    return sum(
        len(asyncio.run(records_on(installation.kafka_bootstrap, topic))) for topic in topics
    )


def test_a_relay_whose_database_is_cut_for_ten_seconds_resumes_in_the_same_process(
    installation: ImbInstallation,
    partnership: dict[str, tuple[str, str]],
    behind_proxy: dict[str, str],
    proxy: CuttableProxy,
    start_worker: Callable[[str, dict[str, str], int], WorkerProcess],
) -> None:
    api = installation.serve("--no-workers")  # the API reaches the database directly
    try:
        relay = start_worker("relay", behind_proxy, 60)
        headers = api.bearer_headers(*partnership[TRUST])

        proxy.cut()
        event = risk_event(recipients=[COUNCIL])
        accepted = httpx.post(f"{api.base_url}/v1/events", json=event, headers=headers)
        time.sleep(10)
        held_back = events_on_kafka(installation)
        proxy.restore()
        wait_for(lambda: events_on_kafka(installation) == 1, "the event relayed", timeout=40)
    finally:
        api.stop()

    assert accepted.status_code == 202, accepted.text
    assert held_back == 0
    assert relay.process.poll() is None, relay.log()
    assert "failed; restarting" in relay.log()
    assert STALL not in relay.log()


def test_a_worker_failing_on_every_attempt_past_its_limit_exits_3_with_one_line(
    behind_proxy: dict[str, str],
    proxy: CuttableProxy,
    start_worker: Callable[[str, dict[str, str], int], WorkerProcess],
) -> None:
    chainer = start_worker("chainer", behind_proxy, 5)

    proxy.cut()
    code = chainer.process.wait(timeout=40)

    stalls = [line for line in chainer.log().splitlines() if STALL in line]
    assert code == 3, chainer.log()
    assert len(stalls) == 1, stalls
    assert "worker loop chainer has failed on every attempt for" in stalls[0]
    assert "(last: DatabaseUnreachable, database unreachable)" in stalls[0]
    assert not chainer.heartbeat.exists()


def test_serve_answers_503_while_its_database_is_cut_then_exits_3_past_the_limit(
    installation: ImbInstallation,
    partnership: dict[str, tuple[str, str]],
    behind_proxy: dict[str, str],
    proxy: CuttableProxy,
) -> None:
    installation.env = {**behind_proxy, "IMB_WORKERS__STALL_EXIT_SECONDS": "5"}
    served = installation.serve()
    try:
        headers = served.bearer_headers(*partnership[TRUST])
        proxy.cut()
        ready = httpx.get(f"{served.base_url}/readyz", timeout=5)
        refused = httpx.post(
            f"{served.base_url}/v1/events", json=risk_event(), headers=headers, timeout=15
        )
        code = served.process.wait(timeout=40)
    finally:
        served.stop()

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] is False
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["type"] == "urn:imb:problem:unavailable"
    assert code == 3, served.log()
    stalls = [line for line in served.log().splitlines() if STALL in line]
    assert len(stalls) == 1, stalls
    assert "database unreachable" in stalls[0]
    assert "imb: stopped" not in served.log()
