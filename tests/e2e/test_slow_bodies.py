"""A served broker gives up on a body that does not arrive, instead of holding the connection."""

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.processes import ImbInstallation, ServingImb

pytestmark = pytest.mark.slow
BODY_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def impatient(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str
) -> Iterator[ServingImb]:
    """One broker for the module (starting one costs seconds) that waits a second for a body."""
    folder = tmp_path_factory.mktemp("slow-bodies")
    database = f"sqlite+aiosqlite:///{folder}/imb.db"
    installation = ImbInstallation(folder / "imb-data", database, kafka_bootstrap)
    installation.run("migrate")
    installation.env["IMB_BODY_TIMEOUT_SECONDS"] = str(BODY_TIMEOUT)
    server = installation.serve()
    yield server
    server.stop()


def _connect(server: ServingImb) -> socket.socket:
    address = urlsplit(server.base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    return sock


def _head(length: int) -> bytes:
    return (
        "POST /v1/events HTTP/1.1\r\nHost: imb\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer x\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a socket timeout, and so a
    failure, if it never does)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_body_shorter_than_announced_gets_408_and_the_connection_is_closed(
    impatient: ServingImb,
) -> None:
    with _connect(impatient) as sock:
        started = time.monotonic()
        sock.sendall(_head(100_000) + b'{"id": ')
        answer = _until_closed(sock)
        waited = time.monotonic() - started

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"application/problem+json" in answer
    assert waited < BODY_TIMEOUT + 4


def test_a_body_trickled_a_byte_at_a_time_is_cut_off_at_the_deadline(
    impatient: ServingImb,
) -> None:
    with _connect(impatient) as sock:
        sock.sendall(_head(1000))
        started = time.monotonic()
        sent = 0
        sock.settimeout(0.25)
        answer = b""
        while time.monotonic() - started < BODY_TIMEOUT + 4:
            try:
                sock.sendall(b" ")
                sent += 1
                answer += sock.recv(65536)
            except (TimeoutError, BrokenPipeError, ConnectionResetError):
                pass
            if answer:
                break

    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert sent < 1000
