"""An IMB installation for the fault campaign: its own PostgreSQL database reached through a
proxy the campaign can cut, its own Kafka-protocol broker on a fixed port (so that one killed
and restarted empty is found at the same address), and every IMB role as a separate process:
the API, relay, router, dispatcher, deadline monitor, notifier and chainer.

Everything listens on 127.0.0.1 and stops with the campaign.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from broker.kafka.embedded import find_tansu_binary
from tests.databases import PostgresDatabase
from tests.e2e.processes import free_port, run_in_one_process
from tests.faults.proxy import CuttableProxy

IMB = str(Path(sys.executable).parent / "imb")
ROLES = ("relay", "router", "dispatcher", "deadlines", "notifier", "chainer")


class KafkaBroker:
    """Tansu on a fixed loopback port, its records in memory: killed, it comes back empty."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        command = [str(find_tansu_binary()), "broker", "--cluster-id", f"faults-{uuid.uuid4().hex}"]
        command += ["--listener-url", url, "--advertised-listener-url", url]
        command += ["--storage-engine", "memory://tansu/"]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _wait_for_port(self.port, 20)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@dataclass
class Process:
    role: str
    popen: subprocess.Popen[bytes]
    log: Path
    kind: str


@dataclass
class Cluster:
    """One installation; `start_all()` runs every role, `kill()`/`start()` one of them."""

    folder: Path
    admin_url: str
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    api_port: int = 0
    # Roles the campaign has killed and not yet started again: not for the supervisor.
    held: set[str] = field(default_factory=set)
    # When the campaign last killed each role.
    killed_at: dict[str, float] = field(default_factory=dict)
    # (role, exit status, when) for every process that ended without the campaign's doing.
    exited_by_themselves: list[tuple[str, int, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.database = PostgresDatabase(self.admin_url)
        target = make_url(self.admin_url)
        self.db_proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432).start()
        self.kafka = KafkaBroker(self.folder / "kafka.log")
        self.kafka.start()
        through_proxy = make_url(self.database.url).set(host="127.0.0.1", port=self.db_proxy.port)
        run = uuid.uuid4().hex[:8]
        self.api_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IMB_")},
            "IMB_DATA_DIR": str(self.folder / "data"),
            "IMB_DATABASE_URL": through_proxy.render_as_string(hide_password=False),
            "IMB_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "IMB_KAFKA__TOPIC_PREFIX": f"faults-{run}.",
            "IMB_KAFKA__PARTITIONS": "3",
            "IMB_KAFKA__SESSION_TIMEOUT_MS": "2000",
            "IMB_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
            "IMB_DELIVERY__RETRY_FIRST_SECONDS": "0.5",
            "IMB_DELIVERY__RETRY_MAX_SECONDS": "5",
            "IMB_DELIVERY__MAX_ATTEMPTS": "40",
            "IMB_DELIVERY__POLL_SECONDS": "0.2",
            "IMB_DELIVERY__PUSH_TIMEOUT_SECONDS": "2",
            "IMB_LOG__LEVEL": "INFO",
            # Lost Kafka records are announced again after 20 s, not 5 minutes (R2).
            "IMB_WORKERS__REANNOUNCE_AFTER_SECONDS": "20",
        }
        self.run_imb("migrate")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def run_imb(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [IMB, *args], env=self.env, input=stdin, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"imb {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def run_in_one_process(self, *commands: list[str]) -> list[str]:
        """Setting up: `imb` commands run by one process (tests/e2e/one_process.py)."""
        return run_in_one_process(self.env, commands)

    def start(self, role: str, kind: str | None = None) -> None:
        """Start `role` (a second process of a kind is a role of its own, named so), ending any
        process of the role still running first: one role, one process."""
        self._end(role)
        count = len(list(self.folder.glob(f"{role}-*.log")))
        log = self.folder / f"{role}-{count + 1}.log"
        env = {**self.env, "IMB_WORKERS__HEARTBEAT_FILE": str(self.heartbeat(role))}
        command = (
            [IMB, "serve", "--no-workers", "--port", str(self.api_port)]
            if role == "api"
            else [IMB, "worker", kind or role]
        )
        with log.open("wb") as out:
            popen = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.processes[role] = Process(role, popen, log, kind or role)
        self.held.discard(role)

    def heartbeat(self, role: str) -> Path:
        return self.folder / f"{role}.heartbeat"

    def start_all(self) -> None:
        self.start("api")
        self.wait_ready()
        for role in ROLES:
            self.start(role)

    def kill(self, role: str) -> None:
        self.held.add(role)
        self.killed_at[role] = time.time()
        self._end(role)

    def _end(self, role: str) -> None:
        process = self.processes.get(role)
        if process is not None and process.popen.poll() is None:
            process.popen.send_signal(signal.SIGKILL)
            process.popen.wait(10)

    def pause(self, role: str) -> None:
        self.processes[role].popen.send_signal(signal.SIGSTOP)

    def resume(self, role: str) -> None:
        self.processes[role].popen.send_signal(signal.SIGCONT)

    def running(self, role: str) -> bool:
        process = self.processes.get(role)
        return process is not None and process.popen.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API was not ready within {timeout:.0f}s")

    def restart_the_exited(self) -> list[str]:
        """What Kubernetes or compose would do: start again any process that ended by itself
        (one started while the database is cut cannot check its schema and exits; a worker
        that cannot make progress exits 3 by design). Returns the roles restarted."""
        restarted = []
        for role, process in list(self.processes.items()):
            code = process.popen.poll()
            if code is None or role in self.held:
                continue
            self.exited_by_themselves.append((role, code, time.time()))
            self.start(role, process.kind)
            restarted.append(role)
        return restarted

    def exits(self) -> dict[str, int | None]:
        return {role: p.popen.poll() for role, p in self.processes.items()}

    def stop(self) -> None:
        for role in list(self.processes):
            self.kill(role)
        self.kafka.kill()
        self.db_proxy.close()
        self.database.drop()


def _wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(0.3)  # listening is not yet answering Kafka requests
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout:.0f}s")
