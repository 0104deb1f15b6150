"""schemathesis against a served broker: a few thousand requests generated from /openapi.json,
and not one answers 5xx or breaks the schema it declares.

Bounded by examples per operation (not by time: schemathesis's time budget repeats until it
is spent), with a fixed seed so a failure replays. The broker's own /metrics tell how many
requests arrived and how they were answered, independently of the fuzzer's report.
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import ImbInstallation, ServingImb

ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
pytestmark = [pytest.mark.slow, pytest.mark.acceptance, ONE_DATABASE]
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
EVERY_SCOPE = (
    "events:publish inbox:read inbox:ack consent:manage audit:read audit:all "
    "agreements:manage admin metrics:read"
)
EXAMPLES_PER_OPERATION = 25
SEED = "20261129"
# The token comes from the environment, so it is in no process's command line.
CONFIG = 'headers = { Authorization = "${IMB_FUZZ_AUTHORIZATION}" }\n[cache]\nenabled = false\n'


@pytest.fixture
def served(
    installation: ImbInstallation, partnership: dict[str, tuple[str, str]]
) -> Iterator[ServingImb]:
    # The fuzzer is one client sending thousands of calls: its limits are raised, as an
    # operator would for a test harness, so that it reaches the handlers.
    installation.env["IMB_RATE_LIMIT__PUBLISH"] = "100000/minute"
    installation.env["IMB_RATE_LIMIT__READ"] = "100000/minute"
    installation.env["IMB_RATE_LIMIT__TOKEN_PER_ADDRESS"] = "100000/minute"
    # Generated `wait`s up to 30 s on an empty inbox would spend the run waiting.
    installation.env["IMB_INBOX__MAX_WAIT_SECONDS"] = "0.2"
    server = installation.serve()
    yield server
    server.stop()


def _statuses(server: ServingImb) -> Counter[str]:
    text = httpx.get(f"{server.base_url}/metrics").text
    counts: Counter[str] = Counter()
    for _method, status, value in re.findall(
        r'imb_http_requests_total\{method="(\w+)",status="(\d+)"\} ([0-9.e+]+)', text
    ):
        counts[status] += int(float(value))
    return counts


# The fuzzer learns client ids from GET /v1/clients, its own among them: revoking or re-keying
# itself would turn the rest of its run into 401s. Those two operations run last, alone.
SELF_HARM = r"^/v1/clients/[^/]+/(revoke|rotate-secret)$"


def _fuzz(server: ServingImb, token: str, folder: Path, *selection: str) -> str:
    """One schemathesis run; its summary. Fails the test on any failure it reports."""
    folder.mkdir()
    (folder / "schemathesis.toml").write_text(CONFIG)
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(folder / "schemathesis.toml"),
            "run",
            f"{server.base_url}/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            SEED,
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--request-timeout",
            "10",
            "--max-failures",
            "20",
            "--report",
            "json",
            "--report-dir",
            str(folder / "report"),
            "--no-color",
            "--warnings",
            "off",
            *selection,
        ],
        cwd=folder,
        env={
            **os.environ,
            "HYPOTHESIS_STORAGE_DIRECTORY": str(folder / "hypothesis"),
            "IMB_FUZZ_AUTHORIZATION": token,
        },
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary + run.stderr[-2000:]
    report = next((folder / "report").glob("*.json"))
    assert token.split()[1] not in report.read_text()
    json.loads(report.read_text())
    return summary


def test_thousands_of_generated_requests_get_no_5xx_and_match_their_schemas(
    installation: ImbInstallation, served: ServingImb, tmp_path: Path
) -> None:
    client_id, secret = installation.add_client("RX4", EVERY_SCOPE)
    token = served.bearer_headers(client_id, secret)["Authorization"]
    before = _statuses(served)

    everything = _fuzz(served, token, tmp_path / "all", "--exclude-path-regex", SELF_HARM)
    middle = _statuses(served)
    last = _fuzz(served, token, tmp_path / "last", "--include-path-regex", SELF_HARM)

    answered, while_authorised = _statuses(served) - before, middle - before
    print(f"schemathesis: {dict(sorted(answered.items()))}\n{everything}\n{last}")
    assert sum(answered.values()) >= 2000, answered
    assert not any(status.startswith("5") for status in answered), answered
    # The token held until the last run: most answers came past authentication.
    assert while_authorised["401"] < sum(while_authorised.values()) / 10, while_authorised
    assert sum(n for status, n in answered.items() if status.startswith("2")) >= 100, answered
