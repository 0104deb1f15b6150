"""P4: the full cycle of one message (publish → list the inbox → fetch → acknowledge), IMB
against the NHS MESH sandbox driven by NHS England's mesh-client: the same count, the same
number of threads, bodies of about 1 KiB, each server's CPU per message.

The sandbox is started as its own documentation says (uvicorn, one worker, the in-memory
store), from a virtualenv of its own (its pins clash with IMB's) kept in the bench cache. Its
authentication is on (the default): every request carries MESH's HMAC token, as IMB's carry a
bearer token. Both sides are driven through `requests` in threads, as mesh-client does.
"""

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from mesh_client import MeshClient

from bench.estate import Estate, fresh_database, set_up
from bench.measure import CpuMeter, PeakRss, summary_ms
from tests.world import COUNCIL, TRUST, risk_event

SANDBOX = "mesh-sandbox==1.0.137"
SENDER, RECIPIENT, PASSWORD = "X26ABC1", "X26ABC2", "password"
BODY_BYTES = 1024
# How often a thread looks at the inbox again while its message is not there yet, on both
# sides; an integrator's poll, kept short so the cycle measures the servers, not the wait.
# IMB is measured a second time with readers that wait on the server (`wait=`) instead.
POLL_EVERY = 0.05
# The sandbox's in-memory store loses about one message in forty sent at once from several
# threads (it never appears in the recipient's list): such a cycle is counted, not waited for.
LISTED_WITHIN = 0.25  # a sent message is listed at once, or never
LISTED_WAIT = 10  # seconds IMB holds a list request open while no new delivery is there
CACHE = Path(os.environ.get("IMB_BENCH_CACHE", Path.home() / ".cache" / "imb-bench"))


def sandbox_python() -> Path:
    """The sandbox's own virtualenv, made on first use."""
    venv = CACHE / "mesh-sandbox"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", SANDBOX, "uvicorn"]
        subprocess.run(pip, check=True)
        (venv / ".installed").touch()
    return python


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def mesh_sandbox(shared_key: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The sandbox on a free loopback port; it logs every request, as shipped, to `log`."""
    port = _free_port()
    env = {**os.environ, "STORE_MODE": "memory", "SHARED_KEY": shared_key}
    command = [str(sandbox_python()), "-m", "uvicorn", "mesh_sandbox.api:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers=1", "--log-level=warning"]
    process = subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(f"{url}/health", process)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the MESH sandbox did not become healthy")


def in_threads(cycle: Callable[[int], bool], count: int, threads: int) -> tuple[float, list[float]]:
    """Run `cycle` `count` times over `threads` threads: the wall time and each completed
    cycle's."""
    durations: list[float] = []
    lock = threading.Lock()

    def timed(index: int) -> None:
        began = time.perf_counter()
        if cycle(index):
            with lock:
                durations.append(time.perf_counter() - began)

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(timed, range(count)))
    return time.perf_counter() - began, durations


def mesh_run(url: str, shared_key: str, count: int, threads: int) -> tuple[float, list[float], int]:
    """The wall time, each cycle's time, and how many messages the sandbox never listed."""
    local = threading.local()
    body = secrets.token_bytes(BODY_BYTES)

    def clients() -> tuple[MeshClient, MeshClient]:
        if not hasattr(local, "clients"):
            key = shared_key.encode()
            local.clients = (
                MeshClient(url, SENDER, PASSWORD, shared_key=key, max_retries=0),
                MeshClient(url, RECIPIENT, PASSWORD, shared_key=key, max_retries=0),
            )
        pair: tuple[MeshClient, MeshClient] = local.clients
        return pair

    def cycle(index: int) -> bool:
        sender, recipient = clients()
        message_id = sender.send_message(RECIPIENT, body, workflow_id="IMB_BENCH")
        give_up = time.monotonic() + LISTED_WITHIN
        while message_id not in recipient.list_messages():
            if time.monotonic() > give_up:
                with lock:
                    unlisted.append(message_id)
                return False
            time.sleep(POLL_EVERY)
        assert len(recipient.retrieve_message(message_id).read()) == BODY_BYTES
        recipient.acknowledge_message(message_id)
        return True

    lock, unlisted = threading.Lock(), list[str]()
    seconds, durations = in_threads(cycle, count, threads)
    return seconds, durations, len(unlisted)


def imb_event(index: int) -> dict[str, Any]:
    """A routine risk change to one recipient, its body about 1 KiB as the MESH message's."""
    event = risk_event(urgency="routine", recipients=[COUNCIL])
    event["payload"]["rationale"] = "Stopped medication; " + "x" * 380
    return event


