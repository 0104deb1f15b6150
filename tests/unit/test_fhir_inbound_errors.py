"""A submitted message IMB cannot take is refused with FHIR issues that point into it, and that
never repeat an NHS number or the person's free text."""

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.fhir import FhirInputError, Issue, event_from_bundle, operation_outcome

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "deploy/examples/fhir/risk-changed.json").read_text()
)
HEADER, FOCUS, PATIENT = 0, 1, 2
NHS_NUMBER = "9997654323"
Bundle = dict[str, Any]


def refused(change: Callable[[Bundle], object]) -> Issue:
    """The first issue raised for the example changed in place by `change`."""
    bundle = copy.deepcopy(EXAMPLE)
    change(bundle)
    return issues_of(bundle)[0]


def issues_of(submitted: object) -> tuple[Issue, ...]:
    with pytest.raises(FhirInputError) as refusal:
        event_from_bundle(submitted)
    for issue in refusal.value.issues:
        assert NHS_NUMBER not in issue.diagnostics
        assert "depot" not in issue.diagnostics  # the rationale's text
    return refusal.value.issues


def resource(bundle: Bundle, index: int) -> dict[str, Any]:
    resource: dict[str, Any] = bundle["entry"][index]["resource"]
    return resource


def test_the_example_itself_is_taken() -> None:
    assert event_from_bundle(copy.deepcopy(EXAMPLE)).sender == "RX4"


def test_json_that_is_not_an_object_is_refused_as_structure() -> None:
    (issue,) = issues_of([])

    assert (issue.code, issue.expression) == ("structure", None)


def test_a_resource_other_than_a_bundle_is_refused() -> None:
    (issue,) = issues_of({"resourceType": "Patient"})

    assert (issue.code, issue.expression) == ("invalid", "Patient")


def test_a_bundle_that_is_not_a_message_is_refused() -> None:
    issue = refused(lambda b: b.update(type="collection"))

    assert (issue.code, issue.expression) == ("value", "Bundle.type")


def test_a_message_must_open_with_its_message_header() -> None:
    issue = refused(lambda b: b["entry"].reverse())

    assert (issue.code, issue.expression) == ("invalid", "Bundle.entry[0]")


def test_an_unknown_event_code_is_refused_at_the_code() -> None:
    issue = refused(lambda b: resource(b, HEADER)["eventCoding"].update(code="risk-vanished"))

    assert issue.code == "code-invalid"
    assert issue.expression == "Bundle.entry[0].resource.eventCoding.code"


def test_an_event_coded_in_another_system_is_refused() -> None:
    issue = refused(lambda b: resource(b, HEADER)["eventCoding"].update(system="urn:other"))

    assert (issue.code, issue.expression) == (
        "code-invalid",
        "Bundle.entry[0].resource.eventCoding",
    )


def test_a_missing_patient_is_refused_at_the_subject_that_names_it() -> None:
    issue = refused(lambda b: b["entry"].pop(PATIENT))

    assert (issue.code, issue.expression) == ("not-found", "Bundle.entry[1].resource.subject")


def test_a_focus_without_a_subject_is_refused() -> None:
    issue = refused(lambda b: resource(b, FOCUS).pop("subject"))

    assert (issue.code, issue.expression) == ("required", "Bundle.entry[1].resource.subject")


def test_a_patient_without_an_nhs_number_is_refused() -> None:
    issue = refused(lambda b: resource(b, PATIENT)["identifier"].pop(0))

    assert (issue.code, issue.expression) == ("required", "Bundle.entry[2].resource")


def test_an_nhs_number_failing_its_check_digit_is_refused_without_repeating_it() -> None:
    issue = refused(lambda b: resource(b, PATIENT)["identifier"][0].update(value="9997654324"))

    assert issue.code == "value"
    assert issue.expression == "Bundle.entry[2].resource.identifier[0].value"
    assert "9997654324" not in issue.diagnostics


def test_what_fhir_itself_rejects_is_located_by_fhir_resources_errors() -> None:
    def misspell(bundle: Bundle) -> None:
        resource(bundle, PATIENT)["identifier"][0]["valu"] = NHS_NUMBER
        resource(bundle, FOCUS)["status"] = ["final"]

    bundle = copy.deepcopy(EXAMPLE)
    misspell(bundle)
    issues = issues_of(bundle)

    assert [(i.code, i.expression) for i in issues] == [
        ("value", "Bundle.entry[1].resource.status"),
        ("structure", "Bundle.entry[2].resource.identifier[0].valu"),
    ]


