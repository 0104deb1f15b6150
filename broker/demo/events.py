"""The demo's events, as the agencies' record systems would send them, accepted by the same
use case as `POST /v1/events`."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from broker.audit.log import Actor
from broker.demo.cast import Cast, DemoAgency
from broker.errors import BrokerError
from broker.messages.submit import Accepted, submit_events
from broker.runtime import Runtime
from schemas.events import EVENT_SUBMISSION

# The override that lets housing hear of a risk to its staff despite the refusal.
SAFEGUARDING_OVERRIDE = {
    "reason": "safeguarding_adult_at_risk",
    "authorised_by": "Dr R. Khan, consultant psychiatrist",
    "justification": "Threats towards a neighbour; housing staff visit alone and must know.",
}


@dataclass(frozen=True)
class DemoEvent:
    """An event and who sends it; `headline` says in a line what it shows."""

    sender: DemoAgency
    body: dict[str, Any]
    headline: str


@dataclass(frozen=True)
class Sent:
    event: DemoEvent
    message_id: UUID


async def publish(rt: Runtime, actor: Actor, event: DemoEvent) -> Sent:
    """Accept the event in its own transaction, as one `POST /v1/events`, and wake the relay."""
    submission = EVENT_SUBMISSION.validate_python(event.body)
    async with rt.db.unit_of_work() as session:
        (outcome,) = await submit_events(session, rt, actor, [submission])
        if isinstance(outcome, BrokerError):
            raise outcome
        await session.commit()
    assert isinstance(outcome, Accepted)
    rt.wakeups.wake(outcome.lane)
    return Sent(event, outcome.message_id)


def everyday_events(cast: Cast, now: datetime) -> list[DemoEvent]:
    """Risk changes, disengagements and crises routed under the partnership's usual deadlines."""
    first, second = cast.people
    return [
        DemoEvent(
            cast.trust,
            _risk_change(first, now, "medium", "high", "urgent"),
            "risk raised: to the care team, withheld from housing (the person refused)",
        ),
        DemoEvent(
            cast.trust,
            {
                **_risk_change(first, now, "high", "very_high", "urgent"),
                "recipients": [cast.housing.code],
                "purpose": "safeguarding",
                "override": SAFEGUARDING_OVERRIDE,
            },
            "risk to others: sent to housing by safeguarding override, for IG review",
        ),
        DemoEvent(cast.gp, _disengagement(first, now, 3), "missed GP appointments"),
        DemoEvent(cast.trust, _disengagement(second, now, 4), "missed community visits"),
        DemoEvent(
            cast.trust,
            _crisis(first, now),
            "crisis: every crisis-plan partner, the lead first",
        ),
        DemoEvent(cast.council, _crisis(second, now), "crisis reported by social care"),
    ]


def escalated_event(cast: Cast, now: datetime) -> DemoEvent:
    _, second = cast.people
    return DemoEvent(
        cast.trust,
        {
            **_risk_change(second, now, "high", "very_high", "emergency"),
            "recipients": [cast.council.code],
        },
        "emergency risk change left unacknowledged: escalated to the council's duty team",
    )


def _envelope(nhs_number: str, now: datetime, urgency: str, reason: str) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "occurred_at": (now - timedelta(minutes=30)).isoformat(),
        "subject": {"nhs_number": nhs_number, "local_id": f"MRN-{nhs_number[-4:]}"},
        "reason_for_sharing": reason,
        "purpose": "direct_care",
        "urgency": urgency,
    }


def _risk_change(
    nhs_number: str, now: datetime, before: str, after: str, urgency: str
) -> dict[str, Any]:
    reason = "Risk has risen; partners need to adjust how and how often they make contact."
    return {
        **_envelope(nhs_number, now, urgency, reason),
        "type": "risk.changed",
        "payload": {
            "previous_level": before,
            "current_level": after,
            "risk_domains": ["self_harm", "harm_to_others"],
            "rationale": "Stopped medication; angry with a neighbour over noise; sleeping badly.",
            "early_warning_indicators": ["withdrawn", "not eating"],
            "actions_taken": ["crisis team informed", "medication review booked"],
            "review_date": (now + timedelta(days=7)).date().isoformat(),
        },
    }


def _disengagement(nhs_number: str, now: datetime, missed: int) -> dict[str, Any]:
    reason = "Has stopped engaging; partners may have seen him and can help re-establish contact."
    return {
        **_envelope(nhs_number, now, "routine", reason),
        "type": "engagement.disengaged",
        "payload": {
            "last_contact_at": (now - timedelta(days=16)).isoformat(),
            "missed_contacts": missed,
            "attempts": [
                {
                    "at": (now - timedelta(days=3)).isoformat(),
                    "method": "phone",
                    "outcome": "no answer",
                },
                {
                    "at": (now - timedelta(days=1)).isoformat(),
                    "method": "visit",
                    "outcome": "no reply at the door",
                },
            ],
            "current_risk_level": "medium",
            "actions_requested": ["tell the care coordinator of any contact"],
        },
    }


def _crisis(nhs_number: str, now: datetime) -> dict[str, Any]:
    reason = "Crisis in progress; partners hold information needed to keep him safe."
    return {
        **_envelope(nhs_number, now, "emergency", reason),
        "type": "crisis.occurred",
        "payload": {
            "started_at": (now - timedelta(minutes=20)).isoformat(),
            "presentation": "Found on the river bridge by police; now at the crisis house.",
            "immediate_risk": True,
            "services_involved": ["crisis resolution and home treatment", "police"],
            "escalation_summary": {
                "what_has_been_done": "Crisis team assessed at 02:10; staying overnight.",
                "what_has_changed": "Eviction notice served yesterday.",
                "what_is_requested": "Housing to pause the eviction; social care to visit.",
            },
        },
    }
