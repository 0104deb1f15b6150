"""A Consent's provision: the scope and the period of a person's consent position.

Its actors are the recipient agencies (role v3 IRCP), its purposes IMB purposes, its codes
and classes IMB event types, its period the validity; an empty list means "all", as in IMB's
JSON. A provision is read in full or refused: a restriction IMB does not understand (another
role, a code from another system, the data or data period it covers, a security label, an
action other than disclosure, a nested provision) would, if skipped, leave a consent broader
than the person gave, or a refusal narrower.
"""

from collections.abc import Callable, Mapping
from typing import Any

from adapters.fhir.bundles import ContainedView
from adapters.fhir.codes import (
    EVENT_TYPE,
    PURPOSE,
    coding,
    concept,
    event_code,
    event_type_of,
    read_coding,
    read_concept,
)
from adapters.fhir.elements import Draft, Element
from adapters.fhir.errors import refuse
from adapters.fhir.identifiers import ods_code_of, ods_reference
from adapters.fhir.names import CONSENT_ACTION_SYSTEM, PARTICIPATION_TYPE_SYSTEM

RECIPIENT_ROLE = {
    "system": PARTICIPATION_TYPE_SYSTEM,
    "code": "IRCP",
    "display": "information recipient",
}
DISCLOSE = {"system": CONSENT_ACTION_SYSTEM, "code": "disclose"}
# Elements of an R4 provision that narrow it in ways IMB has no means to enforce.
UNHONOURED = ("data", "dataPeriod", "securityLabel", "provision")


def provision_of(decision: str, view: Mapping[str, Any]) -> dict[str, Any]:
    """The provision of a stored consent record (`consent_view` JSON)."""
    scope = view.get("scope") or {}
    built: dict[str, Any] = {"type": decision}
    period = {"start": view.get("valid_from"), "end": view.get("valid_to")}
    if any(period.values()):
        built["period"] = {k: v for k, v in period.items() if v is not None}
    actors = [
        {"role": {"coding": [RECIPIENT_ROLE]}, "reference": ods_reference(code)}
        for code in scope.get("recipients") or []
    ]
    purposes = [coding(PURPOSE, purpose) for purpose in scope.get("purposes") or []]
    codes = [concept(EVENT_TYPE, event_code(e)) for e in scope.get("event_types") or []]
    listed = {"actor": actors, "purpose": purposes, "code": codes}
    return built | {key: values for key, values in listed.items() if values}


def read_scope(provision: Element, contained: ContainedView, draft: Draft) -> None:
    _refuse_what_imb_cannot_honour(provision)
    draft.put(("scope",), {}, provision.path)
    recipients = [_recipient(actor, contained) for actor in provision.items("actor")]
    purposes = [read_coding(p, PURPOSE, "a purpose") for p in provision.items("purpose")]
    events = [_event_type(code) for code in provision.items("code")]
    events += [_event_class(kind) for kind in provision.items("class")]
    _put_all(draft, ("scope", "recipients"), recipients, provision)
    _put_all(draft, ("scope", "purposes"), purposes, provision)
    _put_all(draft, ("scope", "event_types"), events, provision, event_type_of)


def read_period(provision: Element, draft: Draft) -> None:
    period = provision.get("period")
    for key, name in (("start", "valid_from"), ("end", "valid_to")):
        value = period.get(key) if period is not None else None
        if value is not None:
            draft.put((name,), value.value, value.path)


def _refuse_what_imb_cannot_honour(provision: Element) -> None:
    for name in UNHONOURED:
        found = provision.get(name)
        if found is not None:
            raise refuse("not-supported", f"IMB cannot honour a provision's {name}", found.path)
    for action in provision.items("action"):
        if _codes(action, DISCLOSE["system"]) != {DISCLOSE["code"]}:
            raise refuse(
                "not-supported", "the one action IMB honours is consentaction disclose", action.path
            )


def _recipient(actor: Element, contained: ContainedView) -> Element:
    role = actor.require("role", "an actor's role")
    if RECIPIENT_ROLE["code"] not in _codes(role, PARTICIPATION_TYPE_SYSTEM):
        raise refuse(
            "not-supported",
            "an actor is an information recipient (v3 ParticipationType IRCP)",
            role.path,
        )
    return ods_code_of(actor.require("reference", "an actor"), contained, "an actor")


def _event_type(code: Element) -> Element:
    kinds = _codes(code, EVENT_TYPE.url)
    if len(kinds) != 1:
        raise refuse(
            "not-supported", f"a provision code is one event type from {EVENT_TYPE.url}", code.path
        )
    return read_concept(code, EVENT_TYPE, "an event type")


def _event_class(kind: Element) -> Element:
    if kind.obj("a provision class").value.get("system") != EVENT_TYPE.url:
        raise refuse(
            "not-supported", f"a provision class is an event type from {EVENT_TYPE.url}", kind.path
        )
    return read_coding(kind, EVENT_TYPE, "an event type")


def _codes(concept: Element, system: str) -> set[object]:
    """The codes of a CodeableConcept's codings from the system."""
    return {
        c.value.get("code")
        for c in concept.obj("a coded element").items("coding")
        if isinstance(c.value, dict) and c.value.get("system") == system
    }


def _put_all(
    draft: Draft,
    loc: tuple[str, str],
    values: list[Element],
    owner: Element,
    convert: Callable[[str], str] = str,
) -> None:
    draft.put(loc, [convert(v.value) for v in values], values[0].path if values else owner.path)
    for index, value in enumerate(values):
        draft.read_from((*loc, index), value.path)