def test_a_missing_required_fhir_element_is_required() -> None:
    issue = refused(lambda b: resource(b, HEADER).pop("source"))

    assert (issue.code, issue.expression) == ("required", "Bundle.entry[0].resource.source")


def test_an_unknown_resource_type_is_not_supported() -> None:
    issue = refused(lambda b: resource(b, 4).update(resourceType="Agency"))

    assert issue.code == "not-supported"
    assert issue.expression == "Bundle.entry[4].resource.resourceType"


def test_imb_validation_points_back_to_the_fhir_element() -> None:
    issue = refused(lambda b: resource(b, FOCUS)["note"][0].update(text="depot " * 2000))

    assert issue.code == "value"
    assert issue.expression == "Bundle.entry[1].resource.note[0].text"
    assert issue.diagnostics.startswith("payload.rationale:")


def test_an_instant_without_a_zone_is_refused_where_it_was_given() -> None:
    issue = refused(lambda b: resource(b, FOCUS).update(occurrenceDateTime="2026-03-02T10:15:00"))

    assert issue.expression == "Bundle.entry[1].resource.occurrenceDateTime"
    assert issue.diagnostics.startswith("occurred_at:")


def test_an_item_the_event_needs_points_at_the_focus_when_fhir_has_no_element_for_it() -> None:
    issue = refused(lambda b: resource(b, FOCUS).pop("note"))

    assert (issue.code, issue.expression) == ("required", "Bundle.entry[1].resource")
    assert issue.diagnostics.startswith("payload.rationale:")


def test_a_risk_level_outside_the_vocabulary_is_refused_at_its_code() -> None:
    def unknown_level(bundle: Bundle) -> None:
        resource(bundle, FOCUS)["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] = "dire"

    issue = refused(unknown_level)

    assert issue.code == "code-invalid"
    assert (
        issue.expression == "Bundle.entry[1].resource.prediction[0].qualitativeRisk.coding[0].code"
    )


def test_a_focus_of_the_wrong_resource_type_is_refused() -> None:
    issue = refused(lambda b: resource(b, HEADER)["eventCoding"].update(code="crisis-occurred"))

    assert (issue.code, issue.expression) == (
        "invalid",
        "Bundle.entry[0].resource.focus[0].reference",
    )


def test_a_message_with_no_event_id_is_refused() -> None:
    def without_ids(bundle: Bundle) -> None:
        del bundle["identifier"]
        del resource(bundle, HEADER)["id"]

    issue = refused(without_ids)

    assert (issue.code, issue.expression) == ("required", "Bundle")


def test_two_ids_naming_different_events_are_refused() -> None:
    other = "0f6c1d2e-8a4b-4c7e-9f21-5b0d6e7a8c91"
    issue = refused(lambda b: resource(b, HEADER).update(id=other))

    assert (issue.code, issue.expression) == ("invalid", "Bundle.entry[0].resource.id")


def test_a_bundle_identifier_that_is_not_a_urn_uuid_is_refused() -> None:
    issue = refused(lambda b: b["identifier"].update(value="3f6c1d2e-8a4b-4c7e-9f21-5b0d6e7a8c91"))

    assert (issue.code, issue.expression) == ("value", "Bundle.identifier.value")


def test_a_message_without_a_sender_is_refused() -> None:
    issue = refused(lambda b: resource(b, HEADER).pop("sender"))

    assert (issue.code, issue.expression) == ("required", "Bundle.entry[0].resource.sender")


def test_a_repeated_recipient_is_refused() -> None:
    def repeat(bundle: Bundle) -> None:
        header = resource(bundle, HEADER)
        header["destination"].append(header["destination"][0])

    issue = refused(repeat)

    assert issue.code == "value"
    assert issue.expression == "Bundle.entry[0].resource"


def test_an_acknowledgement_is_not_an_event() -> None:
    issue = refused(lambda b: resource(b, HEADER)["eventCoding"].update(code="acknowledgement"))

    assert issue.code == "not-supported"


def test_issues_become_an_operation_outcome() -> None:
    issues = [Issue("value", "the NHS number is not valid", "Bundle.entry[2].resource")]

    outcome = operation_outcome(issues)

    assert outcome == {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "value",
                "diagnostics": "the NHS number is not valid",
                "expression": ["Bundle.entry[2].resource"],
            }
        ],
    }
