"""An event submitted as a FHIR message reads back as the IMB JSON it was built from."""

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir_strategies import agency_codes, events, normalised
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fhir import event_bundle, event_from_bundle
from schemas.vocabulary import EventType

ROUND_TRIPS = settings(max_examples=60, deadline=None)


def _bundle(event: dict[str, Any], sender: str) -> dict[str, Any]:
    return event_bundle(
        event,
        sender=sender,
        recipients=event.get("recipients") or [],
        header_id=event["id"],
        timestamp=event["occurred_at"],
    )


def _survives_unchanged(event: dict[str, Any], sender: str) -> None:
    bundle = _bundle(event, sender)

    Bundle.parse_obj(bundle)
    inbound = event_from_bundle(bundle)

    assert inbound.sender == sender
    assert normalised(inbound.event) == event


@ROUND_TRIPS
@given(events(EventType.RISK_CHANGED.value), agency_codes)
def test_a_risk_change_survives_fhir_unchanged(event: dict[str, Any], sender: str) -> None:
    _survives_unchanged(event, sender)


@ROUND_TRIPS
@given(events(EventType.ENGAGEMENT_DISENGAGED.value), agency_codes)
def test_a_disengagement_survives_fhir_unchanged(event: dict[str, Any], sender: str) -> None:
    _survives_unchanged(event, sender)


@ROUND_TRIPS
@given(events(EventType.CRISIS_OCCURRED.value), agency_codes)
def test_a_crisis_survives_fhir_unchanged(event: dict[str, Any], sender: str) -> None:
    _survives_unchanged(event, sender)


@settings(max_examples=20, deadline=None)
@given(events(), st.sampled_from(["header", "identifier"]))
def test_either_id_alone_is_the_idempotency_key(event: dict[str, Any], kept: str) -> None:
    bundle = _bundle(event, "RX4")
    if kept == "header":
        del bundle["identifier"]
    else:
        del bundle["entry"][0]["resource"]["id"]

    assert event_from_bundle(bundle).event["id"] == event["id"]


@settings(max_examples=20, deadline=None)
@given(events().filter(lambda e: e.get("recipients")))
def test_recipients_named_by_their_endpoints_alone_are_the_same_recipients(
    event: dict[str, Any],
) -> None:
    bundle = _bundle(event, "RX4")
    for destination in bundle["entry"][0]["resource"]["destination"]:
        del destination["receiver"]

    assert event_from_bundle(bundle).event["recipients"] == event["recipients"]


def test_recipients_left_out_leave_routing_to_the_agreements() -> None:
    event = normalised({**_risk_event(), "recipients": None})

    inbound = event_from_bundle(_bundle(event, "RX4"))

    assert "recipients" not in inbound.event


def test_a_patient_named_by_a_logical_reference_is_read_by_its_nhs_number() -> None:
    event = _risk_event()
    bundle = _bundle(event, "RX4")
    focus = bundle["entry"][1]["resource"]
    focus["subject"] = {
        "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9997654323"}
    }

    inbound = event_from_bundle(bundle)

    assert inbound.event["subject"] == {"nhs_number": "9997654323"}


def test_the_purpose_of_use_is_coded_for_fhir_readers_too() -> None:
    bundle = _bundle(normalised({**_risk_event(), "urgency": "emergency"}), "RX4")

    codings = bundle["entry"][0]["resource"]["reason"]["coding"]

    assert [c["code"] for c in codings] == ["direct_care", "ETREAT"]


def _risk_event() -> dict[str, Any]:
    return normalised(
        {
            "id": "3f6c1d2e-8a4b-4c7e-9f21-5b0d6e7a8c91",
            "type": "risk.changed",
            "occurred_at": "2026-03-02T10:15:00+00:00",
            "subject": {"nhs_number": "9997654323"},
            "recipients": ["LA001"],
            "reason_for_sharing": "Risk to self has risen.",
            "purpose": "direct_care",
            "urgency": "urgent",
            "payload": {
                "previous_level": "medium",
                "current_level": "high",
                "risk_domains": ["self_harm"],
                "rationale": "Stopped depot medication.",
            },
        }
    )
