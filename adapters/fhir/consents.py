"""A person's consent position as a FHIR R4 Consent (scope patient-privacy).

`provision.type` says permit or deny; IMB's finer state (implied, withdrawn, an objection,
best interests) is the `consent-state` extension and must agree with it. The provision holds
the scope and the period (provisions.py). Who recorded it is the performer: a contained
PractitionerRole. A modifier extension anywhere is refused, as IMB could not honour it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from adapters.fhir.bundles import ContainedView
from adapters.fhir.codes import CONSENT_STATE, concept, read_concept
from adapters.fhir.elements import Draft, Element, Loc
from adapters.fhir.errors import refuse
from adapters.fhir.extensions import extension, found, found_one, repeated, value_of
from adapters.fhir.identifiers import (
    nhs_number_in,
    nhs_number_reference,
    ods_reference,
    person_identifiers,
)
from adapters.fhir.modifiers import refuse_modifier_extensions
from adapters.fhir.names import CONSENT_SCOPE_SYSTEM, LOINC_SYSTEM
from adapters.fhir.policies import check_policy, policy_rule
from adapters.fhir.provisions import provision_of, read_period, read_scope
from adapters.fhir.structure import check_fhir, check_imb, submitted_resource
from consent.vocab import REFUSING_STATES, ConsentState
from schemas.consents import ConsentBody
from schemas.nhs_number import validate_nhs_number

CONSENT_MODEL: TypeAdapter[ConsentBody] = TypeAdapter(ConsentBody)
STATE = "consent-state"
EVIDENCE = "consent-evidence"
SUPERSEDES = "supersedes"
PRIVACY = {"system": CONSENT_SCOPE_SYSTEM, "code": "patient-privacy", "display": "Privacy Consent"}
PATIENT_CONSENT = {"system": LOINC_SYSTEM, "code": "59284-0", "display": "Patient Consent"}
# Without a finer state, a permit is explicit consent and a deny a refusal.
_PLAIN_STATE = {"permit": ConsentState.GIVEN_EXPLICIT, "deny": ConsentState.REFUSED}


def consent_to_fhir(view: Mapping[str, Any], nhs_number: str) -> dict[str, Any]:
    """A stored consent record (`consent_view` JSON) as a Consent whose id is the record's."""
    decision = _decision(view["state"])
    extensions = [extension(STATE, "CodeableConcept", concept(CONSENT_STATE, view["state"]))]
    if view.get("evidence") is not None:
        extensions.append(extension(EVIDENCE, "String", view["evidence"]))
    supersedes = [{"reference": f"Consent/{record}"} for record in view.get("supersedes") or []]
    extensions += repeated(SUPERSEDES, "Reference", supersedes)
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(view["id"]),
        "contained": [_recorder(view["recorded_by"], view.get("recording_agency"))],
        "extension": extensions,
        "status": "active",
        "scope": {"coding": [PRIVACY]},
        "category": [{"coding": [PATIENT_CONSENT]}],
        "patient": nhs_number_reference(nhs_number),
        "dateTime": view.get("recorded_at"),
        "performer": [{"reference": "#recorder"}],
        "organization": [ods_reference(view["recording_agency"])]
        if view.get("recording_agency")
        else None,
        "policyRule": {"coding": [policy_rule(decision)]},
        "provision": provision_of(decision, view),
    }
    return {key: value for key, value in resource.items() if value is not None}


def consent_from_fhir(resource: object) -> tuple[str, dict[str, Any]]:
    """The NHS number and the ConsentBody JSON (POST /v1/subjects/{nhs_number}/consents) of a
    submitted Consent; FhirInputError, every issue located, if IMB cannot take it."""
    read = read_submitted_consent(resource)
    return read.nhs_number, read.body


@dataclass(frozen=True)
class ReadConsent:
    nhs_number: str
    body: dict[str, Any]  # ConsentBody JSON
    # Where in the Consent each location of `body` was read (see InboundEvent.sources).
    sources: Mapping[Loc, str]


def read_submitted_consent(resource: object) -> ReadConsent:
    """consent_from_fhir, with where each value was read."""
    consent = _opened(resource)
    contained, draft = ContainedView(consent), Draft()
    if consent.require("status", "the status").value != "active":
        raise refuse("not-supported", "only an active Consent is recorded", "Consent.status")
    _check_scope(consent)
    nhs_number = _nhs_number(consent, contained)
    provision = consent.require("provision", "the provision")
    _read_state(consent, provision, draft)
    check_policy(consent, provision.require("type", "the provision type").value)
    read_scope(provision, contained, draft)
    _read_recorder(consent, contained, draft)
    read_period(provision, draft)
    _read_evidence(consent, draft)
    _read_supersedes(consent, draft)
    check_imb(CONSENT_MODEL, draft, "Consent")
    return ReadConsent(nhs_number, draft.data, draft.sources)


