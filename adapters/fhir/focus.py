"""What every focus resource shares: the subject, the moment, and the marks of minimisation.

A delivery carries only the payload items its agreement allows (consent/redact.py). The focus
resource then lists the items withheld, as `withheld-item` extensions naming IMB payload paths,
and carries the REDACTED security label, so a recipient can tell "withheld" from "none": an
optional item that is absent and not withheld is empty (no review date, no actions taken).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.fhir.bundles import EntryUrls
from adapters.fhir.elements import Draft, Element, Loc
from adapters.fhir.errors import refuse
from adapters.fhir.extensions import found, repeated, value_of
from adapters.fhir.names import OBSERVATION_VALUE_SYSTEM

WITHHELD_ITEM = "withheld-item"
REDACTED = {"system": OBSERVATION_VALUE_SYSTEM, "code": "REDACTED", "display": "redacted"}


@dataclass(frozen=True)
class FocusContext:
    occurred_at: str
    subject: dict[str, str]  # a Reference to the Patient entry
    urls: EntryUrls
    withheld: tuple[str, ...] = ()


def finished(
    resource: dict[str, Any], extensions: list[dict[str, Any]], context: FocusContext
) -> dict[str, Any]:
    """The resource with its extensions and, when minimised, the marks of what was withheld."""
    every = [*extensions, *repeated(WITHHELD_ITEM, "String", list(context.withheld))]
    head: dict[str, Any] = {"resourceType": resource["resourceType"]}
    if context.withheld:
        head["meta"] = {"security": [REDACTED]}
    if every:
        head["extension"] = every
    return {**head, **resource}


def refuse_entered_in_error(resource: Element, what: str) -> None:
    """A record its author has marked as made in error is not one to share or act on."""
    status = resource.get("status")
    if status is not None and status.value == "entered-in-error":
        raise refuse("business-rule", f"{what} is marked entered-in-error", status.path)


def withheld_items(focus: Element) -> frozenset[str]:
    return frozenset(
        value_of(e, "String", "a withheld item").text("a withheld item")
        for e in found(focus, WITHHELD_ITEM)
    )


def put_texts(draft: Draft, loc: Loc, extensions: Sequence[Element], what: str) -> None:
    """A list of strings read from repeated extensions, when there are any."""
    values = [value_of(e, "String", what) for e in extensions]
    if values:
        draft.put(loc, [value.text(what) for value in values], values[0].path)
    for index, value in enumerate(values):
        draft.read_from((*loc, index), value.path)


def put_value(draft: Draft, loc: Loc, ext: Element | None, value_type: str, what: str) -> None:
    if ext is not None:
        value = value_of(ext, value_type, what)
        draft.put(loc, value.value, value.path)
