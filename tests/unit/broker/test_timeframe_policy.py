"""Which timeframe applies to a delivery, and how an agreement may only shorten it."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from broker.timeframes.assign import Tightening, agreed_tightenings, assign, risk_level_of
from broker.timeframes.policy import (
    DEFAULT_POLICIES,
    iso_duration,
    loosened_by,
    select_policy,
    select_timeframe,
)
from broker.timeframes.service import to_policy
from schemas.timeframes import TimeframesBody
from schemas.vocabulary import EscalationStep

AT = datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


URGENCIES = ["routine", "urgent", "emergency"]
# Every row of the default table, each urgency of a row that matches any: what it must give.
EVERY_ROW = [
    (p.event_type, urgency, p.risk_level, p.timeframe)
    for p in DEFAULT_POLICIES
    for urgency in (URGENCIES if p.urgency == "*" else [p.urgency])
    if p.event_type != "*" or p.urgency != "*" or urgency == "routine"
]


@pytest.mark.parametrize(("event_type", "urgency", "level", "expected"), EVERY_ROW)
def test_every_row_of_the_default_table_times_what_it_names(event_type, urgency, level, expected):
    assert select_timeframe(DEFAULT_POLICIES, event_type, urgency, level)[1] == expected


def test_an_emergency_medium_risk_change_is_timed_in_minutes_not_a_day():
    _, timeframe, _ = select_timeframe(DEFAULT_POLICIES, "risk.changed", "emergency", "medium")
    record = timeframe.to_dict()
    assert (record["deliver_within"], record["ack_within"]) == ("PT1M", "PT15M")
    assert record["escalation"] == ["duty_team", "coordinator"]


@pytest.mark.parametrize("event_type", ["risk.changed", "engagement.disengaged"])
@pytest.mark.parametrize("level", ["low", "medium", "high", "very_high"])
def test_more_urgency_and_more_risk_never_mean_longer(event_type, level):
    def ack(urgency: str, risk: str) -> timedelta:
        return select_timeframe(DEFAULT_POLICIES, event_type, urgency, risk)[1].ack_within

    by_urgency = [ack(urgency, level) for urgency in URGENCIES]
    assert by_urgency == sorted(by_urgency, reverse=True)
    levels = ["low", "medium", "high", "very_high"]
    for urgency in URGENCIES:
        by_risk = [ack(urgency, risk) for risk in levels]
        assert by_risk == sorted(by_risk, reverse=True)


def test_a_crisis_is_an_emergency_whatever_its_sender_said_and_quicker_at_immediate_risk():
    routine = select_timeframe(DEFAULT_POLICIES, "crisis.occurred", "routine", "high")[1]
    immediate = select_timeframe(DEFAULT_POLICIES, "crisis.occurred", "routine", "very_high")[1]
    assert (routine.deliver_within, routine.ack_within) == (MINUTE, 15 * MINUTE)
    assert immediate.ack_within == 10 * MINUTE
    assert routine.escalation == (EscalationStep.DUTY_TEAM, EscalationStep.COORDINATOR)


@pytest.mark.parametrize(
    ("event_type", "payload", "level"),
    [
        ("risk.changed", {"current_level": "high"}, "high"),
        ("engagement.disengaged", {"current_risk_level": "medium"}, "medium"),
        ("crisis.occurred", {"immediate_risk": True}, "very_high"),
        ("crisis.occurred", {"immediate_risk": False}, "high"),
        ("housing.notice", {"current_level": "high"}, None),
    ],
)
def test_the_risk_level_is_read_from_each_event_type(event_type, payload, level):
    assert risk_level_of(event_type, payload) == level


def test_a_table_that_would_slow_an_emergency_is_held_to_the_urgency_order():
    table = TimeframesBody.model_validate(
        {
            "policies": [
                _policy("risk.changed", "emergency", "PT30M", "PT8H", "high"),
                _policy("risk.changed", "routine", "PT10M", "PT1H", "high"),
                _policy("*", "*", "PT1H", "P3D"),
            ]
        }
    )
    policies = [to_policy(row) for row in table.policies]

    assigned = assign(policies, "risk.changed", "emergency", "high", AT)

    assert assigned.timeframe.deliver_within == 10 * MINUTE
    assert assigned.timeframe.ack_within == timedelta(hours=1)
    assert assigned.record["held_to"] == ["routine"]
    assert assigned.record["risk_level"] == "high"


def test_an_event_type_the_table_does_not_name_is_timed_by_its_urgency():
    urgent = select_policy(DEFAULT_POLICIES, "housing.notice", "urgent", None).timeframe
    routine = select_policy(DEFAULT_POLICIES, "housing.notice", "routine", None).timeframe
    assert urgent.ack_within == timedelta(hours=1)
    assert routine.ack_within == timedelta(hours=72)
    assert routine.escalation == (EscalationStep.SENDER_REPORT,)


def _policy(event_type, urgency, deliver, ack, level=None):
    route = ["duty_team"] if urgency != "*" else ["sender_report"]
    row = {"event_type": event_type, "urgency": urgency, "deliver_within": deliver}
    return {**row, "ack_within": ack, "escalation": route, "risk_level": level}


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
