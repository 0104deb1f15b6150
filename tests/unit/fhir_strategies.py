"""Hypothesis strategies for IMB's wire models, within their pydantic constraints, as JSON.

Texts are stripped as the models strip them; instants carry quarter-hour offsets within FHIR's
±14:00 (the models allow more; no zone in use does) and stay inside the models' range of years
(1900 to 2199) in UTC too; NHS numbers come from the 999 test range with a valid check digit.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schemas.consents import ConsentBody
from schemas.events import EVENT_SUBMISSION
from schemas.nhs_number import nhs_check_digit
from schemas.vocabulary import (
    AckOutcome,
    ConsentState,
    ContactMethod,
    DeclineReason,
    EventType,
    OverrideReason,
    Purpose,
    RiskDomain,
    RiskLevel,
    Urgency,
)

Json = dict[str, Any]


def _text(max_size: int) -> st.SearchStrategy[str]:
    return (
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=max_size)
        .map(str.strip)
        .filter(bool)
    )


long_text = _text(60)
short_text = _text(30)
agency_codes = st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{1,15}\Z")
zones = st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=zones
).map(datetime.isoformat)
utc_instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.just(UTC)
)
dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2199, 12, 31)).map(str)


def _nhs_number(digits: str) -> str | None:
    check = nhs_check_digit(f"999{digits}")
    return None if check is None else f"999{digits}{check}"


nhs_numbers = (
    st.text("0123456789", min_size=6, max_size=6)
    .map(_nhs_number)
    .filter(lambda n: n is not None and len(set(n)) > 1)
    .map(str)
)


def _values(vocabulary: type[Any]) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in vocabulary])


levels = _values(RiskLevel)
people = st.fixed_dictionaries({"name": short_text, "role": short_text})

risk_payloads = st.fixed_dictionaries(
    {
        "previous_level": levels,
        "current_level": levels,
        "risk_domains": st.lists(_values(RiskDomain), min_size=1, max_size=6),
        "rationale": long_text,
    },
    optional={
        "early_warning_indicators": st.lists(long_text, max_size=3),
        "actions_taken": st.lists(long_text, max_size=3),
        "review_date": st.none() | dates,
    },
)
attempts = st.fixed_dictionaries(
    {"at": instants, "method": _values(ContactMethod), "outcome": short_text}
)
disengaged_payloads = st.fixed_dictionaries(
    {
        "last_contact_at": instants,
        "missed_contacts": st.integers(1, 1000),
        "current_risk_level": levels,
    },
    optional={
        "attempts": st.lists(attempts, max_size=3),
        "actions_requested": st.lists(long_text, max_size=3),
    },
)
crisis_payloads = st.fixed_dictionaries(
    {
        "started_at": instants,
        "presentation": long_text,
        "immediate_risk": st.booleans(),
        "escalation_summary": st.fixed_dictionaries(
            {
                "what_has_been_done": long_text,
                "what_has_changed": long_text,
                "what_is_requested": long_text,
            }
        ),
    },
    optional={
        "services_involved": st.lists(short_text, max_size=3),
        "crisis_plan_id": st.none() | st.uuids().map(str),
    },
)
PAYLOADS = {
    EventType.RISK_CHANGED.value: risk_payloads,
    EventType.ENGAGEMENT_DISENGAGED.value: disengaged_payloads,
    EventType.CRISIS_OCCURRED.value: crisis_payloads,
}

subjects = st.fixed_dictionaries({"nhs_number": nhs_numbers}, optional={"local_id": short_text})
overrides = st.fixed_dictionaries(
    {
        "reason": _values(OverrideReason),
        "authorised_by": short_text,
        "justification": long_text,
    }
)


@st.composite
def events(draw: st.DrawFn, event_type: str | None = None) -> Json:
    """An event as POST /v1/events takes it, normalised as IMB's models read it."""
    kind = event_type or draw(st.sampled_from(sorted(PAYLOADS)))
    event: Json = {
        "id": str(draw(st.uuids())),
        "type": kind,
        "occurred_at": draw(instants),
        "subject": draw(subjects),
        "reason_for_sharing": draw(long_text),
        "purpose": draw(_values(Purpose)),
        "urgency": draw(_values(Urgency)),
        "payload": draw(PAYLOADS[kind]),
    }
    recipients = draw(st.none() | st.lists(agency_codes, min_size=1, max_size=3, unique=True))
    if recipients is not None:
        event["recipients"] = recipients
    override = draw(st.none() | overrides)
    if override is not None:
        event["override"] = override
    return normalised(event)


def normalised(event: Json) -> Json:
    dumped: Json = EVENT_SUBMISSION.dump_python(
        EVENT_SUBMISSION.validate_python(event), mode="json"
    )
    return dumped


# A delivery's deadlines and seq as DeliveryContent holds them; seq is FHIR's positiveInt.
delivery_schedules = st.fixed_dictionaries(
    {
        "deliver_by": st.none() | utc_instants,
        "ack_by": st.none() | utc_instants,
        "seq": st.none() | st.integers(1, 2**31 - 1),
    }
)


@st.composite
def acknowledgements(draw: st.DrawFn) -> Json:
    outcome = draw(_values(AckOutcome))
    ack: Json = {"outcome": outcome, "acknowledged_by": draw(people)}
    if outcome == AckOutcome.DECLINED:
        ack["reason_code"] = draw(_values(DeclineReason))
    note = draw(st.none() | long_text)
    if note is not None:
        ack["note"] = note
    return ack


@st.composite
def consent_views(draw: st.DrawFn) -> Json:
    """A stored consent record as `consent_view` shows it."""
    starts = draw(st.none() | utc_instants)
    ends = draw(st.none() | utc_instants)
    if starts is not None and ends is not None and ends <= starts:
        starts, ends = None, ends
    body = {
        "state": draw(_values(ConsentState)),
        "scope": {
            "recipients": draw(st.lists(agency_codes, max_size=3)),
            "event_types": draw(st.lists(_values(EventType), max_size=3)),
            "purposes": draw(st.lists(_values(Purpose), max_size=2)),
        },
        "recorded_by": draw(people),
        "evidence": draw(st.none() | long_text),
        "valid_from": starts.isoformat() if starts else None,
        "valid_to": ends.isoformat() if ends else None,
        "supersedes": [str(u) for u in draw(st.lists(st.uuids(), max_size=3))],
    }
    ConsentBody.model_validate(body)
    recorded_at = draw(utc_instants).isoformat()
    extra = {"recorded_at": recorded_at, "recording_agency": draw(agency_codes)}
    return {"id": str(draw(st.uuids())), **body, **extra}
