"""The FHIR examples in deploy/examples/fhir/ are what the mapping builds, and carry the same
content as their IMB JSON twins."""

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent

from adapters.fhir import (
    AcknowledgementReceived,
    acknowledgement_from_bundle,
    consent_from_fhir,
    event_bundle,
    event_from_bundle,
)
from broker.api.examples import request_examples
from schemas.events import EVENT_SUBMISSION

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"
TWINS = {
    "risk-changed": "risk-changed",
    "engagement-disengaged": "disengagement",
    "crisis-occurred": "crisis",
}
SENDER = "RX4"  # the trust that posts the IMB JSON examples in the README


def _read(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize(("fhir_name", "imb_name"), sorted(TWINS.items()))
def test_each_event_example_reads_as_its_imb_json_twin(fhir_name: str, imb_name: str) -> None:
    bundle = _read(EXAMPLES / "fhir" / f"{fhir_name}.json")
    twin = _read(EXAMPLES / f"{imb_name}.json")

    Bundle.parse_obj(bundle)
    inbound = event_from_bundle(bundle)

    assert inbound.sender == SENDER
    assert EVENT_SUBMISSION.validate_python(inbound.event) == EVENT_SUBMISSION.validate_python(twin)


@pytest.mark.parametrize(("fhir_name", "imb_name"), sorted(TWINS.items()))
def test_each_event_example_is_what_the_mapping_builds(fhir_name: str, imb_name: str) -> None:
    twin = _read(EXAMPLES / f"{imb_name}.json")

    built = event_bundle(
        twin,
        sender=SENDER,
        recipients=twin["recipients"],
        header_id=twin["id"],
        timestamp=twin["occurred_at"],
    )

    assert built == _read(EXAMPLES / "fhir" / f"{fhir_name}.json")


def test_the_acknowledgement_example_is_the_api_examples_actioned_ack() -> None:
    bundle = _read(EXAMPLES / "fhir" / "acknowledgement.json")

    Bundle.parse_obj(bundle)
    received = acknowledgement_from_bundle(bundle)

    assert isinstance(received, AcknowledgementReceived)
    assert received.sender == "LA001"
    actioned = request_examples()[("POST", "/v1/inbox/{delivery_id}/ack")]["actioned"]["value"]
    assert received.acknowledgement == actioned


def test_the_consent_example_is_the_api_examples_refusal() -> None:
    resource = _read(EXAMPLES / "fhir" / "consent.json")

    Consent.parse_obj(resource)
    nhs_number, body = consent_from_fhir(resource)

    assert nhs_number == "9997654323"
    refusal = request_examples()[("POST", "/v1/subjects/{nhs_number}/consents")]["example"]["value"]
    assert body == {**refusal, "scope": {**refusal["scope"], "event_types": [], "purposes": []}}
