"""`imb worker` keeps a heartbeat file fresh while it runs, for probes that cannot ask it over
HTTP (deploy/k8s, deploy/compose.yaml)."""

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ImbInstallation

pytestmark = [pytest.mark.slow, pytest.mark.acceptance]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.fixture
def heartbeat(installation: ImbInstallation, tmp_path: Path) -> Path:
    path = tmp_path / "imb-heartbeat"
    installation.env["IMB_WORKERS__HEARTBEAT_FILE"] = str(path)
    return path


@pytest.fixture
def chainer(installation: ImbInstallation, heartbeat: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = installation.worker("chainer")
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def test_a_running_worker_renews_its_heartbeat_and_removes_it_when_stopped(
    chainer: subprocess.Popen[bytes], heartbeat: Path
) -> None:
    wait_for(heartbeat.exists, "the first heartbeat")
    first = heartbeat.stat().st_mtime_ns

    wait_for(lambda: heartbeat.stat().st_mtime_ns > first, "a renewed heartbeat")
    chainer.send_signal(signal.SIGTERM)

    assert chainer.wait(timeout=30) == 0
    assert not heartbeat.exists()


def test_an_unwritable_heartbeat_file_stops_the_worker_with_one_line(
    installation: ImbInstallation, tmp_path: Path
) -> None:
    nowhere = tmp_path / "no-such-folder" / "imb-heartbeat"
    installation.env["IMB_WORKERS__HEARTBEAT_FILE"] = str(nowhere)

    refused = installation.run("worker", "chainer", check=False)

    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"imb: cannot write the heartbeat file {nowhere}: No such file or directory"
    ]
    assert not nowhere.parent.exists()
