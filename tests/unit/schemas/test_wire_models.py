"""The wire contract: what partner systems may and may not send."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.acks import Acknowledgement
from schemas.agreements import AgreementBody
from schemas.care_team import CareTeam
from schemas.events import EVENT_SUBMISSION
from schemas.export import FOLDER, json_schemas, render
from schemas.nhs_number import is_valid_nhs_number
from tests.world import agreement_body, risk_event


def _event(**overrides: Any) -> Any:
    return EVENT_SUBMISSION.validate_python(risk_event(**overrides))


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "943 476 5919"])
def test_valid_nhs_numbers_are_accepted(number: str) -> None:
    assert _event(subject={"nhs_number": number}).subject.nhs_number == number.replace(" ", "")


@pytest.mark.parametrize("number", ["9434765918", "123456789", "12345678901", "abcdefghij", ""])
def test_invalid_nhs_numbers_are_refused(number: str) -> None:
    with pytest.raises(ValidationError):
        _event(subject={"nhs_number": number})


def test_check_digit_of_ten_is_never_valid() -> None:
    # 1000000010: weights give remainder 1, so the check digit would be 10.
    assert not any(is_valid_nhs_number(f"100000001{d}") for d in "0123456789")


def test_each_event_type_has_its_own_payload() -> None:
    crisis = {
        "started_at": "2026-11-22T10:00:00+00:00",
        "presentation": "Found in distress on bridge",
        "immediate_risk": True,
        "escalation_summary": {
            "what_has_been_done": "Police attended",
            "what_has_changed": "New suicidal intent",
            "what_is_requested": "Crisis team review today",
        },
    }
    assert _event(type="crisis.occurred", payload=crisis).payload.immediate_risk is True
    with pytest.raises(ValidationError):
        _event(type="engagement.disengaged", payload=crisis)


def test_disengagement_needs_at_least_one_missed_contact() -> None:
    payload = {
        "last_contact_at": "2026-11-01T10:00:00+00:00",
        "missed_contacts": 0,
        "current_risk_level": "medium",
    }
    with pytest.raises(ValidationError):
        _event(type="engagement.disengaged", payload=payload)


def test_recipients_may_not_repeat() -> None:
    with pytest.raises(ValidationError):
        _event(recipients=["LA001", "LA001"])


def test_declined_acknowledgement_needs_a_reason_and_others_must_not_have_one() -> None:
    who = {"name": "B. Jones", "role": "social worker"}
    with pytest.raises(ValidationError):
        Acknowledgement.model_validate({"outcome": "declined", "acknowledged_by": who})
    with pytest.raises(ValidationError):
        Acknowledgement.model_validate(
            {"outcome": "accepted", "reason_code": "other", "acknowledged_by": who}
        )


def test_care_team_lists_each_agency_once() -> None:
    member = {"agency": "RX4", "role": "cc", "named_lead": "A", "coordinator": True}
    with pytest.raises(ValidationError):
        CareTeam.model_validate({"members": [member, {**member, "coordinator": False}]})


def test_published_json_schemas_match_the_models() -> None:
    for name, schema in json_schemas().items():
        assert (FOLDER / name).read_text() == render(schema), f"run `make schemas` ({name})"


def test_example_agreement_in_the_readme_is_valid() -> None:
    from pathlib import Path

    from schemas.agreements import AgreementBody

    example = Path(__file__).parents[3] / "deploy" / "examples" / "agreement.json"
    agreement = AgreementBody.model_validate_json(example.read_text())
    assert {party.agency for party in agreement.parties} == {"RX4", "LA001"}


@pytest.mark.parametrize(
    ("event_type", "item"),
    [
        ("crisis.occurred", "escalation_summary"),
        ("crisis.occurred", "escalation_summary.what_is_requested"),
        ("engagement.disengaged", "attempts.method"),
        ("risk.changed", "current_level"),
    ],
)
def test_data_items_may_name_a_field_or_a_whole_branch(event_type: str, item: str) -> None:
    body = agreement_body(["RX4", "LA001"], data_items={event_type: [item]})
    assert AgreementBody.model_validate(body).data_items == {event_type: [item]}


@pytest.mark.parametrize(
    ("event_type", "item"),
    [("crisis.occurred", "escalation"), ("engagement.disengaged", "attempts.who")],
)
def test_data_items_naming_no_payload_field_are_refused(event_type: str, item: str) -> None:
    body = agreement_body(["RX4", "LA001"], data_items={event_type: [item]})
    with pytest.raises(ValidationError, match="does not have"):
        AgreementBody.model_validate(body)
