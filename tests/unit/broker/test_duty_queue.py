"""How the duty console words time left and orders its items."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from broker.web.duty_queue import DutyItem, each_alert_once, most_urgent_first, time_left

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "words"),
    [
        (timedelta(seconds=45), "45 s left"),
        (timedelta(minutes=12, seconds=59), "12 min left"),
        (timedelta(hours=1), "1 h left"),
        (timedelta(hours=23, minutes=5), "23 h 5 min left"),
        (timedelta(days=2, hours=3), "2 d 3 h left"),
        (timedelta(0), "overdue by 0 s"),
        (-timedelta(minutes=4, seconds=30), "overdue by 4 min"),
    ],
)
def test_time_left_reads_in_the_largest_sensible_unit(offset: timedelta, words: str) -> None:
    assert time_left(NOW + offset, NOW) == words


def _item(
    kind: str, urgency: str, deadline: datetime | None, event_type: str = "crisis.occurred"
) -> DutyItem:
    return DutyItem(
        kind="escalation" if kind == "escalation" else "delivery",
        id=uuid4(),
        event_type=event_type,
        urgency=urgency,
        sender="RX4",
        sender_name="Riverside Mental Health NHS Trust",
        recipient="HOU01",
        deadline=deadline,
        delivery_status="delivered",
    )


def test_overdue_first_then_earliest_deadline_then_emergency_then_the_escalation() -> None:
    soon = NOW + timedelta(minutes=5)
    no_deadline = _item("delivery", "emergency", None)
    urgent_soon = _item("delivery", "urgent", soon)
    emergency_soon = _item("delivery", "emergency", soon)
    later = _item("delivery", "emergency", NOW + timedelta(minutes=30))
    overdue = _item("delivery", "urgent", NOW - timedelta(minutes=1))
    escalated = _item("escalation", "urgent", NOW - timedelta(minutes=1))

    ordered = most_urgent_first(
        [no_deadline, later, urgent_soon, overdue, emergency_soon, escalated], NOW
    )

    assert ordered == [escalated, overdue, emergency_soon, urgent_soon, later, no_deadline]


def test_the_urgent_lane_comes_before_an_older_routine_breach() -> None:
    routine_breach = _item("escalation", "routine", NOW - timedelta(days=2), "risk.changed")
    routine_crisis = _item("delivery", "routine", NOW + timedelta(hours=1))
    urgent_risk = _item("escalation", "urgent", NOW + timedelta(minutes=10), "risk.changed")

    ordered = most_urgent_first([routine_breach, routine_crisis, urgent_risk], NOW)

    assert ordered == [urgent_risk, routine_crisis, routine_breach]


def test_an_escalated_alert_is_shown_once_inside_its_escalation() -> None:
    alert = _item("delivery", "emergency", NOW - timedelta(minutes=1))
    other_alert = _item("delivery", "urgent", NOW + timedelta(minutes=5))
    escalation = replace(
        _item("escalation", "emergency", NOW - timedelta(minutes=1)), alert_id=alert.id
    )
    elsewhere = replace(_item("escalation", "urgent", NOW), alert_id=uuid4())

    shown = each_alert_once([escalation, alert, elsewhere, other_alert])

    assert [item.id for item in shown] == [escalation.id, elsewhere.id, other_alert.id]
    assert shown[0].alert == alert
    assert shown[1].alert is None
