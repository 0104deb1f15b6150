"""The person (Patient, by NHS number) and the agencies (Organization, by ODS code)."""

from collections.abc import Mapping
from typing import Any

from adapters.fhir.bundles import Resolver
from adapters.fhir.elements import Element
from adapters.fhir.errors import refuse
from adapters.fhir.names import LOCAL_PATIENT_ID_SYSTEM, NHS_NUMBER_SYSTEM, ODS_SYSTEM
from schemas.nhs_number import validate_nhs_number


def patient(subject: Mapping[str, Any]) -> dict[str, Any]:
    identifiers = [{"system": NHS_NUMBER_SYSTEM, "value": subject["nhs_number"]}]
    if subject.get("local_id") is not None:
        identifiers.append({"system": LOCAL_PATIENT_ID_SYSTEM, "value": subject["local_id"]})
    return {"resourceType": "Patient", "identifier": identifiers}


def nhs_number_reference(nhs_number: str) -> dict[str, Any]:
    return {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs_number}}


def organization(ods_code: str) -> dict[str, Any]:
    return {"resourceType": "Organization", "identifier": [_ods(ods_code)]}


def ods_reference(ods_code: str) -> dict[str, Any]:
    return {"identifier": _ods(ods_code)}


def person_identifiers(
    ref: Element, resolver: Resolver, what: str
) -> tuple[Element, list[Element]]:
    """The Patient a reference names (or the reference itself, when logical) and its
    identifiers."""
    if ref.obj(what).get("reference") is not None:
        found = resolver.resolve(ref, ("Patient",), what)
        return found, found.items("identifier")
    identifier = ref.get("identifier")
    if identifier is None:
        raise refuse("required", f"{what} needs a Patient or an NHS number identifier", ref.path)
    return ref, [identifier]


def nhs_number_in(owner: Element, identifiers: list[Element]) -> Element:
    """The one NHS number among the identifiers, checked (the number never goes in a message)."""
    matches = [i for i in identifiers if _system(i) == NHS_NUMBER_SYSTEM]
    if not matches:
        raise refuse(
            "required", f"an identifier with system {NHS_NUMBER_SYSTEM} is required", owner.path
        )
    if len(matches) > 1:
        raise refuse("not-supported", "only one NHS number may be given", matches[1].path)
    value = matches[0].require("value", "the NHS number")
    text = value.text("the NHS number")  # refused as itself: it is a ValueError too
    try:
        validate_nhs_number(text)
    except ValueError as exc:
        raise refuse("value", f"the NHS number: {exc}", value.path) from None
    return value


def local_id_in(identifiers: list[Element]) -> Element | None:
    matches = [i for i in identifiers if _system(i) == LOCAL_PATIENT_ID_SYSTEM]
    if len(matches) > 1:
        raise refuse("not-supported", "only one local identifier may be given", matches[1].path)
    return matches[0].require("value", "the local identifier") if matches else None


def ods_code_of(ref: Element, resolver: Resolver, what: str) -> Element:
    """The ODS code of the Organization a reference names, or of a logical reference."""
    if ref.obj(what).get("reference") is not None:
        owner = resolver.resolve(ref, ("Organization",), what)
        identifiers = owner.items("identifier")
    else:
        owner, identifiers = ref, ref.items("identifier")
    matches = [i for i in identifiers if _system(i) == ODS_SYSTEM]
    if not matches:
        raise refuse("required", f"{what} needs an identifier with system {ODS_SYSTEM}", owner.path)
    code = matches[0].require("value", f"{what}'s ODS code")
    code.text(f"{what}'s ODS code")
    return code


def _ods(ods_code: str) -> dict[str, str]:
    return {"system": ODS_SYSTEM, "value": ods_code}


def _system(identifier: Element) -> object:
    return identifier.value.get("system") if isinstance(identifier.value, dict) else None
