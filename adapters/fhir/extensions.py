"""IMB's extensions: `{FHIR_BASE}/StructureDefinition/{name}`, simple or complex.

The parts of a complex extension are named by plain words ("reason"), as FHIR does for the
parts of its own complex extensions.
"""

from typing import Any

from adapters.fhir.elements import Element
from adapters.fhir.errors import refuse
from adapters.fhir.names import extension_url


def extension(name: str, value_type: str, value: Any) -> dict[str, Any]:
    return {"url": extension_url(name), f"value{value_type}": value}


def repeated(name: str, value_type: str, values: list[Any]) -> list[dict[str, Any]]:
    return [extension(name, value_type, value) for value in values]


def complex_extension(name: str, parts: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """Parts are (part name, value type, value); those with no value are left out."""
    present = [(part, kind, value) for part, kind, value in parts if value is not None]
    return {
        "url": extension_url(name),
        "extension": [{"url": part, f"value{kind}": value} for part, kind, value in present],
    }


def found(owner: Element, name: str) -> list[Element]:
    url = extension_url(name)
    return [e for e in owner.items("extension") if _url(e) == url]


def found_one(owner: Element, name: str) -> Element | None:
    matches = found(owner, name)
    if len(matches) > 1:
        raise refuse("not-supported", f"extension {name} may appear only once", matches[1].path)
    return matches[0] if matches else None


def value_of(ext: Element, value_type: str, what: str) -> Element:
    return ext.require(f"value{value_type}", what)


def part(owner: Element, name: str) -> Element | None:
    """A part of a complex extension."""
    matches = [e for e in owner.items("extension") if _url(e) == name]
    if len(matches) > 1:
        raise refuse("not-supported", f"part {name} may appear only once", matches[1].path)
    return matches[0] if matches else None


def _url(ext: Element) -> object:
    return ext.value.get("url") if isinstance(ext.value, dict) else None
