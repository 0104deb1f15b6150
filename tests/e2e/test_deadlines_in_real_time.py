"""Deadlines against a real `imb serve`, in real time, with a policy of a few seconds: a
crisis alert left unacknowledged is escalated to the recipient's duty team, then to the
care-team coordinator, and the chase stops when the recipient acknowledges."""

from datetime import datetime

import pytest

from adapters.imb_client import AsyncImbClient, calls
from schemas.escalations import EscalationPage
from tests.e2e.processes import ImbInstallation, ServingImb
from tests.world import CARE_TEAM, COUNCIL, HOUSING, NHS_NUMBER, TRUST, crisis_event, eventually

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
FEW_SECONDS = [
    {
        "event_type": "crisis.occurred",
        "urgency": "*",
        "deliver_within": "PT3S",
        "ack_within": "PT6S",
        "escalation": ["duty_team", "coordinator"],
        "escalation_interval": "PT3S",
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


def _routes(page: EscalationPage) -> list[str]:
    return [item.route.value for item in page.items]


async def test_an_unacknowledged_crisis_alert_is_escalated_in_seconds(
    installation: ImbInstallation,
    serving: ServingImb,
    partnership: dict[str, tuple[str, str]],
) -> None:
    imb = {code: AsyncImbClient(serving.base_url, *creds) for code, creds in partnership.items()}
    admin = AsyncImbClient(serving.base_url, *installation.add_client(TRUST, "admin"))
    trust, council, housing = imb[TRUST], imb[COUNCIL], imb[HOUSING]
    await admin.send(calls.set_timeframes({"policies": FEW_SECONDS}))
    await trust.send(calls.set_care_team(NHS_NUMBER, CARE_TEAM))

    message_id = (await trust.publish(crisis_event())).message_id
    housing_items = await eventually(housing.inbox, bool)
    await housing.acknowledge(housing_items[0].delivery_id, ACK)
    duty = await eventually(lambda: council.send(calls.escalations("open")), _routes)
    coordinator = await eventually(lambda: trust.send(calls.escalations("open")), _routes)
    council_items = await council.inbox()
    await council.acknowledge(council_items[0].delivery_id, ACK)
    resolved = await eventually(lambda: council.send(calls.escalations("resolved")), _routes)

    status = await trust.event_status(message_id)
    by_agency = {entry["agency"]: entry for entry in status["recipients"]}
    assert _routes(duty) == ["duty_team"]
    assert _routes(coordinator) == ["coordinator"]
    assert _routes(resolved) == ["duty_team"]
    assert (await trust.send(calls.escalations("open"))).items == []
    assert by_agency[COUNCIL]["breached"] is True
    assert by_agency[HOUSING]["breached"] is False
    trail = (await trust.send(calls.audit_trail(message_id)))["records"]
    breaches = [r for r in trail if r["event"] == "delivery.breached"]
    assert [b["detail"]["recipient"] for b in breaches] == [COUNCIL]
    (breach,) = breaches
    late = datetime.fromisoformat(breach["recorded_at"]) - datetime.fromisoformat(
        by_agency[COUNCIL]["ack_by"]
    )
    assert late.total_seconds() < 5
    assert [r["event"] for r in trail].count("escalation.resolved") == 2
