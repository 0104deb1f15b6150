"""IMB in FHIR R4: events as FHIR messages, acknowledgements as response messages, consent
as the Consent resource, and IMB's CapabilityStatement and CodeSystems (docs/fhir.md).

Pure mapping between FHIR JSON and IMB's own JSON (the models in `schemas/`): no HTTP, no
database, and nothing from `broker/`. Resources are checked with fhir.resources' R4B models:
R4B is wire-identical to R4 for every resource used here (Bundle, MessageHeader, Patient,
Organization, RiskAssessment, Flag, Communication, Encounter, Provenance, OperationOutcome,
Practitioner, PractitionerRole, Consent, CodeSystem, CapabilityStatement), and what IMB
produces and accepts is R4 (fhirVersion 4.0.1).

    event_from_bundle            a submitted event message → IMB event JSON
    bundle_for_delivery          a delivery → the message its recipient receives
    delivery_from_bundle         that message → the delivery's IMB JSON (its inverse)
    acknowledgement_from_bundle  a response message → an acknowledgement (or a transient error)
    consent_from_fhir            a Consent → NHS number and consent record JSON
    consent_to_fhir              a stored consent record → a Consent
    capability_statement         GET /fhir/R4/metadata
    operation_outcome            FhirInputError.issues → OperationOutcome
"""

from adapters.fhir.acks import (
    AcknowledgementReceived,
    TransientErrorReceived,
    acknowledgement_bundle,
    acknowledgement_from_bundle,
    is_response_message,
    transient_error_bundle,
)
from adapters.fhir.capability import capability_statement
from adapters.fhir.codes import CODE_SYSTEMS, all_code_systems, code_system
from adapters.fhir.consents import consent_from_fhir, consent_to_fhir
from adapters.fhir.deliveries import DeliveredEvent, bundle_for_delivery, delivery_from_bundle
from adapters.fhir.errors import FhirError, FhirInputError, FhirOutputError, Issue
from adapters.fhir.inbound import InboundEvent, event_from_bundle
from adapters.fhir.messages import event_bundle
from adapters.fhir.names import FHIR_BASE
from adapters.fhir.outcomes import operation_outcome

__all__ = [
    "CODE_SYSTEMS",
    "FHIR_BASE",
    "AcknowledgementReceived",
    "DeliveredEvent",
    "FhirError",
    "FhirInputError",
    "FhirOutputError",
    "InboundEvent",
    "Issue",
    "TransientErrorReceived",
    "acknowledgement_bundle",
    "acknowledgement_from_bundle",
    "all_code_systems",
    "bundle_for_delivery",
    "capability_statement",
    "code_system",
    "consent_from_fhir",
    "consent_to_fhir",
    "delivery_from_bundle",
    "event_bundle",
    "event_from_bundle",
    "is_response_message",
    "operation_outcome",
    "transient_error_bundle",
]
