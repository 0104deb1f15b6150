"""A recipient's acknowledgement as a FHIR response message, and a transient error that
acknowledges nothing."""

import copy
from typing import Any
from uuid import UUID

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_strategies import acknowledgements, agency_codes
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fhir import (
    AcknowledgementReceived,
    FhirInputError,
    TransientErrorReceived,
    acknowledgement_bundle,
    acknowledgement_from_bundle,
    is_response_message,
    transient_error_bundle,
)

DELIVERY = UUID("5a7e2c14-9b3d-4f60-8e21-7c4d0b9a1f35")
MESSAGE = "e2b6f0a9-3c71-4d85-a4f2-9d18c6b3e057"
NOW = "2026-03-02T11:05:00+00:00"
DECLINED = {
    "outcome": "declined",
    "reason_code": "not_known_to_service",
    "acknowledged_by": {"name": "B. Jones", "role": "Social worker"},
}


def _bundle(ack: dict[str, Any], sender: str = "LA001") -> dict[str, Any]:
    return acknowledgement_bundle(DELIVERY, ack, sender=sender, message_id=MESSAGE, timestamp=NOW)


def _issue(bundle: dict[str, Any]) -> Any:
    with pytest.raises(FhirInputError) as refusal:
        acknowledgement_from_bundle(bundle)
    return refusal.value.issues[0]


@settings(max_examples=60, deadline=None)
@given(acknowledgements(), agency_codes, st.uuids())
def test_an_acknowledgement_survives_fhir_unchanged(
    ack: dict[str, Any], sender: str, delivery_id: UUID
) -> None:
    bundle = acknowledgement_bundle(
        delivery_id, ack, sender=sender, message_id=MESSAGE, timestamp=NOW
    )

    Bundle.parse_obj(bundle)
    received = acknowledgement_from_bundle(bundle)

    assert received == AcknowledgementReceived(delivery_id, sender, ack)


def test_an_ok_response_without_details_is_accepted() -> None:
    bundle = _bundle({"outcome": "accepted", "acknowledged_by": DECLINED["acknowledged_by"]})
    header = bundle["entry"][0]["resource"]
    del header["response"]["details"]

    received = acknowledgement_from_bundle(bundle)

    assert isinstance(received, AcknowledgementReceived)
    assert received.acknowledgement["outcome"] == "accepted"


def test_a_decline_is_a_fatal_error_coded_with_its_reason() -> None:
    bundle = _bundle(DECLINED)

    header = bundle["entry"][0]["resource"]
    outcome = bundle["entry"][2]["resource"]
    assert header["response"]["code"] == "fatal-error"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "not_known_to_service"


def test_a_decline_without_its_reason_is_refused_at_the_details() -> None:
    bundle = _bundle(DECLINED)
    bundle["entry"][2]["resource"]["issue"][0]["details"]["coding"].pop(0)

    issue = _issue(bundle)

    assert issue.code == "value"
    assert issue.expression == "Bundle.entry[0].resource.response"
    assert "reason_code" in issue.diagnostics


def test_a_transient_error_is_told_apart_and_acknowledges_nothing() -> None:
    bundle = transient_error_bundle(DELIVERY, sender="LA001", message_id=MESSAGE, timestamp=NOW)

    Bundle.parse_obj(bundle)
    received = acknowledgement_from_bundle(bundle)

    assert received == TransientErrorReceived(DELIVERY, "LA001")


def test_a_response_to_something_other_than_a_delivery_id_is_refused() -> None:
    bundle = _bundle(DECLINED)
    bundle["entry"][0]["resource"]["response"]["identifier"] = "not-a-delivery"

    issue = _issue(bundle)

    assert (issue.code, issue.expression) == (
        "value",
        "Bundle.entry[0].resource.response.identifier",
    )


def test_who_acknowledged_is_required() -> None:
    bundle = _bundle(DECLINED)
    del bundle["entry"][0]["resource"]["author"]

    issue = _issue(bundle)

    assert (issue.code, issue.expression) == ("required", "Bundle.entry[0].resource.author")


def test_the_enterer_stands_in_for_the_author() -> None:
    bundle = _bundle(DECLINED)
    header = bundle["entry"][0]["resource"]
    header["enterer"] = header.pop("author")

    received = acknowledgement_from_bundle(bundle)

    assert isinstance(received, AcknowledgementReceived)
    assert received.acknowledgement == DECLINED


def test_an_ok_response_coded_declined_is_refused() -> None:
    bundle = _bundle({**DECLINED, "outcome": "accepted", "reason_code": None})
    details = bundle["entry"][2]["resource"]["issue"][0]["details"]
    details["coding"][0]["code"] = "declined"

    issue = _issue(bundle)

    assert issue.code == "value"
    assert issue.expression == "Bundle.entry[2].resource.issue[0].details.coding[0].code"


def test_an_event_message_is_not_an_acknowledgement() -> None:
    bundle = copy.deepcopy(_bundle(DECLINED))
    bundle["entry"][0]["resource"]["eventCoding"]["code"] = "risk-changed"

    issue = _issue(bundle)

    assert issue.code == "not-supported"


def test_a_response_message_is_recognised_before_it_is_read() -> None:
    assert is_response_message(_bundle(DECLINED))
    assert not is_response_message({"resourceType": "Bundle", "entry": [{"resource": {}}]})
    assert not is_response_message([])
