"""`imb serve` as a separate process, driven over HTTP as partner systems drive it."""

import asyncio
import signal
import time
from typing import Any

import httpx
import pytest

from adapters.imb_client import AsyncImbClient, ImbError, calls
from tests.databases import SQLITE_ONLY
from tests.e2e.processes import ImbInstallation, ServingImb
from tests.world import CARE_TEAM, COUNCIL, GP, HOUSING, NHS_NUMBER, TRUST, risk_event

pytestmark = pytest.mark.slow
ACK = {"outcome": "actioned", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}}


async def _until(probe: Any, done: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"not reached in {timeout}s: {value!r}"
        await asyncio.sleep(0.1)


def _clients(
    server: ServingImb, partnership: dict[str, tuple[str, str]]
) -> dict[str, AsyncImbClient]:
    return {code: AsyncImbClient(server.base_url, *creds) for code, creds in partnership.items()}


async def test_three_agencies_publish_receive_acknowledge_and_audit(
    serving: ServingImb, partnership: dict[str, tuple[str, str]]
) -> None:
    imb = _clients(serving, partnership)
    trust, council, housing, gp = imb[TRUST], imb[COUNCIL], imb[HOUSING], imb[GP]
    await trust.send(calls.set_care_team(NHS_NUMBER, CARE_TEAM))

    accepted = await trust.publish(risk_event())
    message_id = str(accepted.message_id)
    # The council's system waits for its delivery in one request rather than polling.
    council_items = await council.inbox(status="delivered", wait=30)
    assert len(council_items) == 1
    housing_items = await _until(housing.inbox, lambda items: len(items) == 1)
    delivery = await council.fetch(council_items[0].delivery_id)
    await council.acknowledge(delivery.delivery_id, ACK)

    status = await trust.event_status(message_id)
    by_agency = {r["agency"]: r for r in status["recipients"]}
    assert accepted.status == "accepted"
    assert str(housing_items[0].message_id) == message_id
    assert delivery.subject["nhs_number"] == NHS_NUMBER
    assert by_agency[COUNCIL]["status"] == "acknowledged"
    assert by_agency[HOUSING]["status"] == "delivered"
    assert await gp.inbox() == []
    trail = [r["event"] for r in (await trust.send(calls.audit_trail(message_id)))["records"]]
    assert trail[0] == "event.received"
    assert trail.count("delivery.decided") == 2
    assert trail[-1] == "delivery.acknowledged"
    with pytest.raises(ImbError) as refused:
        await housing.event_status(message_id)
    assert refused.value.status == 404
    for client in imb.values():
        await client.aclose()


async def test_every_accepted_event_arrives_exactly_once_after_a_crash(
    installation: ImbInstallation, partnership: dict[str, tuple[str, str]]
) -> None:
    """SIGKILL right after a batch of 202s; after a restart, each arrives once everywhere."""
    server = installation.serve()
    try:
        imb = _clients(server, partnership)
        batch = [risk_event(recipients=[COUNCIL, HOUSING]) for _ in range(60)]
        accepted = await asyncio.gather(*(imb[TRUST].publish(event) for event in batch))
        server.kill()
    finally:
        server.stop()  # a failure above must not leave a broker running on the test database

    restarted = installation.serve()
    try:
        imb = _clients(restarted, partnership)
        expected = sorted(str(a.message_id) for a in accepted)
        for agency in (COUNCIL, HOUSING):
            arrived = await _until(
                lambda a=agency: _all_message_ids(imb[a]), lambda ids: len(ids) >= len(expected)
            )
            await asyncio.sleep(1.0)  # let any duplicate that was going to appear, appear
            assert sorted(await _all_message_ids(imb[agency])) == expected, agency
            assert len(arrived) == len(expected)
        delivered = [
            r["event"]
            for message_id in expected[:10]
            for r in (await imb[TRUST].send(calls.audit_trail(message_id)))["records"]
            if r["event"] == "delivery.delivered"
        ]
        assert len(delivered) == 20
    finally:
        restarted.stop()


async def _all_message_ids(client: AsyncImbClient) -> list[str]:
    return [str(item.message_id) async for item in client.iter_inbox(page=500)]


# How the process starts and stops does not depend on the database: one is enough.
@pytest.mark.parametrize("database_url", SQLITE_ONLY, indirect=True)
def test_sigterm_stops_serve_cleanly(installation: ImbInstallation) -> None:
    serving = installation.serve()
    try:
        code = serving.terminate(signal.SIGTERM)
    finally:
        serving.stop()
    assert code == 0
    assert "imb: stopped" in serving.log()


@pytest.mark.parametrize("database_url", SQLITE_ONLY, indirect=True)
def test_embedded_broker_serves_and_stops_with_the_process(installation: ImbInstallation) -> None:
    embedded = ImbInstallation(
        installation.data_dir, installation.database_url, kafka_bootstrap=None
    )
    server = embedded.serve()
    try:
        assert httpx.get(f"{server.base_url}/readyz").json()["checks"]["kafka"] is True
        child = _tansu_children(server.process.pid)
        assert child, "the embedded broker runs as a child process"
        assert server.terminate(signal.SIGINT) == 0
        time.sleep(0.5)
        assert not _tansu_children(server.process.pid)
        assert all(not _alive(pid) for pid in child)
    finally:
        server.stop()


def _tansu_children(parent: int) -> list[int]:
    import subprocess

    out = subprocess.run(["ps", "-o", "pid=,ppid=,comm="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    return [int(pid) for pid, ppid, comm in rows if int(ppid) == parent and "tansu" in comm]


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_api_alone_with_separate_worker_processes_delivers(
    installation: ImbInstallation, partnership: dict[str, tuple[str, str]]
) -> None:
    """Production's shape: `serve --no-workers` and one `imb worker` process per stage."""
    server = installation.serve("--no-workers")
    workers = [installation.worker(name) for name in ("relay", "router", "dispatcher")]
    try:
        imb = _clients(server, partnership)
        accepted = await imb[TRUST].publish(risk_event(recipients=[COUNCIL]))
        items = await _until(imb[COUNCIL].inbox, lambda found: len(found) == 1)
        assert items[0].message_id == accepted.message_id
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        assert [worker.wait(timeout=30) for worker in workers] == [0, 0, 0]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        server.stop()
