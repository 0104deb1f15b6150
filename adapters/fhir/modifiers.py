"""Modifier extensions, wherever they are in what was submitted.

A modifier extension changes the meaning of the element that holds it (a consent that holds
only on weekdays, a record that is hypothetical), and FHIR says a receiver SHALL NOT ignore one
it does not understand. IMB defines none and understands none, so content carrying any is
refused whole rather than read as something broader than was meant.
"""

from collections.abc import Iterator
from typing import Any

from adapters.fhir.elements import Element
from adapters.fhir.errors import FhirInputError, Issue
from adapters.fhir.expressions import step

MODIFIER_EXTENSION = "modifierExtension"


def refuse_modifier_extensions(root: Element) -> None:
    """FhirInputError, one issue per modifier extension, if the content carries any."""
    issues = [
        Issue("not-supported", "IMB understands no modifier extension and may not ignore one", path)
        for path in _modifier_extensions(root.value, root.path)
    ]
    if issues:
        raise FhirInputError(issues)


def _modifier_extensions(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        if value.get(MODIFIER_EXTENSION):
            yield path + step(MODIFIER_EXTENSION)
        for key, child in value.items():
            if key != MODIFIER_EXTENSION:
                yield from _modifier_extensions(child, path + step(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _modifier_extensions(child, path + step(index))
