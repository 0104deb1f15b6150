"""A recipient's acknowledgement of a delivery as a FHIR response message.

The MessageHeader's `response.identifier` is the delivery's MessageHeader id and its `code`
the outcome: ok is accepted (or actioned, when the OperationOutcome in `details` is coded so),
fatal-error is declined with a decline-reason coding, transient-error says "try again later"
and acknowledges nothing. Who acknowledged is the MessageHeader's author (or enterer): a
PractitionerRole whose code text is the role and whose practitioner is the named person.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter

from adapters.fhir.bundles import EntryUrls, entry, reference
from adapters.fhir.codes import (
    ACK_OUTCOME,
    ACKNOWLEDGEMENT,
    DECLINE_REASON,
    EVENT_TYPE,
    coding,
    has_coding,
    read_concept,
)
from adapters.fhir.elements import Draft, Element
from adapters.fhir.errors import refuse
from adapters.fhir.identifiers import ods_code_of, organization
from adapters.fhir.messages import OpenedMessage, event_code_of, open_message
from adapters.fhir.names import agency_endpoint, urn_uuid
from adapters.fhir.structure import check_imb
from schemas.acks import Acknowledgement

ACKNOWLEDGEMENT_MODEL: TypeAdapter[Acknowledgement] = TypeAdapter(Acknowledgement)
_CODES = {"accepted": "ok", "actioned": "ok", "declined": "fatal-error"}


@dataclass(frozen=True)
class AcknowledgementReceived:
    delivery_id: UUID
    sender: str | None
    acknowledgement: dict[str, Any]  # IMB JSON, as POST /v1/inbox/{id}/ack takes it


@dataclass(frozen=True)
class TransientErrorReceived:
    """The recipient could not process the delivery yet; nothing is acknowledged."""

    delivery_id: UUID
    sender: str | None


def is_response_message(bundle: object) -> bool:
    """Whether a submitted message looks like a response (its first entry has `response`),
    before any validation: for choosing how to read it."""
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    first = entries[0] if isinstance(entries, list) and entries else None
    resource = first.get("resource") if isinstance(first, dict) else None
    return isinstance(resource, dict) and "response" in resource


def acknowledgement_from_bundle(
    bundle: object,
) -> AcknowledgementReceived | TransientErrorReceived:
    message = open_message(bundle)
    code = event_code_of(message)
    if code.value != ACKNOWLEDGEMENT:
        raise refuse("not-supported", f"a response's event is {ACKNOWLEDGEMENT}", code.path)
    response = message.header.require("response", "the response")
    delivery_id = _delivery_id(response.require("identifier", "the delivery id"))
    sender = _sender(message)
    status = response.require("code", "the response code")
    if status.value == "transient-error":
        return TransientErrorReceived(delivery_id, sender)
    draft = Draft()
    _read_outcome(status, _issue(message, response), draft)
    _read_author(message, draft)
    check_imb(ACKNOWLEDGEMENT_MODEL, draft, response.path)
    return AcknowledgementReceived(delivery_id, sender, draft.data)


def acknowledgement_bundle(
    delivery_id: object,
    acknowledgement: Mapping[str, Any],
    *,
    sender: str,
    message_id: str,
    timestamp: str,
) -> dict[str, Any]:
    """The acknowledgement (IMB JSON) as the response message a recipient would send."""
    urls = EntryUrls(message_id)
    outcome = acknowledgement["outcome"]
    person = acknowledgement["acknowledged_by"]
    bundle = _response_bundle(delivery_id, _CODES[outcome], sender, message_id, timestamp)
    header = bundle["entry"][0]["resource"]
    header["response"]["details"] = reference(urls("outcome"))
    header["author"] = reference(urls("author"))
    bundle["entry"] += [
        entry(urls("outcome"), _operation_outcome(acknowledgement)),
        entry(urls("author"), _role(person["role"], urls("practitioner"))),
        entry(
            urls("practitioner"),
            {"resourceType": "Practitioner", "name": [{"text": person["name"]}]},
        ),
    ]
    return bundle


def transient_error_bundle(
    delivery_id: object, *, sender: str, message_id: str, timestamp: str
) -> dict[str, Any]:
    return _response_bundle(delivery_id, "transient-error", sender, message_id, timestamp)


def _response_bundle(
    delivery_id: object, code: str, sender: str, message_id: str, timestamp: str
) -> dict[str, Any]:
    sender_url = EntryUrls(message_id)("sender")
    header = {
        "resourceType": "MessageHeader",
        "id": message_id,
        "eventCoding": coding(EVENT_TYPE, ACKNOWLEDGEMENT),
        "sender": reference(sender_url),
        "source": {"endpoint": agency_endpoint(sender)},
        "response": {"identifier": str(delivery_id), "code": code},
    }
    return {
        "resourceType": "Bundle",
        "type": "message",
        "timestamp": timestamp,
        "entry": [entry(urn_uuid(message_id), header), entry(sender_url, organization(sender))],
    }


def _operation_outcome(acknowledgement: Mapping[str, Any]) -> dict[str, Any]:
    outcome = acknowledgement["outcome"]
    codings = [coding(ACK_OUTCOME, outcome)]
    if acknowledgement.get("reason_code") is not None:
        codings.insert(0, coding(DECLINE_REASON, acknowledgement["reason_code"]))
    details: dict[str, Any] = {"coding": codings}
    if acknowledgement.get("note") is not None:
        details["text"] = acknowledgement["note"]
    declined = outcome == "declined"
    issue = {
        "severity": "error" if declined else "information",
        "code": "business-rule" if declined else "informational",
        "details": details,
    }
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def _role(role: str, practitioner_url: str) -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "practitioner": reference(practitioner_url),
        "code": [{"text": role}],
    }


def _delivery_id(identifier: Element) -> UUID:
    text = identifier.text("the delivery id")
    try:
        return UUID(text)
    except ValueError:
        raise refuse("value", "the delivery id must be a UUID", identifier.path) from None


def _sender(message: OpenedMessage) -> str | None:
    sender = message.header.get("sender")
    return None if sender is None else ods_code_of(sender, message.view, "the sender").value


def _issue(message: OpenedMessage, response: Element) -> Element | None:
    details = response.get("details")
    if details is None:
        return None
    outcome = message.view.resolve(details, ("OperationOutcome",), "the response details")
    issues = outcome.items("issue")
    if len(issues) > 1:
        raise refuse("not-supported", "an acknowledgement has one issue", issues[1].path)
    return issues[0] if issues else None


def _read_outcome(status: Element, issue: Element | None, draft: Draft) -> None:
    details = issue.get("details") if issue is not None else None
    coded = _coded_outcome(details)
    if status.value == "ok":
        if coded is not None and coded.value == "declined":
            raise refuse("value", "an ok response is accepted or actioned", coded.path)
        outcome = coded or status
        draft.put(("outcome",), "accepted" if coded is None else coded.value, outcome.path)
    elif status.value == "fatal-error":
        if coded is not None and coded.value != "declined":
            raise refuse("value", "a fatal-error response is declined", coded.path)
        draft.put(("outcome",), "declined", status.path)
        _read_decline_reason(details, draft)
    else:
        raise refuse("code-invalid", "not a response code", status.path)
    note = details.get("text") if details is not None else None
    if note is not None:
        draft.put(("note",), note.value, note.path)


def _read_decline_reason(details: Element | None, draft: Draft) -> None:
    if details is not None and has_coding(details, DECLINE_REASON):
        reason = read_concept(details, DECLINE_REASON, "the decline reason")
        draft.put(("reason_code",), reason.value, reason.path)


def _coded_outcome(details: Element | None) -> Element | None:
    if details is None or not has_coding(details, ACK_OUTCOME):
        return None
    return read_concept(details, ACK_OUTCOME, "the acknowledgement outcome")


def _read_author(message: OpenedMessage, draft: Draft) -> None:
    header = message.header
    ref = header.get("author") or header.get("enterer")
    if ref is None:
        raise refuse("required", "who acknowledged is required", f"{header.path}.author")
    role = message.view.resolve(ref, ("PractitionerRole",), "who acknowledged")
    codes = role.items("code")
    if not codes:
        raise refuse("required", "the role is required as code text", f"{role.path}.code")
    text = codes[0].require("text", "the role")
    draft.put(("acknowledged_by", "role"), text.value, text.path)
    practitioner = role.require("practitioner", "the practitioner")
    if practitioner.get("reference") is None:
        name = practitioner.require("display", "the practitioner's name")
    else:
        person = message.view.resolve(practitioner, ("Practitioner",), "the practitioner")
        names = person.items("name")
        if not names:
            raise refuse("required", "the practitioner's name is required", f"{person.path}.name")
        name = names[0].require("text", "the practitioner's name")
    draft.put(("acknowledged_by", "name"), name.value, name.path)
