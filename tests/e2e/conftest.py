"""End-to-end fixtures: an `imb` installation driven only through its command line and HTTP."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ImbInstallation
from tests.world import COUNCIL, GP, HOUSING, TRUST, agreement_body

AGENCIES = [
    (TRUST, "Riverside Mental Health NHS Trust", "nhs_trust"),
    (COUNCIL, "Riverside Adult Social Care", "local_authority"),
    (HOUSING, "Riverside Housing Association", "housing"),
    (GP, "Riverside Medical Practice", "gp_practice"),
]
SCOPES = "events:publish inbox:read inbox:ack consent:manage audit:read agreements:manage"


@pytest.fixture
def installation(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> ImbInstallation:
    imb = ImbInstallation(tmp_path / "imb-data", database_url, kafka_bootstrap)
    imb.run("migrate")
    return imb


@pytest.fixture
def partnership(installation: ImbInstallation, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """Four agencies, three of them partners in an agreement every one has approved, set up by
    the operator's commands; their credentials."""
    partners = [TRUST, COUNCIL, HOUSING]
    agreement = tmp_path / "agreement.json"
    agreement.write_text(json.dumps(agreement_body(partners)))
    approvals = [
        [
            *("agreement", "approve", "$4.id", "--agency", party),
            *("--name", f"Caldicott Guardian of {party}", "--role", "Caldicott Guardian"),
        ]
        for party in partners
    ]
    clients = [["client", "add", "--agency", code, "--scopes", SCOPES] for code, _, _ in AGENCIES]
    printed = installation.run_in_one_process(
        *(["agency", "add", code, "--name", name, "--kind", kind] for code, name, kind in AGENCIES),
        ["agreement", "add", "--file", str(agreement)],
        *approvals,
        *clients,
    )
    issued = [json.loads(out) for out in printed[-len(clients) :]]
    return {
        code: (client["client_id"], client["client_secret"])
        for (code, _, _), client in zip(AGENCIES, issued, strict=True)
    }


@pytest.fixture
def serving(
    installation: ImbInstallation, partnership: dict[str, tuple[str, str]]
) -> Iterator[object]:
    server = installation.serve()
    yield server
    server.stop()