def imb_run(
    estate: Estate, base_url: str, count: int, threads: int, waiting: bool
) -> tuple[float, list[float]]:
    """IMB's cycles; each thread lists its inbox as MESH's do (every POLL_EVERY), or with
    `waiting`, waiting on the server for a delivery it has not seen."""
    sender_auth = _bearer(base_url, estate.clients[TRUST])
    recipient_auth = _bearer(base_url, estate.clients[COUNCIL])
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        http: requests.Session = local.session
        return http

    def cycle(index: int) -> bool:
        http = session()
        sent = http.post(f"{base_url}/v1/events", json=imb_event(index), headers=sender_auth)
        message_id = sent.json()["message_id"]
        listed = _wait_listed if waiting else _poll_listed
        delivery = listed(http, base_url, recipient_auth, message_id)
        fetched = http.get(f"{base_url}/v1/inbox/{delivery}", headers=recipient_auth)
        assert fetched.json()["message_id"] == message_id
        ack = {
            "outcome": "accepted",
            "acknowledged_by": {"name": "B. Jones", "role": "duty worker"},
        }
        acked = http.post(f"{base_url}/v1/inbox/{delivery}/ack", json=ack, headers=recipient_auth)
        assert acked.status_code == 200, acked.text
        return True

    return in_threads(cycle, count, threads)


def _poll_listed(
    http: requests.Session, base_url: str, auth: dict[str, str], message_id: str
) -> str:
    while True:
        page = http.get(
            f"{base_url}/v1/inbox", params={"status": "delivered", "limit": 100}, headers=auth
        ).json()
        for item in page["items"]:
            if item["message_id"] == message_id:
                delivery_id: str = item["delivery_id"]
                return delivery_id
        time.sleep(POLL_EVERY)


def _wait_listed(
    http: requests.Session, base_url: str, auth: dict[str, str], message_id: str
) -> str:
    """List the inbox until the message is there: each list waits on the server for a delivery
    newer than the ones this thread has already seen, rather than polling."""
    params: dict[str, Any] = {"status": "delivered", "limit": 100, "wait": LISTED_WAIT}
    while True:
        page = http.get(f"{base_url}/v1/inbox", params=params, headers=auth).json()
        for item in page["items"]:
            if item["message_id"] == message_id:
                delivery_id: str = item["delivery_id"]
                return delivery_id
        if page["items"]:
            params["after_seq"] = max(item["seq"] for item in page["items"])


def _bearer(base_url: str, client: tuple[str, str]) -> dict[str, str]:
    response = requests.post(
        f"{base_url}/oauth/token", data={"grant_type": "client_credentials"}, auth=client
    )
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _figures(seconds: float, durations: list[float], cpu: float, count: int) -> dict[str, Any]:
    return {
        "cycles_per_s": round(count / seconds, 1),
        "cycle_ms": summary_ms(durations),
        "server_cpu_ms_per_message": round(cpu * 1000 / count, 2),
    }


def measure(
    kafka: str, folder: Path, database: str, admin_url: str, count: int, threads: int
) -> dict[str, Any]:
    shared_key = secrets.token_urlsafe(16)
    with mesh_sandbox(shared_key, folder / "mesh-sandbox.log") as (url, process):
        mesh_run(url, shared_key, min(50, count), threads)  # warm up
        meter = CpuMeter({"mesh": [process.pid]}, include_postgres=False).start()
        seconds, durations, unlisted = mesh_run(url, shared_key, count, threads)
        # Only completed cycles count, and each lost one cost a thread a quarter second more.
        mesh = _figures(seconds, durations, meter.stop()["mesh"], count - unlisted)
        mesh["messages_the_sandbox_lost"] = unlisted
    imb = _imb_figures(kafka, folder, database, admin_url, count, threads, waiting=False)
    imb_waiting = _imb_figures(kafka, folder, database, admin_url, count, threads, waiting=True)
    return {
        "messages": count,
        "threads": threads,
        "body_bytes": BODY_BYTES,
        "mesh": mesh,
        "imb": imb,
        "ratio_imb_to_mesh": round(imb["cycles_per_s"] / mesh["cycles_per_s"], 2),
        "imb_waiting_reader": imb_waiting,
        "ratio_imb_waiting_to_mesh": round(imb_waiting["cycles_per_s"] / mesh["cycles_per_s"], 2),
    }


def _imb_figures(
    kafka: str,
    folder: Path,
    database: str,
    admin_url: str,
    count: int,
    threads: int,
    waiting: bool,
) -> dict[str, Any]:
    with fresh_database(database, folder, admin_url) as db_url:
        estate = set_up(folder, db_url, kafka)
        serving = estate.serve()
        try:
            imb_run(estate, serving.base_url, min(50, count), threads, waiting)  # warm up
            meter = CpuMeter({"imb": [serving.process.pid]}).start()
            with PeakRss(serving.process.pid) as rss:
                seconds, durations = imb_run(estate, serving.base_url, count, threads, waiting)
            cpu = meter.stop()
        finally:
            estate.stop()
    imb = _figures(seconds, durations, cpu["imb"], count)
    imb["postgresql_cpu_ms_per_message"] = round(cpu["postgresql"] * 1000 / count, 2)
    imb["peak_rss_mb"] = rss.peak_mb
    return imb
