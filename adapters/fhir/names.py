"""IMB's canonical FHIR names and the national identifier systems it uses.

The base URL identifies IMB's definitions; nothing is ever fetched from it.
"""

FHIR_BASE = "https://interagency-broker.uk/fhir"

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
URI_SYSTEM = "urn:ietf:rfc:3986"  # Bundle.identifier holds the message id as a urn:uuid

LOCAL_PATIENT_ID_SYSTEM = f"{FHIR_BASE}/Id/local-patient-id"
CRISIS_PLAN_SYSTEM = f"{FHIR_BASE}/Id/crisis-plan"

ACT_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_VALUE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
PARTICIPATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_SCOPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION_SYSTEM = "http://terminology.hl7.org/CodeSystem/consentaction"
LOINC_SYSTEM = "http://loinc.org"


def code_system_url(code_system_id: str) -> str:
    return f"{FHIR_BASE}/CodeSystem/{code_system_id}"


def extension_url(name: str) -> str:
    return f"{FHIR_BASE}/StructureDefinition/{name}"


def agreement_policy(agreement_id: str, version: int) -> str:
    """The agreement version a delivery was permitted under, as a Provenance.policy URI."""
    return f"{FHIR_BASE}/Agreement/{agreement_id}/_history/{version}"


def agency_endpoint(ods_code: str) -> str:
    """An agency's IMB mailbox, as MessageHeader source and destination endpoints name it."""
    return f"{FHIR_BASE}/Endpoint/{ods_code}"


def urn_uuid(value: object) -> str:
    return f"urn:uuid:{value}"
