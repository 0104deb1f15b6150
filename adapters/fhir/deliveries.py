"""A delivery to a recipient as a FHIR message, and back.

The MessageHeader's id is the delivery's id (what the recipient acknowledges), the Bundle's
identifier the event's message id, and its extensions the delivery's deadlines and seq
(deadlines.py). A Provenance on the MessageHeader names the sharing agreement version the
delivery was permitted under and the lawful bases it rested on. The payload is the recipient's
minimised view: only what is present is built (focus.py).

The delivery's state (its status, when it was received or acknowledged, and how) is not in the
message: it changes after the message is built, and the inbox answers it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.fhir.bundles import EntryUrls, entry, reference
from adapters.fhir.codes import (
    ART6_BASIS,
    ART9_CONDITION,
    CONFIDENTIALITY_BASIS,
    DPA_SCH1_PARAGRAPH,
    STATUTORY_GATEWAY,
    Vocabulary,
    concept,
)
from adapters.fhir.deadlines import deadline_extensions, read_deadlines
from adapters.fhir.elements import Element
from adapters.fhir.errors import FhirOutputError, Issue, refuse
from adapters.fhir.focus import withheld_items as withheld_in
from adapters.fhir.inbound import URN_UUID
from adapters.fhir.messages import event_bundle, open_message, read_event
from adapters.fhir.names import agreement_policy, urn_uuid
from adapters.fhir.payloads import FOCUS, with_empty_items, withheld_items

BROKER = {"display": "IMB, the Interagency Messaging Broker"}
_SINGLE_BASES: tuple[tuple[str, Vocabulary], ...] = (
    ("art6", ART6_BASIS),
    ("art9", ART9_CONDITION),
    ("dpa_sch1_para", DPA_SCH1_PARAGRAPH),
    ("confidentiality", CONFIDENTIALITY_BASIS),
)


@dataclass(frozen=True)
class DeliveredEvent:
    """A delivery message read back: the event as the recipient was shown it."""

    delivery_id: str
    sender: str
    recipient: str
    event: dict[str, Any]
    agreement: str | None  # the Provenance policy URI of the agreement version
    lawful_bases: dict[str, Any]
    deliver_by: str | None = None
    ack_by: str | None = None
    seq: int | None = None


def bundle_for_delivery(
    content: Mapping[str, Any],
    *,
    recipient: str,
    agreement_id: object,
    agreement_version: int,
    lawful_bases: Mapping[str, Any],
    timestamp: datetime,
) -> dict[str, Any]:
    """The delivery (`DeliveryContent` JSON) as a message Bundle for its recipient."""
    if content["type"] not in FOCUS:
        issue = Issue("not-supported", f"{content['type']} has no FHIR message form")
        raise FhirOutputError([issue])
    if timestamp.tzinfo is None:
        raise ValueError("a FHIR instant needs a time zone")
    header_id = str(content["delivery_id"])
    bundle = event_bundle(
        _event(content),
        sender=content["sender"],
        recipients=[recipient],
        header_id=header_id,
        timestamp=timestamp.isoformat(),
        withheld=withheld_items(content["type"], content["payload"]),
    )
    bundle["entry"][0]["resource"]["extension"] += deadline_extensions(content)
    policy = agreement_policy(str(agreement_id), agreement_version)
    provenance = _provenance(urn_uuid(header_id), policy, lawful_bases, timestamp.isoformat())
    bundle["entry"].append(entry(EntryUrls(header_id)("provenance"), provenance))
    return bundle


def delivery_from_bundle(bundle: Mapping[str, Any]) -> DeliveredEvent:
    """The delivery a `bundle_for_delivery` Bundle carries, as IMB JSON: the event as the
    recipient was shown it, item for item, with the delivery's deadlines and seq."""
    message = open_message(dict(bundle))
    read = read_event(message)
    event = read.draft.data
    identifier = message.root.require("identifier", "the message id").require("value", "the id")
    event["id"] = identifier.text("the message id").removeprefix(URN_UUID)
    recipients = event.pop("recipients", [])
    if len(recipients) != 1:
        raise refuse(
            "invalid", "a delivery has one recipient", f"{message.header.path}.destination"
        )
    withheld = withheld_in(read.focus)
    with_empty_items(event["type"], event["payload"], withheld)
    event["subject"].setdefault("local_id", None)
    event.setdefault("override", None)
    agreement, bases = _read_provenance(message.view.entries)
    header_id = message.header.require("id", "the delivery id").text("the delivery id")
    deadlines = read_deadlines(message.header)
    return DeliveredEvent(
        header_id,
        read.sender,
        recipients[0],
        event,
        agreement,
        bases,
        deliver_by=deadlines.deliver_by,
        ack_by=deadlines.ack_by,
        seq=deadlines.seq,
    )


def _event(content: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("type", "occurred_at", "subject", "reason_for_sharing", "purpose", "urgency")
    event = {key: content[key] for key in keys}
    return {
        **event,
        "id": content["message_id"],
        "override": content.get("override"),
        "payload": content["payload"],
    }


def _provenance(
    target: str, policy: str, bases: Mapping[str, Any], recorded: str
) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "target": [reference(target)],
        "recorded": recorded,
        "policy": [policy],
        "reason": _basis_reasons(bases),
        "agent": [{"who": BROKER}],
    }


def _basis_reasons(bases: Mapping[str, Any]) -> list[dict[str, Any]]:
    reasons = [
        concept(vocabulary, str(bases[key]))
        for key, vocabulary in _SINGLE_BASES
        if bases.get(key) is not None
    ]
    gateways = bases.get("statutory_gateways") or []
    return reasons + [concept(STATUTORY_GATEWAY, gateway) for gateway in gateways]


def _read_provenance(entries: list[Element]) -> tuple[str | None, dict[str, Any]]:
    provenance = next((e for e in entries if e.value.get("resourceType") == "Provenance"), None)
    if provenance is None:
        return None, {}
    policies = [p.text("the agreement") for p in provenance.items("policy")]
    codings = [
        (coding.value.get("system"), coding.value.get("code"))
        for reason in provenance.items("reason")
        for coding in reason.items("coding")
    ]
    bases: dict[str, Any] = {}
    for key, vocabulary in _SINGLE_BASES:
        codes = [code for system, code in codings if system == vocabulary.url]
        if codes:
            bases[key] = codes[0]
    gateways = [code for system, code in codings if system == STATUTORY_GATEWAY.url]
    if gateways:
        bases["statutory_gateways"] = gateways
    return (policies[0] if policies else None), bases
