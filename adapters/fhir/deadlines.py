"""A delivery's deadlines and its place in the recipient's sequence, as MessageHeader
extensions: `deliver-by` and `acknowledge-by` (valueInstant), `seq` (valuePositiveInt).

A recipient reading its deliveries in FHIR sees by when IMB expects the acknowledgement before
escalating to its duty team, and can tell from `seq` whether it has missed one. Each is left
out when the delivery has none. Read back, a dateTime or an integer is taken too.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.fhir.elements import Element
from adapters.fhir.errors import refuse
from adapters.fhir.extensions import extension, found_one

DELIVER_BY = "deliver-by"
ACKNOWLEDGE_BY = "acknowledge-by"
SEQ = "seq"


@dataclass(frozen=True)
class Deadlines:
    deliver_by: str | None = None
    ack_by: str | None = None
    seq: int | None = None


def deadline_extensions(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The extensions for a delivery's `DeliveryContent` JSON."""
    extensions = [
        extension(name, "Instant", _instant(content[key]))
        for name, key in ((DELIVER_BY, "deliver_by"), (ACKNOWLEDGE_BY, "ack_by"))
        if content.get(key) is not None
    ]
    if content.get("seq") is not None:
        extensions.append(extension(SEQ, "PositiveInt", content["seq"]))
    return extensions


def read_deadlines(header: Element) -> Deadlines:
    return Deadlines(
        deliver_by=_read_instant(header, DELIVER_BY, "the deliver-by deadline"),
        ack_by=_read_instant(header, ACKNOWLEDGE_BY, "the acknowledge-by deadline"),
        seq=_read_seq(header),
    )


def _instant(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _read_instant(header: Element, name: str, what: str) -> str | None:
    found = _value(header, name, ("Instant", "DateTime"), what)
    return None if found is None else found.text(what)


def _read_seq(header: Element) -> int | None:
    found = _value(header, SEQ, ("PositiveInt", "Integer"), "the seq")
    if found is None:
        return None
    if not isinstance(found.value, int) or isinstance(found.value, bool) or found.value < 1:
        raise refuse("value", "the seq is a positive integer", found.path)
    return found.value


def _value(header: Element, name: str, types: tuple[str, ...], what: str) -> Element | None:
    ext = found_one(header, name)
    if ext is None:
        return None
    for value_type in types:
        value = ext.get(f"value{value_type}")
        if value is not None:
            return value
    kinds = " or ".join(f"value{t}" for t in types)
    raise refuse("required", f"{what} needs {kinds}", ext.path)
