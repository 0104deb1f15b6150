"""End-to-end fixtures: an `imb` installation driven only through its command line and HTTP."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ImbInstallation
from tests.world import COUNCIL, GP, HOUSING, TRUST

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
    """Three partners with an agreement, set up by the operator's commands; credentials."""
    from tests.world import agreement_body

    for code, name, kind in AGENCIES:
        installation.run("agency", "add", code, "--name", name, "--kind", kind)
    agreement = tmp_path / "agreement.json"
    import json

    agreement.write_text(json.dumps(agreement_body([TRUST, COUNCIL, HOUSING])))
    installation.run("agreement", "add", "--file", str(agreement))
    return {code: installation.add_client(code, SCOPES) for code, _, _ in AGENCIES}


@pytest.fixture
def serving(
    installation: ImbInstallation, partnership: dict[str, tuple[str, str]]
) -> Iterator[object]:
    server = installation.serve()
    yield server
    server.stop()
