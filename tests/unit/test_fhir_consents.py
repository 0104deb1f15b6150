"""A person's consent position as a FHIR Consent: recorded from one, shown as one."""

import copy
from typing import Any

import pytest
from fhir.resources.R4B.consent import Consent
from fhir_strategies import consent_views, nhs_numbers
from hypothesis import given, settings

from adapters.fhir import FhirInputError, Issue, consent_from_fhir, consent_to_fhir
from schemas.consents import ConsentBody

BODY_FIELDS = ("state", "scope", "recorded_by", "evidence", "valid_from", "valid_to", "supersedes")
NHS_NUMBER = "9997654323"
EVENT_SYSTEM = "https://interagency-broker.uk/fhir/CodeSystem/imb-event-type"
REFUSAL: dict[str, Any] = {
    "id": "0d4b7e21-6a95-4c3f-b8e0-2f7a9c1d5e64",
    "state": "refused",
    "scope": {"recipients": ["HOU01"], "event_types": [], "purposes": []},
    "recorded_by": {"name": "A. Patel", "role": "Care coordinator"},
    "evidence": "Said at clinic on 2 March that housing must not be told.",
    "valid_from": None,
    "valid_to": None,
    "recorded_at": "2026-03-02T09:30:00+00:00",
    "recording_agency": "RX4",
    "supersedes": [],
}


def _issue(resource: object) -> Issue:
    with pytest.raises(FhirInputError) as refusal:
        consent_from_fhir(resource)
    for issue in refusal.value.issues:
        assert NHS_NUMBER not in issue.diagnostics
        assert "clinic" not in issue.diagnostics
    return refusal.value.issues[0]


def _refusal() -> dict[str, Any]:
    return copy.deepcopy(consent_to_fhir(REFUSAL, NHS_NUMBER))


@settings(max_examples=80, deadline=None)
@given(consent_views(), nhs_numbers)
def test_a_consent_record_survives_fhir_unchanged(view: dict[str, Any], nhs_number: str) -> None:
    resource = consent_to_fhir(view, nhs_number)

    Consent.parse_obj(resource)
    number, body = consent_from_fhir(resource)

    assert number == nhs_number
    assert ConsentBody.model_validate(body) == ConsentBody.model_validate(
        {key: view[key] for key in BODY_FIELDS}
    )
    assert resource["id"] == view["id"]


def test_a_refusal_is_an_active_deny() -> None:
    resource = consent_to_fhir(REFUSAL, NHS_NUMBER)

    assert (resource["status"], resource["provision"]["type"]) == ("active", "deny")
    assert resource["policyRule"]["coding"][0]["code"] == "OPTOUT"


def test_a_plain_permit_is_explicit_consent_and_a_plain_deny_a_refusal() -> None:
    resource = _refusal()
    resource["extension"] = []

    _, refused = consent_from_fhir(resource)
    resource["provision"]["type"] = "permit"
    resource["policyRule"]["coding"][0]["code"] = "OPTIN"  # the rule goes with the type
    _, given_ = consent_from_fhir(resource)

    assert (refused["state"], given_["state"]) == ("refused", "given_explicit")


def test_a_state_that_disagrees_with_the_provision_type_is_refused() -> None:
    resource = _refusal()
    resource["provision"]["type"] = "permit"

    issue = _issue(resource)

    assert (issue.code, issue.expression) == ("business-rule", "Consent.provision.type")


def test_a_patient_may_be_a_contained_resource() -> None:
    resource = _refusal()
    resource["contained"].append(
        {
            "resourceType": "Patient",
            "id": "person",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS_NUMBER}],
        }
    )
    resource["patient"] = {"reference": "#person"}

    assert consent_from_fhir(resource)[0] == NHS_NUMBER


def test_an_nhs_number_failing_its_check_digit_is_refused() -> None:
    resource = _refusal()
    resource["patient"]["identifier"]["value"] = "9997654324"

    issue = _issue(resource)

    assert (issue.code, issue.expression) == ("value", "Consent.patient.identifier.value")


def test_a_consent_outside_patient_privacy_is_not_supported() -> None:
    resource = _refusal()
    resource["scope"]["coding"][0]["code"] = "treatment"

    issue = _issue(resource)

    assert (issue.code, issue.expression) == ("not-supported", "Consent.scope")


def test_only_an_active_consent_is_recorded() -> None:
    resource = _refusal()
    resource["status"] = "proposed"

    assert _issue(resource).expression == "Consent.status"


def test_who_recorded_it_is_required() -> None:
    resource = _refusal()
    del resource["performer"]

    issue = _issue(resource)

    assert (issue.code, issue.expression) == ("required", "Consent.performer")


def test_an_event_type_outside_imb_is_refused_at_its_code() -> None:
    resource = _refusal()
    resource["provision"]["code"] = [
        {"coding": [{"system": EVENT_SYSTEM, "code": "acknowledgement"}]}
    ]

    issue = _issue(resource)

    assert issue.expression == "Consent.provision.code[0].coding[0].code"
    assert issue.diagnostics.startswith("scope.event_types.0:")


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    resource = _refusal()
    resource["provision"]["period"] = {
        "start": "2026-03-02T00:00:00Z",
        "end": "2026-03-01T00:00:00Z",
    }

    issue = _issue(resource)

    assert issue.expression == "Consent"
    assert "valid_to" in issue.diagnostics


def test_a_superseded_record_is_a_consent_reference() -> None:
    view = {**REFUSAL, "state": "given_explicit", "supersedes": [REFUSAL["id"]]}
    resource = consent_to_fhir(view, NHS_NUMBER)

    _, body = consent_from_fhir(resource)

    assert body["supersedes"] == [REFUSAL["id"]]
    assert {"reference": f"Consent/{REFUSAL['id']}"} in [
        e.get("valueReference") for e in resource["extension"]
    ]


def test_something_other_than_a_consent_is_refused() -> None:
    assert _issue({"resourceType": "Patient"}).code == "invalid"
    assert _issue("Consent").code == "structure"
