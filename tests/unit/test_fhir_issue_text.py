"""What IMB says about refused FHIR never repeats what the client sent: an unknown key is shown
as `*` in the expression, and diagnostics read as one plain sentence."""

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fhir import FhirInputError, Issue, consent_from_fhir, event_from_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy/examples/fhir"
RISK = json.loads((EXAMPLES / "risk-changed.json").read_text())
PATIENT = 2
CLIENTS_NHS_NUMBER = "9434765919"
FHIR_NAME = re.compile(r"_?[a-z][A-Za-z0-9]*(\[x\])?|[A-Z][A-Za-z]+")


def issues_of(bundle: dict[str, Any]) -> tuple[Issue, ...]:
    with pytest.raises(FhirInputError) as refusal:
        event_from_bundle(bundle)
    return refusal.value.issues


def with_patient(**items: Any) -> dict[str, Any]:
    bundle: dict[str, Any] = copy.deepcopy(RISK)
    bundle["entry"][PATIENT]["resource"].update(items)
    return bundle


def test_an_nhs_number_sent_as_a_key_is_not_repeated() -> None:
    (issue,) = issues_of(with_patient(**{CLIENTS_NHS_NUMBER: "x"}))

    assert (issue.code, issue.expression) == ("structure", "Bundle.entry[2].resource.*")
    assert issue.diagnostics == "extra fields not permitted"


def test_an_nhs_number_as_a_key_above_an_unknown_resource_type_is_not_repeated() -> None:
    (issue,) = issues_of(with_patient(**{CLIENTS_NHS_NUMBER: {"resourceType": "Agency"}}))

    assert (issue.code, issue.expression) == (
        "not-supported",
        "Bundle.entry[2].resource.*.resourceType",
    )


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=20).filter(lambda k: not FHIR_NAME.fullmatch(k)))
def test_no_key_that_is_not_a_fhir_name_reaches_an_expression(key: str) -> None:
    issues = issues_of(with_patient(**{key: "x"}))

    assert [i.expression for i in issues] in (
        ["Bundle.entry[2].resource.*"],
        ["Bundle.entry[2].resource"],  # "__root__" and the like, which name no element
    )


def test_a_resource_type_that_is_not_one_is_not_repeated() -> None:
    with pytest.raises(FhirInputError) as refusal:
        consent_from_fhir({"resourceType": CLIENTS_NHS_NUMBER})

    assert refusal.value.issues[0].expression is None
    (issue,) = issues_of({"resourceType": CLIENTS_NHS_NUMBER})
    assert issue.expression is None


def test_an_nhs_number_that_is_not_a_string_is_said_once() -> None:
    bundle = copy.deepcopy(RISK)
    bundle["entry"][PATIENT]["resource"]["identifier"][0]["value"] = int(CLIENTS_NHS_NUMBER)

    (issue,) = issues_of(bundle)

    assert issue.diagnostics == "the NHS number must be a string"


def test_an_nhs_number_failing_its_check_reads_as_one_sentence() -> None:
    bundle = copy.deepcopy(RISK)
    bundle["entry"][PATIENT]["resource"]["identifier"][0]["value"] = "4444444444"

    (issue,) = issues_of(bundle)

    assert issue.diagnostics.startswith("the NHS number: not an NHS number that is ever issued")


def test_a_rule_of_imbs_reads_without_pydantics_heading() -> None:
    bundle = copy.deepcopy(RISK)
    header = bundle["entry"][0]["resource"]
    header["destination"].append(header["destination"][0])

    (issue,) = issues_of(bundle)

    assert issue.diagnostics == "recipients must not repeat an agency"


def test_a_value_found_inside_a_diagnostic_word_is_left_alone() -> None:
    (issue,) = issues_of(with_patient(unknownElement="x"))

    assert issue.diagnostics == "extra fields not permitted"


def test_part_of_a_value_a_parser_quotes_is_not_repeated() -> None:
    bundle = copy.deepcopy(RISK)
    destination = bundle["entry"][0]["resource"]["destination"][0]
    destination["endpoint"] = f"https://records.example.org/ {CLIENTS_NHS_NUMBER}"

    (issue,) = issues_of(bundle)

    assert issue.expression == "Bundle.entry[0].resource.destination[0].endpoint"
    assert CLIENTS_NHS_NUMBER not in issue.diagnostics
