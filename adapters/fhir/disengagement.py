"""engagement.disengaged as a Flag ("disengaged from services") on the person, with each
contact attempt a Communication the Flag points to, in order."""

from collections.abc import Mapping
from typing import Any

from adapters.fhir.bundles import BundleView, entry, reference
from adapters.fhir.codes import (
    CONTACT_METHOD,
    EVENT_TYPE,
    RISK_LEVEL,
    coding,
    concept,
    read_concept,
)
from adapters.fhir.elements import Draft, Element
from adapters.fhir.errors import refuse
from adapters.fhir.extensions import extension, found, found_one, repeated, value_of
from adapters.fhir.focus import (
    FocusContext,
    finished,
    put_texts,
    put_value,
    refuse_entered_in_error,
)

RESOURCE_TYPE = "Flag"
LAST_CONTACT = "last-contact-at"
MISSED_CONTACTS = "missed-contacts"
CURRENT_LEVEL = "current-risk-level"
ACTION_REQUESTED = "action-requested"
CONTACT_ATTEMPT = "contact-attempt"


def build(payload: Mapping[str, Any], context: FocusContext) -> list[dict[str, Any]]:
    """The Flag's entry, then one Communication entry per contact attempt."""
    attempts = [
        entry(context.urls(f"attempt-{index}"), _communication(attempt, context))
        for index, attempt in enumerate(payload.get("attempts", []))
    ]
    flag = {
        "resourceType": RESOURCE_TYPE,
        "status": "active",
        "code": {
            "coding": [coding(EVENT_TYPE, "engagement-disengaged")],
            "text": "Disengaged from services",
        },
        "subject": context.subject,
        "period": {"start": context.occurred_at},
    }
    extensions = _extensions(payload, [a["fullUrl"] for a in attempts])
    return [entry(context.urls("focus"), finished(flag, extensions, context)), *attempts]


def read(focus: Element, view: BundleView, draft: Draft) -> None:
    start = focus.require("period", "the period").require("start", "the moment of the flag")
    draft.put(("occurred_at",), start.value, start.path)
    put_value(
        draft,
        ("payload", "last_contact_at"),
        found_one(focus, LAST_CONTACT),
        "DateTime",
        "the last contact",
    )
    put_value(
        draft,
        ("payload", "missed_contacts"),
        found_one(focus, MISSED_CONTACTS),
        "PositiveInt",
        "the missed contacts",
    )
    level = found_one(focus, CURRENT_LEVEL)
    if level is not None:
        code = read_concept(
            value_of(level, "CodeableConcept", "the current risk level"),
            RISK_LEVEL,
            "the current risk level",
        )
        draft.put(("payload", "current_risk_level"), code.value, code.path)
    _read_attempts(found(focus, CONTACT_ATTEMPT), view, draft)
    put_texts(
        draft,
        ("payload", "actions_requested"),
        found(focus, ACTION_REQUESTED),
        "an action requested",
    )


def _extensions(payload: Mapping[str, Any], attempt_urls: list[str]) -> list[dict[str, Any]]:
    extensions = []
    if "last_contact_at" in payload:
        extensions.append(extension(LAST_CONTACT, "DateTime", payload["last_contact_at"]))
    if "missed_contacts" in payload:
        extensions.append(extension(MISSED_CONTACTS, "PositiveInt", payload["missed_contacts"]))
    if "current_risk_level" in payload:
        level = concept(RISK_LEVEL, payload["current_risk_level"])
        extensions.append(extension(CURRENT_LEVEL, "CodeableConcept", level))
    extensions += [extension(CONTACT_ATTEMPT, "Reference", reference(u)) for u in attempt_urls]
    extensions += repeated(ACTION_REQUESTED, "String", payload.get("actions_requested", []))
    return extensions


def _communication(attempt: Mapping[str, Any], context: FocusContext) -> dict[str, Any]:
    # "completed": the attempt was made; whether anyone answered is its outcome.
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "status": "completed",
        "subject": context.subject,
    }
    if "at" in attempt:
        resource["sent"] = attempt["at"]
    if "method" in attempt:
        resource["medium"] = [concept(CONTACT_METHOD, attempt["method"])]
    if "outcome" in attempt:
        resource["note"] = [{"text": attempt["outcome"]}]
    return resource


def _read_attempts(attempts: list[Element], view: BundleView, draft: Draft) -> None:
    if attempts:
        draft.put(("payload", "attempts"), [], attempts[0].path)
    for index, attempt in enumerate(attempts):
        ref = value_of(attempt, "Reference", "a contact attempt")
        communication = view.resolve(ref, ("Communication",), "a contact attempt")
        refuse_entered_in_error(communication, "a contact attempt")
        _read_attempt(communication, index, draft)


def _read_attempt(communication: Element, index: int, draft: Draft) -> None:
    loc = ("payload", "attempts", index)
    draft.put(loc, {}, communication.path)
    sent = communication.get("sent")
    if sent is not None:
        draft.put((*loc, "at"), sent.value, sent.path)
    media = communication.items("medium")
    if len(media) > 1:
        raise refuse("not-supported", "an attempt has one medium; more were given", media[1].path)
    if media:
        method = read_concept(media[0], CONTACT_METHOD, "the contact method")
        draft.put((*loc, "method"), method.value, method.path)
    notes = communication.items("note")
    if len(notes) > 1:
        raise refuse("not-supported", "the outcome is one note; more were given", notes[1].path)
    if notes:
        outcome = notes[0].require("text", "the outcome")
        draft.put((*loc, "outcome"), outcome.text("the outcome"), outcome.path)
