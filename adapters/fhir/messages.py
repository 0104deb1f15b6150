"""An IMB event as a FHIR message: a Bundle of type message whose first entry is the
MessageHeader, then the focus resource (and what it points to), the Patient and the agencies.

The same shape serves both directions: an agency submitting an event and IMB delivering one.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.fhir.bundles import BundleView, EntryUrls, entry, reference
from adapters.fhir.codes import (
    ACKNOWLEDGEMENT,
    EVENT_TYPE,
    OVERRIDE_REASON,
    PURPOSE,
    URGENCY,
    coding,
    concept,
    event_code,
    event_type_of,
    read_coding,
    read_concept,
)
from adapters.fhir.destinations import read_recipients
from adapters.fhir.elements import Draft, Element
from adapters.fhir.errors import refuse
from adapters.fhir.extensions import complex_extension, extension, found_one, part, value_of
from adapters.fhir.focus import FocusContext, refuse_entered_in_error
from adapters.fhir.identifiers import (
    local_id_in,
    nhs_number_in,
    ods_code_of,
    organization,
    patient,
    person_identifiers,
)
from adapters.fhir.modifiers import refuse_modifier_extensions
from adapters.fhir.names import ACT_REASON_SYSTEM, URI_SYSTEM, agency_endpoint, urn_uuid
from adapters.fhir.payloads import FOCUS
from adapters.fhir.structure import check_fhir, submitted_resource
from consent.vocab import Purpose, purpose_of_use

URGENCY_EXTENSION = "urgency"
OVERRIDE_EXTENSION = "override"
_PURPOSE_OF_USE_DISPLAY = {
    "TREAT": "treatment",
    "COC": "coordination of care",
    "ETREAT": "Emergency Treatment",
    "BTG": "break the glass",
}


@dataclass(frozen=True)
class OpenedMessage:
    root: Element
    view: BundleView
    header: Element


@dataclass(frozen=True)
class ReadEvent:
    """An event message read into IMB JSON, all but its id (which the two directions take
    from different places)."""

    sender: str
    draft: Draft
    focus: Element


def event_bundle(
    event: Mapping[str, Any],
    *,
    sender: str,
    recipients: Sequence[str],
    header_id: str,
    timestamp: str,
    withheld: Sequence[str] = (),
) -> dict[str, Any]:
    """The event (IMB JSON) as a message Bundle whose MessageHeader has `header_id`."""
    urls = EntryUrls(header_id)
    context = FocusContext(event["occurred_at"], reference(urls("patient")), urls, tuple(withheld))
    focus_entries = FOCUS[event["type"]].build(event["payload"], context)
    agencies = {code: urls(f"organization-{code}") for code in [sender, *recipients]}
    header = _header(event, header_id, sender, recipients, agencies, focus_entries[0]["fullUrl"])
    return {
        "resourceType": "Bundle",
        "identifier": {"system": URI_SYSTEM, "value": urn_uuid(event["id"])},
        "type": "message",
        "timestamp": timestamp,
        "entry": [
            entry(urn_uuid(header_id), header),
            *focus_entries,
            entry(urls("patient"), patient(event["subject"])),
            *(entry(url, organization(code)) for code, url in agencies.items()),
        ],
    }


def open_message(data: object) -> OpenedMessage:
    """A submitted message Bundle, checked against FHIR, with its MessageHeader."""
    data = submitted_resource(data, "Bundle", "a message")
    if data.get("type") != "message":
        raise refuse("value", "a message is a Bundle of type message", "Bundle.type")
    entries = data.get("entry")
    first = entries[0] if isinstance(entries, list) and entries else None
    resource = first.get("resource") if isinstance(first, dict) else None
    if not isinstance(resource, dict) or resource.get("resourceType") != "MessageHeader":
        raise refuse("invalid", "a message's first entry is its MessageHeader", "Bundle.entry[0]")
    check_fhir(data, "Bundle")
    root = Element(data, "Bundle")
    refuse_modifier_extensions(root)
    view = BundleView(root)
    return OpenedMessage(root, view, view.entries[0])


def event_code_of(message: OpenedMessage) -> Element:
    event = message.header.require("eventCoding", "the event")
    return read_coding(event, EVENT_TYPE, "the event")


def read_event(message: OpenedMessage) -> ReadEvent:
    header, draft = message.header, Draft()
    code = event_code_of(message)
    if code.value == ACKNOWLEDGEMENT:
        raise refuse("not-supported", "an acknowledgement is not an event", code.path)
    event_type = event_type_of(code.value)
    draft.put(("type",), event_type, code.path)
    sender = ods_code_of(header.require("sender", "the sender"), message.view, "the sender")
    read_recipients(header, message.view, draft)
    _read_reason(header, draft)
    _read_urgency(header, draft)
    _read_override(found_one(header, OVERRIDE_EXTENSION), draft)
    focus = _focus(message, FOCUS[event_type].resource_type)
    draft.put(("payload",), {}, focus.path)
    FOCUS[event_type].read(focus, message.view, draft)
    _read_subject(focus.require("subject", "the subject"), message.view, draft)
    return ReadEvent(sender.value, draft, focus)


def _header(
    event: Mapping[str, Any],
    header_id: str,
    sender: str,
    recipients: Sequence[str],
    agencies: Mapping[str, str],
    focus_url: str,
) -> dict[str, Any]:
    extensions = [
        extension(URGENCY_EXTENSION, "CodeableConcept", concept(URGENCY, event["urgency"]))
    ]
    if event.get("override") is not None:
        extensions.append(_override(event["override"]))
    return {
        "resourceType": "MessageHeader",
        "id": header_id,
        "extension": extensions,
        "eventCoding": coding(EVENT_TYPE, event_code(event["type"])),
        "destination": [
            {"endpoint": agency_endpoint(code), "receiver": reference(agencies[code])}
            for code in recipients
        ],
        "sender": reference(agencies[sender]),
        "source": {"endpoint": agency_endpoint(sender)},
        "reason": _reason(event),
        "focus": [reference(focus_url)],
    }


def _reason(event: Mapping[str, Any]) -> dict[str, Any]:
    use = purpose_of_use(Purpose(event["purpose"]), event["urgency"] == "emergency").value
    act_reason = {"system": ACT_REASON_SYSTEM, "code": use, "display": _PURPOSE_OF_USE_DISPLAY[use]}
    return {
        "coding": [coding(PURPOSE, event["purpose"]), act_reason],
        "text": event["reason_for_sharing"],
    }


def _override(override: Mapping[str, Any]) -> dict[str, Any]:
    return complex_extension(
        OVERRIDE_EXTENSION,
        [
            ("reason", "CodeableConcept", concept(OVERRIDE_REASON, override["reason"])),
            ("authorised-by", "String", override["authorised_by"]),
            ("justification", "String", override["justification"]),
        ],
    )


def _read_reason(header: Element, draft: Draft) -> None:
    reason = header.require("reason", "the reason for sharing")
    purpose = read_concept(reason, PURPOSE, "the purpose")
    draft.put(("purpose",), purpose.value, purpose.path)
    text = reason.require("text", "the reason for sharing")
    draft.put(("reason_for_sharing",), text.text("the reason for sharing"), text.path)


def _read_urgency(header: Element, draft: Draft) -> None:
    urgency = found_one(header, URGENCY_EXTENSION)
    if urgency is None:
        raise refuse(
            "required", f"extension {URGENCY_EXTENSION} is required", f"{header.path}.extension"
        )
    value = value_of(urgency, "CodeableConcept", "the urgency")
    code = read_concept(value, URGENCY, "the urgency")
    draft.put(("urgency",), code.value, code.path)


def _read_override(override: Element | None, draft: Draft) -> None:
    if override is None:
        return
    draft.put(("override",), {}, override.path)
    reason = part(override, "reason")
    if reason is not None:
        value = value_of(reason, "CodeableConcept", "the override reason")
        code = read_concept(value, OVERRIDE_REASON, "the override reason")
        draft.put(("override", "reason"), code.value, code.path)
    for name, key in (("authorised-by", "authorised_by"), ("justification", "justification")):
        found = part(override, name)
        if found is not None:
            value = value_of(found, "String", f"the override's {name}")
            draft.put(("override", key), value.value, value.path)


def _focus(message: OpenedMessage, resource_type: str) -> Element:
    focus = message.header.items("focus")
    if not focus:
        raise refuse("required", "the message needs its focus", f"{message.header.path}.focus")
    if len(focus) > 1:
        raise refuse("not-supported", "a message has one focus", focus[1].path)
    resource = message.view.resolve(focus[0], (resource_type,), "the focus")
    refuse_entered_in_error(resource, "the focus")
    return resource


def _read_subject(subject: Element, view: BundleView, draft: Draft) -> None:
    owner, identifiers = person_identifiers(subject, view, "the subject")
    number = nhs_number_in(owner, identifiers)
    draft.put(("subject", "nhs_number"), number.value, number.path)
    local_id = local_id_in(identifiers)
    if local_id is not None:
        draft.put(("subject", "local_id"), local_id.value, local_id.path)
