"""Running the real `imb` command as a separate process."""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

IMB = str(Path(sys.executable).parent / "imb")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_in_one_process(
    env: dict[str, str], commands: Sequence[list[str] | dict[str, Any]]
) -> list[str]:
    """`imb` commands run by one process (tests/e2e/one_process.py), each one's output; the
    first that fails fails the whole with its own message."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.one_process"],
        env=env,
        input=json.dumps(list(commands)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    failed = [r for r in results if r["code"] != 0]
    assert not failed, f"imb {commands[len(results) - 1]} failed: {failed[0]['stderr']}"
    return [r["stdout"] for r in results]


@dataclass
class ImbInstallation:
    """One broker's environment: data dir, database, Kafka and its own topic names."""

    data_dir: Path
    database_url: str
    kafka_bootstrap: str | None
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        run = uuid.uuid4().hex[:10]
        self.env = {
            **os.environ,
            "IMB_DATA_DIR": str(self.data_dir),
            "IMB_DATABASE_URL": self.database_url,
            "IMB_KAFKA__TOPIC_PREFIX": f"e2e-{run}.",
            "IMB_KAFKA__ROUTER_GROUP": f"router-{run}",
            "IMB_KAFKA__DISPATCHER_GROUP": f"dispatcher-{run}",
            "IMB_KAFKA__PARTITIONS": "3",
            "IMB_KAFKA__SESSION_TIMEOUT_MS": "2000",
            "IMB_KAFKA__HEARTBEAT_INTERVAL_MS": "500",
        }
        if self.kafka_bootstrap:
            self.env["IMB_KAFKA_BOOTSTRAP_SERVERS"] = self.kafka_bootstrap
        else:
            self.env.pop("IMB_KAFKA_BOOTSTRAP_SERVERS", None)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [IMB, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"imb {' '.join(args)} failed: {result.stderr}")
        return result

    def run_in_one_process(self, *commands: list[str] | dict[str, Any]) -> list[str]:
        """Each command's standard output, all run by one Python process (`one_process.py`):
        for setting things up, not for testing the commands themselves."""
        return run_in_one_process(self.env, commands)

    def add_client(self, agency: str, scopes: str) -> tuple[str, str]:
        issued = json.loads(
            self.run("client", "add", "--agency", agency, "--scopes", scopes).stdout
        )
        return issued["client_id"], issued["client_secret"]

    def add_user(self, username: str, agency: str, role: str, password: str) -> dict[str, Any]:
        """`imb user add`, the password given on standard input."""
        added = subprocess.run(
            [IMB, "user", "add", username, "--agency", agency, "--role", role],
            env=self.env,
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert added.returncode == 0, added.stderr
        user: dict[str, Any] = json.loads(added.stdout)
        return user

    def agree(self, agreement_file: Path, parties: list[str]) -> dict[str, Any]:
        """`imb agreement add`, then `imb agreement approve` for every party: in force."""
        created = json.loads(self.run("agreement", "add", "--file", str(agreement_file)).stdout)
        approved: dict[str, Any] = created
        for party in parties:
            approved = json.loads(
                self.run(
                    "agreement",
                    "approve",
                    created["id"],
                    "--agency",
                    party,
                    "--name",
                    f"Caldicott Guardian of {party}",
                    "--role",
                    "Caldicott Guardian",
                ).stdout
            )
        return approved

    def serve(self, *options: str, trusting: Path | None = None) -> "ServingImb":
        """`imb serve`; with `trusting` (a CA file) it is HTTPS, its certificate from that CA."""
        port = free_port()
        log = (self.data_dir / f"serve-{port}.log").open("w")
        process = subprocess.Popen(
            [IMB, "serve", "--port", str(port), *options],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        scheme = "https" if trusting else "http"
        verify = ssl.create_default_context(cafile=str(trusting)) if trusting else True
        serving = ServingImb(process, f"{scheme}://127.0.0.1:{port}", log.name, verify)
        try:
            serving.wait_ready()
        except BaseException:
            serving.stop()  # a broker that never became ready must not outlive its test
            raise
        return serving

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        """`imb worker NAME`; its log is worker-NAME-N.log, N counting that stage's processes."""
        same_stage = len(list(self.data_dir.glob(f"worker-{name}-*.log")))
        log = (self.data_dir / f"worker-{name}-{same_stage + 1}.log").open("w")
        return subprocess.Popen(
            [IMB, "worker", name], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )


@dataclass
class ServingImb:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: str
    verify: ssl.SSLContext | bool = True

    def bearer_headers(self, client_id: str, secret: str) -> dict[str, str]:
        """An access token for the client (client credentials), as request headers."""
        response = httpx.post(
            f"{self.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"imb serve exited early:\n{self.log()}")
            try:
                ready = httpx.get(f"{self.base_url}/readyz", timeout=2, verify=self.verify)
                if ready.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"imb serve not ready within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return Path(self.log_path).read_text()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def json_of(response: httpx.Response) -> Any:
    assert response.status_code < 400, response.text
    return response.json()
