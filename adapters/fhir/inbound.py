"""An event an agency submits as a FHIR message ($process-message), read into IMB JSON."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from adapters.fhir.elements import Draft, Element, Loc
from adapters.fhir.errors import refuse
from adapters.fhir.messages import OpenedMessage, open_message, read_event
from adapters.fhir.structure import check_imb
from schemas.events import EVENT_SUBMISSION

URN_UUID = "urn:uuid:"


@dataclass(frozen=True)
class InboundEvent:
    sender: str  # the ODS code the MessageHeader names as sender
    event: dict[str, Any]  # IMB JSON, as POST /v1/events takes it
    # Where in the message each location of `event` was read, for refusals made after
    # mapping (an unknown recipient, say) to point into what was sent.
    sources: Mapping[Loc, str] = field(default_factory=dict, compare=False)


def event_from_bundle(bundle: object) -> InboundEvent:
    """The event the message carries; FhirInputError, with every issue located, if IMB cannot
    take it. The event's id, its idempotency key, is Bundle.identifier (urn:uuid) and/or
    MessageHeader.id (the bare UUID)."""
    message = open_message(bundle)
    read = read_event(message)
    _read_event_id(message, read.draft)
    check_imb(EVENT_SUBMISSION, read.draft, message.header.path)
    return InboundEvent(read.sender, read.draft.data, read.draft.sources)


def _read_event_id(message: OpenedMessage, draft: Draft) -> None:
    named = [
        (_uuid(value, value.text("the message id").removeprefix(URN_UUID)), value.path)
        for value in _ids(message)
    ]
    if not named:
        raise refuse(
            "required", "the event id is required: Bundle.identifier or MessageHeader.id", "Bundle"
        )
    if len({event_id for event_id, _ in named}) > 1:
        raise refuse(
            "invalid", "Bundle.identifier and MessageHeader.id name different events", named[1][1]
        )
    draft.put(("id",), str(named[0][0]), named[0][1])


def _ids(message: OpenedMessage) -> list[Element]:
    ids = []
    identifier = message.root.get("identifier")
    value = identifier.get("value") if identifier is not None else None
    if value is not None:
        if not value.text("the message id").startswith(URN_UUID):
            raise refuse("value", "Bundle.identifier.value must be a urn:uuid", value.path)
        ids.append(value)
    header_id = message.header.get("id")
    if header_id is not None:
        ids.append(header_id)
    return ids


def _uuid(value: Element, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise refuse("value", "an event id must be a UUID", value.path) from None
