"""IMB's CapabilityStatement (GET /fhir/R4/metadata): what a FHIR client can do with it."""

from typing import Any

from adapters.fhir.codes import ACKNOWLEDGEMENT, EVENT_TYPE
from adapters.fhir.names import FHIR_BASE

PROCESS_MESSAGE = "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"
CONSENT_PATIENT = "http://hl7.org/fhir/SearchParameter/Consent-patient"
HTTP_TRANSPORT = {
    "system": "http://terminology.hl7.org/CodeSystem/message-transport",
    "code": "http",
}


def capability_statement(
    *, date: str, software_version: str, base_url: str | None = None
) -> dict[str, Any]:
    """`base_url` is where the FHIR API is served (…/fhir/R4); without it the statement names
    no addresses."""
    statement: dict[str, Any] = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "IMB",
        "kind": "instance",
        "software": {"name": "IMB, the Interagency Messaging Broker", "version": software_version},
        "implementation": {"description": "IMB's FHIR R4 messaging and consent API"},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [_rest()],
        "messaging": [_messaging(base_url)],
    }
    if base_url is not None:
        statement["implementation"]["url"] = base_url
    return statement


def _rest() -> dict[str, Any]:
    consent = {
        "type": "Consent",
        "interaction": [{"code": "create"}, {"code": "search-type"}],
        "searchParam": [
            {
                "name": "patient.identifier",
                "definition": CONSENT_PATIENT,
                "type": "token",
                "documentation": "the person's NHS number, as "
                "patient.identifier=https://fhir.nhs.uk/Id/nhs-number|{number}",
            }
        ],
    }
    return {
        "mode": "server",
        "security": {
            "description": "OAuth 2.0 client credentials: a bearer token from "
            "/oauth/token, with the scope each operation needs"
        },
        "resource": [
            consent,
            {"type": "CodeSystem", "interaction": [{"code": "read"}]},
            {"type": "MessageDefinition", "interaction": [{"code": "read"}]},
        ],
        "operation": [{"name": "process-message", "definition": PROCESS_MESSAGE}],
    }


def _messaging(base_url: str | None) -> dict[str, Any]:
    events = [code for code in EVENT_TYPE.codes if code != ACKNOWLEDGEMENT]
    received = [*events, ACKNOWLEDGEMENT]
    messaging: dict[str, Any] = {
        "documentation": "Events are received by $process-message and delivered to each "
        "recipient's inbox or webhook as message Bundles; a recipient acknowledges a delivery "
        "with a response message.",
        "supportedMessage": [
            *({"mode": "receiver", "definition": _definition(code)} for code in received),
            *({"mode": "sender", "definition": _definition(code)} for code in events),
        ],
    }
    if base_url is not None:
        address = f"{base_url}/$process-message"
        messaging["endpoint"] = [{"protocol": HTTP_TRANSPORT, "address": address}]
    return messaging


def _definition(event_code: str) -> str:
    return f"{FHIR_BASE}/MessageDefinition/{event_code}"


_FOCUS_RESOURCE = {
    "risk-changed": "RiskAssessment",
    "engagement-disengaged": "Flag",
    "crisis-occurred": "Encounter",
}


def message_definition(event_code: str) -> dict[str, Any]:
    """The definition of one of IMB's messages: its event code, and its focus resource (none
    for an acknowledgement, a response message)."""
    definition: dict[str, Any] = {
        "resourceType": "MessageDefinition",
        "id": event_code,
        "url": _definition(event_code),
        "status": "active",
        "date": "2026-11-29",
        "publisher": "IMB",
        "eventCoding": {"system": EVENT_TYPE.url, "code": event_code},
        "category": "notification" if event_code != ACKNOWLEDGEMENT else "consequence",
    }
    focus = _FOCUS_RESOURCE.get(event_code)
    if focus is not None:
        definition["focus"] = [{"code": focus, "min": 1, "max": "1"}]
        # IMB escalates every delivery left unacknowledged, so every one needs its response.
        definition["responseRequired"] = "always"
    return definition
