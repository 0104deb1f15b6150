"""Reading submitted FHIR JSON with the FHIRPath of every value read, and building IMB JSON
that remembers where each of its values came from.

Submitted JSON is read as sent, after fhir.resources has checked its structure: that parser
coerces some values (a number where a string belongs), so every read here checks its type.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from adapters.fhir.errors import refuse

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Element:
    """A JSON value inside a submitted resource, with its FHIRPath expression."""

    value: Any
    path: str

    def get(self, key: str) -> "Element | None":
        if isinstance(self.value, dict) and self.value.get(key) is not None:
            return Element(self.value[key], f"{self.path}.{key}")
        return None

    def require(self, key: str, what: str) -> "Element":
        found = self.get(key)
        if found is None:
            raise refuse("required", f"{what} is required", f"{self.path}.{key}")
        return found

    def items(self, key: str) -> list["Element"]:
        found = self.get(key)
        if found is None:
            return []
        if not isinstance(found.value, list):
            return [found]  # a lone value where FHIR has a list: read it as a list of one
        return [Element(v, f"{found.path}[{i}]") for i, v in enumerate(found.value)]

    def text(self, what: str) -> str:
        if not isinstance(self.value, str):
            raise refuse("value", f"{what} must be a string", self.path)
        return self.value

    def obj(self, what: str) -> "Element":
        if not isinstance(self.value, dict):
            raise refuse("structure", f"{what} must be a JSON object", self.path)
        return self

    def text_of(self, key: str, what: str) -> str | None:
        found = self.get(key)
        return None if found is None else found.text(what)


@dataclass
class Draft:
    """IMB JSON under construction, and the FHIRPath each of its locations was read from, so
    that IMB's own validation can point back into the submitted resource."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[Loc, str] = field(default_factory=dict)

    def put(self, loc: Loc, value: Any, path: str) -> None:
        parent: Any = self.data
        for key, following in pairwise(loc):
            parent = _child(parent, key, [] if isinstance(following, int) else {})
        if isinstance(parent, list):
            parent.append(value)
        else:
            parent[loc[-1]] = value
        self.sources[loc] = path

    def read_from(self, loc: Loc, path: str) -> None:
        self.sources[loc] = path

    def expression_for(self, loc: Loc) -> str | None:
        return expression_for(self.sources, loc)


def expression_for(sources: Mapping[Loc, str], loc: Loc) -> str | None:
    """The source of the location or of its nearest ancestor that has one."""
    for length in range(len(loc), 0, -1):
        if loc[:length] in sources:
            return sources[loc[:length]]
    return None


def _child(parent: Any, key: str | int, empty: Any) -> Any:
    if isinstance(parent, list):
        assert isinstance(key, int)
        if key == len(parent):
            parent.append(empty)
        return parent[key]
    return parent.setdefault(key, empty)
