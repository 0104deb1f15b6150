"""IMB's CodeSystems, generated from the vocabularies in `schemas.vocabulary` so that the FHIR
codes can never drift from the wire contract: each code is an enum value, its display the value
in words ("very_high" is "very high").

Event types are the exception in spelling: a FHIR code may not hold the dot of
"risk.changed", so the event CodeSystem says "risk-changed"; it also holds "acknowledgement",
the event of a response message.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from adapters.fhir.elements import Element
from adapters.fhir.errors import refuse
from adapters.fhir.names import code_system_url
from schemas.vocabulary import (
    AckOutcome,
    Art6Basis,
    Art9Condition,
    ConfidentialityBasis,
    ConsentState,
    ContactMethod,
    DeclineReason,
    EventType,
    OverrideReason,
    Purpose,
    RiskDomain,
    RiskLevel,
    StatutoryGateway,
    Urgency,
)

ACKNOWLEDGEMENT = "acknowledgement"


@dataclass(frozen=True)
class Vocabulary:
    id: str
    codes: tuple[str, ...]
    # "not-present" for a CodeSystem IMB names but does not enumerate (DPA 2018 paragraphs).
    content: Literal["complete", "not-present"] = "complete"

    @property
    def url(self) -> str:
        return code_system_url(self.id)

    @property
    def title(self) -> str:
        return "IMB " + self.id.removeprefix("imb-").replace("-", " ")

    def display(self, code: str) -> str:
        return code.replace("_", " ").replace("-", " ")


def event_code(event_type: str) -> str:
    return event_type.replace(".", "-")


def event_type_of(code: str) -> str:
    return code.replace("-", ".")


def _of(code_system_id: str, vocabulary: type[StrEnum]) -> Vocabulary:
    return Vocabulary(code_system_id, tuple(member.value for member in vocabulary))


EVENT_TYPE = Vocabulary(
    "imb-event-type", (*(event_code(e.value) for e in EventType), ACKNOWLEDGEMENT)
)
RISK_LEVEL = _of("imb-risk-level", RiskLevel)
RISK_DOMAIN = _of("imb-risk-domain", RiskDomain)
CONTACT_METHOD = _of("imb-contact-method", ContactMethod)
PURPOSE = _of("imb-purpose", Purpose)
URGENCY = _of("imb-urgency", Urgency)
CONSENT_STATE = _of("imb-consent-state", ConsentState)
OVERRIDE_REASON = _of("imb-override-reason", OverrideReason)
DECLINE_REASON = _of("imb-decline-reason", DeclineReason)
ACK_OUTCOME = _of("imb-ack-outcome", AckOutcome)
ART6_BASIS = _of("imb-art6-basis", Art6Basis)
ART9_CONDITION = _of("imb-art9-condition", Art9Condition)
CONFIDENTIALITY_BASIS = _of("imb-confidentiality-basis", ConfidentialityBasis)
STATUTORY_GATEWAY = _of("imb-statutory-gateway", StatutoryGateway)
DPA_SCH1_PARAGRAPH = Vocabulary("imb-dpa-2018-sch1-paragraph", (), content="not-present")

CODE_SYSTEMS: Mapping[str, Vocabulary] = {
    v.id: v
    for v in (
        EVENT_TYPE,
        RISK_LEVEL,
        RISK_DOMAIN,
        CONTACT_METHOD,
        PURPOSE,
        URGENCY,
        CONSENT_STATE,
        OVERRIDE_REASON,
        DECLINE_REASON,
        ACK_OUTCOME,
        ART6_BASIS,
        ART9_CONDITION,
        CONFIDENTIALITY_BASIS,
        STATUTORY_GATEWAY,
        DPA_SCH1_PARAGRAPH,
    )
}


def code_system(vocabulary: Vocabulary) -> dict[str, Any]:
    """The vocabulary as a FHIR CodeSystem resource."""
    resource: dict[str, Any] = {
        "resourceType": "CodeSystem",
        "id": vocabulary.id,
        "url": vocabulary.url,
        "name": "".join(part.capitalize() for part in vocabulary.id.split("-")),
        "title": vocabulary.title,
        "status": "active",
        "caseSensitive": True,
        "content": vocabulary.content,
    }
    if vocabulary.codes:
        resource["count"] = len(vocabulary.codes)
        resource["concept"] = [
            {"code": code, "display": vocabulary.display(code)} for code in vocabulary.codes
        ]
    return resource


def all_code_systems() -> list[dict[str, Any]]:
    return [code_system(vocabulary) for vocabulary in CODE_SYSTEMS.values()]


def coding(vocabulary: Vocabulary, code: str) -> dict[str, str]:
    return {"system": vocabulary.url, "code": code, "display": vocabulary.display(code)}


def concept(vocabulary: Vocabulary, code: str) -> dict[str, Any]:
    return {"coding": [coding(vocabulary, code)]}


def concepts(vocabulary: Vocabulary, codes: Iterable[str]) -> list[dict[str, Any]]:
    return [concept(vocabulary, code) for code in codes]


def read_coding(found: Element, vocabulary: Vocabulary, what: str) -> Element:
    """The code of a Coding from the vocabulary's system, checked against the vocabulary."""
    system = found.obj(what).get("system")
    if system is None or system.value != vocabulary.url:
        raise refuse("code-invalid", f"{what} must be coded from {vocabulary.url}", found.path)
    return _known(found.require("code", what), vocabulary, what)


def read_concept(found: Element, vocabulary: Vocabulary, what: str) -> Element:
    """The code of the CodeableConcept's coding from the vocabulary's system, checked."""
    for candidate in found.obj(what).items("coding"):
        system = candidate.obj(what).get("system")
        if system is not None and system.value == vocabulary.url:
            return _known(candidate.require("code", what), vocabulary, what)
    raise refuse("required", f"{what} needs a coding from {vocabulary.url}", found.path)


def has_coding(found: Element, vocabulary: Vocabulary) -> bool:
    return any(
        isinstance(c.value, dict) and c.value.get("system") == vocabulary.url
        for c in found.items("coding")
    )


def _known(code: Element, vocabulary: Vocabulary, what: str) -> Element:
    if vocabulary.codes and code.value not in vocabulary.codes:
        raise refuse("code-invalid", f"{what}: not a code of {vocabulary.url}", code.path)
    code.text(what)
    return code
