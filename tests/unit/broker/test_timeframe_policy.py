"""Which timeframe applies to a delivery, and how an agreement may only shorten it."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from broker.timeframes.assign import Tightening, agreed_tightenings, assign
from broker.timeframes.policy import DEFAULT_POLICIES, iso_duration, loosened_by, select_policy
from schemas.timeframes import TimeframesBody
from schemas.vocabulary import EscalationStep

AT = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_type", "urgency", "level", "deliver", "ack", "route"),
    [
        ("crisis.occurred", "emergency", None, "PT1M", "PT15M", ["duty_team", "coordinator"]),
        ("crisis.occurred", "routine", None, "PT1M", "PT15M", ["duty_team", "coordinator"]),
        ("risk.changed", "urgent", "very_high", "PT5M", "PT1H", ["duty_team"]),
        ("risk.changed", "routine", "high", "PT5M", "PT1H", ["duty_team"]),
        ("risk.changed", "routine", "medium", "PT1H", "P1D", ["sender_report"]),
        ("engagement.disengaged", "urgent", None, "PT15M", "P1D", ["duty_team"]),
    ],
)
def test_the_design_table_is_the_default(event_type, urgency, level, deliver, ack, route):
    timeframe = select_policy(DEFAULT_POLICIES, event_type, urgency, level).timeframe
    record = timeframe.to_dict()
    assert (record["deliver_within"], record["ack_within"]) == (deliver, ack)
    assert record["escalation"] == route


def test_an_event_type_the_table_does_not_name_is_timed_by_its_urgency():
    urgent = select_policy(DEFAULT_POLICIES, "housing.notice", "urgent", None).timeframe
    routine = select_policy(DEFAULT_POLICIES, "housing.notice", "routine", None).timeframe
    assert urgent.ack_within == timedelta(hours=1)
    assert routine.ack_within == timedelta(hours=72)
    assert routine.escalation == (EscalationStep.SENDER_REPORT,)


def test_deadlines_count_from_the_decision_and_record_what_shortened_them():
    plan = Tightening("crisis_plan:p1", None, timedelta(minutes=5))
    looser = Tightening("agreement:a1/v1", timedelta(hours=2), timedelta(hours=1))
    assigned = assign(DEFAULT_POLICIES, "crisis.occurred", "emergency", None, AT, [plan, looser])
    assert assigned.deadlines.deliver_by == AT + timedelta(minutes=1)
    assert assigned.deadlines.ack_by == AT + timedelta(minutes=5)
    assert assigned.record["tightened_by"] == ["crisis_plan:p1"]
    assert assigned.record["policy"]["event_type"] == "crisis.occurred"


def test_an_agreement_row_applies_only_where_its_key_matches():
    rows = [
        {"event_type": "risk.changed", "risk_level": "high", "ack_within": "PT30M"},
        {"event_type": "crisis.occurred", "ack_within": "PT5M"},
    ]
    high = agreed_tightenings("agreement:x/v1", rows, "risk.changed", "urgent", "high")
    low = agreed_tightenings("agreement:x/v1", rows, "risk.changed", "urgent", "low")
    assert [t.ack_within for t in high] == [timedelta(minutes=30)]
    assert low == []


def test_a_longer_agreed_duration_is_named_as_loosening():
    assert loosened_by(("crisis.occurred", "*", None, None, timedelta(hours=2)), DEFAULT_POLICIES)
    assert (
        loosened_by(
            ("crisis.occurred", "*", None, timedelta(seconds=30), timedelta(minutes=10)),
            DEFAULT_POLICIES,
        )
        == []
    )


def test_durations_are_written_as_iso_8601():
    assert iso_duration(timedelta(minutes=15)) == "PT15M"
    assert iso_duration(timedelta(days=3)) == "P3D"
    assert iso_duration(timedelta(days=1, hours=2, seconds=3.5)) == "P1DT2H3.5S"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deliver_within": "-PT1M"}, "longer than zero"),
        ({"ack_within": "900"}, "ISO 8601"),
        ({"ack_within": "PT0S"}, "longer than zero"),
        ({"escalation": ["duty_team", "duty_team"]}, "repeat"),
        ({"event_type": "crisis.occurred", "risk_level": "high"}, "risk.changed only"),
    ],
)
def test_a_bad_policy_row_is_refused_with_the_reason(change, message):
    row = {
        "event_type": "*",
        "urgency": "*",
        "deliver_within": "PT1H",
        "ack_within": "PT72H",
        "escalation": ["sender_report"],
        **change,
    }
    with pytest.raises(ValidationError, match=message):
        TimeframesBody.model_validate({"policies": [row]})
