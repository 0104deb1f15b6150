"""A real `imb serve` with an IG lead and two partners, and headless Chromium to drive it."""

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.processes import ImbInstallation, ServingImb, json_of
from tests.world import CARE_TEAM, COUNCIL, HOUSING, NHS_NUMBER, TRUST, agreement_body

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
IG_USER, IG_PASSWORD = "ig.trust", "a long and private pass phrase"
DUTY_USER, DUTY_PASSWORD = "duty.housing", "a long and private night-shift phrase"
# Seconds, not the default policy's quarter of an hour, so the test can watch the deadline pass.
SHORT_TIMEFRAMES = {
    "policies": [
        {
            "event_type": "crisis.occurred",
            "urgency": "*",
            "deliver_within": "PT5S",
            "ack_within": "PT6S",
            "escalation": ["duty_team", "coordinator"],
            "escalation_interval": "PT1H",
        },
        {
            "event_type": "*",
            "urgency": "*",
            "deliver_within": "PT1H",
            "ack_within": "P3D",
            "escalation": ["sender_report"],
        },
    ]
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


TRUST_NAME = "Riverside Mental Health NHS Trust"


@pytest.fixture
def installation(tmp_path: Path, database_url: str, kafka_bootstrap: str) -> ImbInstallation:
    imb = ImbInstallation(tmp_path / "imb-data", database_url, kafka_bootstrap)
    # The production cookie (Secure, __Host-) even over plain HTTP: Chromium counts
    # http://127.0.0.1 as a secure context, so IMB_WEB__COOKIE_SECURE stays at its default.
    imb.run_in_one_process(
        ["migrate"],
        ["agency", "add", TRUST, "--kind", "nhs_trust", "--name", TRUST_NAME],
        ["agency", "add", HOUSING, "--name", "Riverside Housing Association", "--kind", "housing"],
        {
            "argv": ["user", "add", IG_USER, "--agency", TRUST, "--role", "ig_lead"],
            "stdin": IG_PASSWORD,
        },
    )
    return imb


@pytest.fixture
def serving(installation: ImbInstallation) -> Iterator[ServingImb]:
    server = installation.serve()
    yield server
    server.stop()


@pytest.fixture
def partnership(installation: ImbInstallation, tmp_path: Path) -> ImbInstallation:
    """Housing is in the person's care team and has a duty worker who signs in."""
    (tmp_path / "agreement.json").write_text(json.dumps(agreement_body([TRUST, HOUSING])))
    signing = ["--name", "Caldicott Guardian", "--role", "Caldicott Guardian"]
    installation.run_in_one_process(
        {
            "argv": ["user", "add", DUTY_USER, "--agency", HOUSING, "--role", "duty"],
            "stdin": DUTY_PASSWORD,
        },
        ["agreement", "add", "--file", str(tmp_path / "agreement.json")],
        ["agreement", "approve", "$1.id", "--agency", TRUST, *signing],
        ["agreement", "approve", "$1.id", "--agency", HOUSING, *signing],
    )
    return installation


@pytest.fixture
def duty_trust_api(partnership: ImbInstallation, serving: ServingImb) -> Iterator[httpx.Client]:
    """The trust's system, allowed to set the deadlines too, with them set to seconds."""
    scopes = "admin events:publish consent:manage"
    client_id, secret = partnership.add_client(TRUST, scopes)
    headers = serving.bearer_headers(client_id, secret)
    with httpx.Client(base_url=serving.base_url, headers=headers) as api:
        json_of(api.put("/v1/timeframes", json=SHORT_TIMEFRAMES))
        care_team = {"members": [m for m in CARE_TEAM["members"] if m["agency"] != COUNCIL]}
        json_of(api.put(f"/v1/subjects/{NHS_NUMBER}/care-team", json=care_team))
        yield api
