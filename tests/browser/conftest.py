"""A real `imb serve` with an IG lead and two partners, and headless Chromium to drive it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.processes import ImbInstallation, ServingImb
from tests.world import HOUSING, TRUST

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IG_USER, IG_PASSWORD = "ig.trust", "a long and private pass phrase"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def installation(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> ImbInstallation:
    imb = ImbInstallation(tmp_path / "imb-data", database_url, kafka_bootstrap)
    # The production cookie (Secure, __Host-) even over plain HTTP: Chromium counts
    # http://127.0.0.1 as a secure context, so IMB_WEB__COOKIE_SECURE stays at its default.
    imb.run("migrate")
    imb.run(
        "agency", "add", TRUST, "--name", "Riverside Mental Health NHS Trust", "--kind", "nhs_trust"
    )
    imb.run(
        "agency", "add", HOUSING, "--name", "Riverside Housing Association", "--kind", "housing"
    )
    assert imb.add_user(IG_USER, TRUST, "ig_lead", IG_PASSWORD)["role"] == "ig_lead"
    return imb


@pytest.fixture
def serving(installation: ImbInstallation) -> Iterator[ServingImb]:
    server = installation.serve()
    yield server
    server.stop()