def _decision(state: str) -> str:
    return "deny" if ConsentState(state) in REFUSING_STATES else "permit"


def _recorder(person: Mapping[str, Any], agency: str | None) -> dict[str, Any]:
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": "recorder",
        "practitioner": {"display": person["name"]},
        "code": [{"text": person["role"]}],
    }
    if agency:
        role["organization"] = ods_reference(agency)
    return role


def _opened(submitted: object) -> Element:
    resource = submitted_resource(submitted, "Consent", "a consent")
    check_fhir(resource, "Consent")
    consent = Element(resource, "Consent")
    refuse_modifier_extensions(consent)
    return consent


def _check_scope(consent: Element) -> None:
    scope = consent.require("scope", "the scope")
    codes = [c.value for c in scope.items("coding")]
    if not any(
        isinstance(c, dict)
        and c.get("system") == CONSENT_SCOPE_SYSTEM
        and c.get("code") == "patient-privacy"
        for c in codes
    ):
        raise refuse("not-supported", "IMB records patient-privacy consents only", scope.path)


def _nhs_number(consent: Element, contained: ContainedView) -> str:
    ref = consent.require("patient", "the patient")
    owner, identifiers = person_identifiers(ref, contained, "the patient")
    return validate_nhs_number(nhs_number_in(owner, identifiers).text("the NHS number"))


def _read_state(consent: Element, provision: Element, draft: Draft) -> None:
    decision = provision.require("type", "the provision type")
    if decision.value not in _PLAIN_STATE:
        raise refuse("code-invalid", "the provision type is permit or deny", decision.path)
    state = found_one(consent, STATE)
    if state is None:
        draft.put(("state",), _PLAIN_STATE[decision.value].value, decision.path)
        return
    code = read_concept(
        value_of(state, "CodeableConcept", "the consent state"), CONSENT_STATE, "the consent state"
    )
    if _decision(code.value) != decision.value:
        raise refuse(
            "business-rule",
            f"a {code.value} consent's provision type is {_decision(code.value)}",
            decision.path,
        )
    draft.put(("state",), code.value, code.path)


def _read_recorder(consent: Element, contained: ContainedView, draft: Draft) -> None:
    performers = consent.items("performer")
    roles = [p for p in performers if _is_role(p, contained)]
    if len(roles) != 1:
        raise refuse(
            "required",
            "one performer must be the PractitionerRole who recorded it",
            f"{consent.path}.performer",
        )
    role = contained.resolve(roles[0], ("PractitionerRole",), "the performer")
    codes = role.items("code")
    if not codes:
        raise refuse(
            "required", "the recorder's role is required as code text", f"{role.path}.code"
        )
    text = codes[0].require("text", "the recorder's role")
    draft.put(("recorded_by", "role"), text.value, text.path)
    practitioner = role.require("practitioner", "the recorder")
    name = practitioner.require("display", "the recorder's name")
    draft.put(("recorded_by", "name"), name.value, name.path)


def _is_role(performer: Element, contained: ContainedView) -> bool:
    ref = performer.get("reference")
    if ref is None or not isinstance(ref.value, str) or not ref.value.startswith("#"):
        return False
    return contained.kind_of(ref.value) == "PractitionerRole"


def _read_evidence(consent: Element, draft: Draft) -> None:
    evidence = found_one(consent, EVIDENCE)
    if evidence is not None:
        value = value_of(evidence, "String", "the evidence")
        draft.put(("evidence",), value.value, value.path)


def _read_supersedes(consent: Element, draft: Draft) -> None:
    records = []
    for ext in found(consent, SUPERSEDES):
        ref = value_of(ext, "Reference", "a superseded record").require("reference", "a record")
        text = ref.text("a superseded record")
        if not text.startswith("Consent/"):
            raise refuse("value", "a superseded record is a Consent/{id} reference", ref.path)
        records.append((text.removeprefix("Consent/"), ref.path))
    if records:
        draft.put(("supersedes",), [record for record, _ in records], records[0][1])
    for index, (_, path) in enumerate(records):
        draft.read_from(("supersedes", index), path)
