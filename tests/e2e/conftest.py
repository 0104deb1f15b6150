"""End-to-end fixtures: an `imb` installation driven only through its command line and HTTP."""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
    """Three partners with an agreement every one has approved, set up by the operator's
    commands; their credentials."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        # Independent commands at once: each is a separate process, as operators run them.
        list(
            pool.map(
                lambda a: installation.run("agency", "add", a[0], "--name", a[1], "--kind", a[2]),
                AGENCIES,
            )
        )
        agreement = tmp_path / "agreement.json"
        partners = [TRUST, COUNCIL, HOUSING]
        agreement.write_text(json.dumps(agreement_body(partners)))
        added = pool.submit(installation.agree, agreement, partners)
        credentials = dict(
            zip(
                [code for code, _, _ in AGENCIES],
                pool.map(lambda a: installation.add_client(a[0], SCOPES), AGENCIES),
                strict=True,
            )
        )
        added.result()
    return credentials


@pytest.fixture
def serving(
    installation: ImbInstallation, partnership: dict[str, tuple[str, str]]
) -> Iterator[object]:
    server = installation.serve()
    yield server
    server.stop()
