"""A submitted message is taken only as meant: a modifier extension anywhere, or a focus marked
entered-in-error, is refused; and every destination names one agency, by its Organization or
by its IMB endpoint, so an event never falls back to the whole care team by mistake."""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle as BundleModel

from adapters.fhir import FhirInputError, Issue, acknowledgement_from_bundle, event_from_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy/examples/fhir"
RISK = json.loads((EXAMPLES / "risk-changed.json").read_text())
DISENGAGED = json.loads((EXAMPLES / "engagement-disengaged.json").read_text())
ACK = json.loads((EXAMPLES / "acknowledgement.json").read_text())
HEADER, FOCUS, PATIENT, SENDER_ORG = 0, 1, 2, 3
ENDPOINT = "https://interagency-broker.uk/fhir/Endpoint/"
MODIFIER = [{"url": "https://example.org/hypothetical", "valueBoolean": True}]
Bundle = dict[str, Any]


def changed(example: Bundle, change: Callable[[Bundle], object]) -> Bundle:
    bundle = copy.deepcopy(example)
    change(bundle)
    BundleModel.parse_obj(bundle)  # valid FHIR: refused by IMB, not by the FHIR models
    return bundle


def issues_of(bundle: Bundle, read: Callable[[Bundle], object] = event_from_bundle) -> list[Issue]:
    with pytest.raises(FhirInputError) as refusal:
        read(bundle)
    return list(refusal.value.issues)


def resource(bundle: Bundle, index: int) -> dict[str, Any]:
    found: dict[str, Any] = bundle["entry"][index]["resource"]
    return found


def destination(bundle: Bundle) -> dict[str, Any]:
    found: dict[str, Any] = resource(bundle, HEADER)["destination"][0]
    return found


MODIFIED: dict[str, tuple[int, Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "the MessageHeader": (HEADER, lambda r: r, "Bundle.entry[0].resource.modifierExtension"),
    "a destination": (
        HEADER,
        lambda r: r["destination"][0],
        "Bundle.entry[0].resource.destination[0].modifierExtension",
    ),
    "the focus": (FOCUS, lambda r: r, "Bundle.entry[1].resource.modifierExtension"),
    "a prediction of the focus": (
        FOCUS,
        lambda r: r["prediction"][0],
        "Bundle.entry[1].resource.prediction[0].modifierExtension",
    ),
    "the Patient": (PATIENT, lambda r: r, "Bundle.entry[2].resource.modifierExtension"),
    "an Organization": (SENDER_ORG, lambda r: r, "Bundle.entry[3].resource.modifierExtension"),
}


@pytest.mark.parametrize("holder", sorted(MODIFIED))
def test_a_modifier_extension_anywhere_in_an_event_is_refused(holder: str) -> None:
    index, element, expression = MODIFIED[holder]
    bundle = changed(RISK, lambda b: element(resource(b, index)).update(modifierExtension=MODIFIER))

    (issue,) = issues_of(bundle)

    assert (issue.code, issue.expression) == ("not-supported", expression)


def test_a_modifier_extension_in_a_contained_resource_is_refused() -> None:
    contained = {"resourceType": "Practitioner", "id": "p", "modifierExtension": MODIFIER}
    bundle = changed(RISK, lambda b: resource(b, FOCUS).update(contained=[contained]))

    (issue,) = issues_of(bundle)

    assert issue.expression == "Bundle.entry[1].resource.contained[0].modifierExtension"


def test_a_modifier_extension_in_a_response_message_is_refused() -> None:
    bundle = changed(ACK, lambda b: resource(b, HEADER).update(modifierExtension=MODIFIER))

    (issue,) = issues_of(bundle, acknowledgement_from_bundle)

    assert (issue.code, issue.expression) == (
        "not-supported",
        "Bundle.entry[0].resource.modifierExtension",
    )


def test_a_focus_entered_in_error_is_refused() -> None:
    bundle = changed(RISK, lambda b: resource(b, FOCUS).update(status="entered-in-error"))

    (issue,) = issues_of(bundle)

    assert (issue.code, issue.expression) == ("business-rule", "Bundle.entry[1].resource.status")


def test_a_contact_attempt_entered_in_error_is_refused() -> None:
    bundle = changed(DISENGAGED, lambda b: resource(b, 3).update(status="entered-in-error"))

    (issue,) = issues_of(bundle)

    assert (issue.code, issue.expression) == ("business-rule", "Bundle.entry[3].resource.status")


def test_a_destination_named_only_by_its_endpoint_is_that_agency() -> None:
    bundle = changed(RISK, lambda b: destination(b).pop("receiver"))

    assert event_from_bundle(bundle).event["recipients"] == ["LA001"]


def test_a_destination_outside_imb_is_refused_rather_than_sent_to_the_care_team() -> None:
    def elsewhere(bundle: Bundle) -> None:
        del destination(bundle)["receiver"]
        destination(bundle)["endpoint"] = "https://records.example.org/fhir"

    (issue,) = issues_of(changed(RISK, elsewhere))

    assert (issue.code, issue.expression) == (
        "not-supported",
        "Bundle.entry[0].resource.destination[0]",
    )


def test_a_receiver_and_an_endpoint_naming_different_agencies_are_refused() -> None:
    bundle = changed(RISK, lambda b: destination(b).update(endpoint=f"{ENDPOINT}HOU01"))

    (issue,) = issues_of(bundle)

    assert (issue.code, issue.expression) == (
        "invalid",
        "Bundle.entry[0].resource.destination[0].endpoint",
    )


def test_an_imb_endpoint_without_an_agency_is_refused() -> None:
    bundle = changed(RISK, lambda b: destination(b).update(endpoint=f"{ENDPOINT}LA001/inbox"))

    (issue,) = issues_of(bundle)

    assert (issue.code, issue.expression) == (
        "value",
        "Bundle.entry[0].resource.destination[0].endpoint",
    )


def test_a_receiver_with_an_endpoint_of_its_own_system_is_still_that_agency() -> None:
    bundle = changed(RISK, lambda b: destination(b).update(endpoint="https://la001.example/fhir"))

    assert event_from_bundle(bundle).event["recipients"] == ["LA001"]


def test_an_agency_code_in_an_endpoint_is_checked_where_it_was_given() -> None:
    def bad_code(bundle: Bundle) -> None:
        del destination(bundle)["receiver"]
        destination(bundle)["endpoint"] = f"{ENDPOINT}la001"

    (issue,) = issues_of(changed(RISK, bad_code))

    assert issue.expression == "Bundle.entry[0].resource.destination[0].endpoint"
    assert issue.diagnostics.startswith("recipients.0:")
