"""The log of a real `imb serve` after a day's traffic in miniature: every request and every
state change an operator follows is there, and nothing about the people it concerns."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.imb_client import AsyncImbClient, calls
from tests.databases import PRODUCTION_LIKE
from tests.e2e.processes import ImbInstallation
from tests.world import (
    CARE_TEAM,
    COUNCIL,
    HOUSING,
    TRUST,
    crisis_event,
    eventually,
    nhs_numbers_for_testing,
    risk_event,
)

pytestmark = pytest.mark.slow
RISK_TEXT = "Quillfeather stopped lithium after the flood"
DISENGAGED_TEXT = "Marrowgate door left unanswered twice"
CRISIS_TEXT = "Tamsinbrook parapet found by the river police"
EVIDENCE_TEXT = "Oriel asked that the housing officer is not told"
SECRETS = [RISK_TEXT, DISENGAGED_TEXT, CRISIS_TEXT, EVIDENCE_TEXT]
FEW_SECONDS = [
    {
        "event_type": "crisis.occurred",
        "urgency": "*",
        "deliver_within": "PT2S",
        "ack_within": "PT3S",
        "escalation": ["duty_team"],
    },
    {
        "event_type": "*",
        "urgency": "*",
        "deliver_within": "PT1H",
        "ack_within": "P3D",
        "escalation": ["sender_report"],
    },
]
ACK = {"outcome": "actioned", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}}
RECORDER = {"name": "A. Patel", "role": "care coordinator"}
# What `imb serve` itself prints to the terminal, apart from its log lines.
BANNER = ("imb: ", "  ")


def _disengaged(nhs_number: str) -> dict[str, Any]:
    earlier = datetime.now(UTC) - timedelta(days=3)
    return risk_event(
        type="engagement.disengaged",
        urgency="routine",
        subject={"nhs_number": nhs_number},
        payload={
            "last_contact_at": earlier.isoformat(),
            "missed_contacts": 2,
            "attempts": [
                {"at": earlier.isoformat(), "method": "visit", "outcome": DISENGAGED_TEXT}
            ],
            "current_risk_level": "medium",
        },
    )


def _crisis(nhs_number: str) -> dict[str, Any]:
    event = crisis_event(subject={"nhs_number": nhs_number}, recipients=[COUNCIL])
    event["payload"]["presentation"] = CRISIS_TEXT
    return event


def _risk(nhs_number: str) -> dict[str, Any]:
    event = risk_event(subject={"nhs_number": nhs_number}, recipients=[COUNCIL])
    event["payload"]["rationale"] = RISK_TEXT
    return event


async def _day_of_traffic(installation: ImbInstallation, base_url: str, creds: Any) -> None:
    admin = AsyncImbClient(base_url, *installation.add_client(TRUST, "admin"))
    trust, council = (
        AsyncImbClient(base_url, *creds[TRUST]),
        AsyncImbClient(base_url, *creds[COUNCIL]),
    )
    risk_person, withheld_person, crisis_person = nhs_numbers_for_testing(3)
    await admin.send(calls.set_timeframes({"policies": FEW_SECONDS}))
    for person in (risk_person, withheld_person, crisis_person):
        await trust.send(calls.set_care_team(person, CARE_TEAM))
    refusal = {
        "state": "refused",
        "scope": {"recipients": [HOUSING]},
        "recorded_by": RECORDER,
        "evidence": EVIDENCE_TEXT,
    }
    await trust.send(calls.record_consent(withheld_person, refusal))

    await trust.publish(_risk(risk_person))
    await trust.publish(_disengaged(withheld_person))
    await trust.publish(_crisis(crisis_person))
    arrived = await eventually(council.inbox, lambda items: len(items) == 3)
    risk_item = next(item for item in arrived if item.type == "risk.changed")
    await council.fetch(risk_item.delivery_id)
    await council.acknowledge(risk_item.delivery_id, ACK)
    await eventually(lambda: council.send(calls.escalations("open")), lambda page: page.items)
    for client in (admin, trust, council):
        await client.aclose()


def _entries(lines: list[str], log_format: str) -> list[dict[str, Any]]:
    if log_format == "json":
        return [json.loads(line) for line in lines]
    return [_console_entry(line) for line in lines]


def _console_entry(line: str) -> dict[str, Any]:
    fields: dict[str, Any] = dict(re.findall(r"(\w+)=(\S+)", line))
    fields["event"] = line.split("]", 1)[1].split()[0] if "]" in line else ""
    return fields


def _spellings(nhs_number: str) -> list[str]:
    a, b, c = nhs_number[:3], nhs_number[3:6], nhs_number[6:]
    return [nhs_number, f"{a} {b} {c}", f"{a}-{b}-{c}"]


@pytest.mark.parametrize(
    ("database_url", "log_format"),
    [
        ("sqlite", "console"),
        pytest.param(*PRODUCTION_LIKE, "json", marks=pytest.mark.acceptance),
    ],
    indirect=["database_url"],
)
async def test_the_log_tells_what_happened_and_nothing_about_the_person(
    installation: ImbInstallation, partnership: dict[str, tuple[str, str]], log_format: str
) -> None:
    installation.env["IMB_LOG__FORMAT"] = log_format
    server = installation.serve()
    try:
        await _day_of_traffic(installation, server.base_url, partnership)
        await eventually(_async(lambda: server.log()), lambda log: "delivery.escalated" in log)
    finally:
        server.stop()
    lines = server.log().splitlines()
    log_lines = [line for line in lines if line and not line.startswith(BANNER)]
    entries = _entries(log_lines, log_format)
    events = [entry["event"] for entry in entries]
    access = {(e.get("method"), e.get("route"), str(e.get("status"))) for e in entries}
    withheld = [e for e in entries if e["event"] == "delivery.withheld"]

    assert any(line.startswith("imb: serving on") for line in lines)
    everything = "\n".join(lines)
    for person in nhs_numbers_for_testing(3):
        for spelling in _spellings(person):
            assert spelling not in everything, spelling
    for text in SECRETS:
        assert text not in everything
    assert ("PUT", "/v1/subjects/{nhs_number}/care-team", "200") in access
    assert ("POST", "/v1/subjects/{nhs_number}/consents", "201") in access
    assert ("POST", "/v1/events", "202") in access
    assert ("GET", "/v1/inbox/{delivery_id}", "200") in access
    assert ("POST", "/v1/inbox/{delivery_id}/ack", "200") in access
    assert events.count("event.accepted") == 3
    assert events.count("event.routed") == 3
    assert [e["recipient"] for e in withheld] == [HOUSING]
    assert withheld[0]["reason"] == "consent_refused"
    assert "delivery.delivered" in events
    assert "delivery.breached" in events
    assert "delivery.escalated" in events


def _async(probe: Any) -> Any:
    async def wrapped() -> Any:
        return probe()

    return wrapped
