"""One audit record as a FHIR R4 AuditEvent, after IHE Basic Audit Log Patterns (BALP).

The subject appears only as its keyed pseudonym, never as an NHS number; the detail is not
carried over (the CSV export has it), so nothing of a payload can leak into a resource.
"""

from typing import Any

from broker.audit.log import AuditEvent
from broker.db.models import AuditRecord

DCM = "http://dicom.nema.org/resources/ontology/DCM"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
ODS = "https://fhir.nhs.uk/Id/ods-organization-code"
IMB_EVENT = "urn:imb:audit-event"
IMB_CLIENT = "urn:imb:client"
IMB_MESSAGE = "urn:imb:message"
IMB_DELIVERY = "urn:imb:delivery"
IMB_PSEUDONYM = "urn:imb:subject-pseudonym"
BROKER_ID = {"system": "urn:imb:system", "value": "imb"}

# FHIR AuditEvent.outcome: 0 success, 4 minor failure, 8 serious failure, 12 major failure.
SUCCESS, MINOR, SERIOUS = "0", "4", "8"

_DCM: dict[str, tuple[str, str]] = {
    AuditEvent.DELIVERY_DELIVERED: ("110106", "Export"),
    AuditEvent.AUDIT_EXPORTED: ("110106", "Export"),
    AuditEvent.AUDIT_VERIFIED: ("110101", "Audit Log Used"),
    AuditEvent.DELIVERY_RECEIVED: ("110107", "Import"),
    AuditEvent.DELIVERY_DECIDED: ("110113", "Security Alert"),
    AuditEvent.OVERRIDE_OPENED: ("110127", "Emergency Override Started"),
    AuditEvent.OVERRIDE_REVIEWED: ("110127", "Emergency Override Started"),
    AuditEvent.PAYLOAD_VIEWED: ("110110", "Patient Record"),
    AuditEvent.DELIVERY_ACKNOWLEDGED: ("110110", "Patient Record"),
    AuditEvent.CONSENT_RECORDED: ("110110", "Patient Record"),
    AuditEvent.CARE_TEAM_REPLACED: ("110110", "Patient Record"),
    AuditEvent.USER_SIGNED_IN: ("110114", "User Authentication"),
    AuditEvent.USER_SIGNED_OUT: ("110114", "User Authentication"),
    AuditEvent.USER_SIGN_IN_REFUSED: ("110114", "User Authentication"),
}
_APPLICATION_ACTIVITY = ("110100", "Application Activity")

_READ = {
    AuditEvent.PAYLOAD_VIEWED,
    AuditEvent.DELIVERY_DELIVERED,
    AuditEvent.DECISION_PREVIEWED,
    AuditEvent.AUDIT_EXPORTED,
    AuditEvent.AUDIT_VERIFIED,
}
_DELETE = {AuditEvent.AUDIT_PRUNED}
_CREATE_SUFFIXES = (".created", ".opened", ".registered", ".recorded", ".received", ".proposed")
_UPDATE_SUFFIXES = (
    ".approved",
    ".activated",
    ".version_created",
    ".superseded",
    ".suspended",
    ".terminated",
    ".replaced",
    ".set",
    ".reviewed",
    ".acknowledged",
    ".resolved",
    ".confirmed",
)


def action_of(event: str) -> str:
    """C/R/U/D/E of AuditEvent.action; E (execute) for what the broker itself does."""
    if event in _READ:
        return "R"
    if event in _DELETE:
        return "D"
    if event.endswith(_UPDATE_SUFFIXES):
        return "U"
    if event.endswith(_CREATE_SUFFIXES):
        return "C"
    return "E"


def outcome_of(record: AuditRecord) -> str:
    """A denied decision is a minor failure (the broker worked; the sharing was refused);
    a refused sign-in, an unroutable event, a breach or a failed notification is serious."""
    event = record.event
    if event == AuditEvent.DELIVERY_DECIDED and record.detail.get("outcome") == "deny":
        return MINOR
    if event in (
        AuditEvent.USER_SIGN_IN_REFUSED,
        AuditEvent.EVENT_UNROUTABLE,
        AuditEvent.DELIVERY_BREACHED,
        AuditEvent.ESCALATION_NOTIFY_FAILED,
    ):
        return SERIOUS
    return SUCCESS


def _identifier_entity(system: str, value: str, type_code: str, role: str) -> dict[str, Any]:
    return {
        "what": {"identifier": {"system": system, "value": value}},
        "type": {"system": ENTITY_TYPE, "code": type_code},
        "role": {"system": OBJECT_ROLE, "code": role},
    }


def audit_event(record: AuditRecord, purpose: str | None) -> dict[str, Any]:
    """The AuditEvent resource (as JSON) of one audit record.

    `purpose` is the HL7 v3 purpose of use (TREAT, COC, ETREAT) of the record's message.
    """
    code, display = _DCM.get(record.event, _APPLICATION_ACTIVITY)
    broker_agent: dict[str, Any] = {
        "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
        "who": {"identifier": BROKER_ID, "display": "IMB"},
        "requestor": False,
    }
    agents = [broker_agent]
    if record.actor_agency is not None:
        actor: dict[str, Any] = {
            "type": {"coding": [{"system": DCM, "code": "110150", "display": "Application"}]},
            "who": {"identifier": {"system": ODS, "value": record.actor_agency}},
            "requestor": True,
        }
        if record.actor_client is not None:
            actor["altId"] = record.actor_client
        agents.insert(0, actor)
    entities: list[dict[str, Any]] = []
    if record.subject_pseudonym is not None:
        entities.append(_identifier_entity(IMB_PSEUDONYM, record.subject_pseudonym, "1", "1"))
    if record.message_id is not None:
        entities.append(_identifier_entity(IMB_MESSAGE, str(record.message_id), "2", "3"))
    if record.delivery_id is not None:
        entities.append(_identifier_entity(IMB_DELIVERY, str(record.delivery_id), "2", "3"))
    resource: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": f"imb-audit-{record.id}",
        "type": {"system": DCM, "code": code, "display": display},
        "subtype": [{"system": IMB_EVENT, "code": record.event}],
        "action": action_of(record.event),
        "recorded": record.recorded_at.isoformat(),
        "outcome": outcome_of(record),
        "agent": agents,
        "source": {
            "observer": {"identifier": BROKER_ID, "display": "IMB"},
            "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}],
        },
    }
    if purpose is not None:
        coding = {"system": ACT_REASON, "code": purpose}
        resource["purposeOfEvent"] = [{"coding": [coding]}]
    if entities:
        resource["entity"] = entities
    return resource
