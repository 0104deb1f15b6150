"""Checking submitted JSON against FHIR (fhir.resources) and IMB's own models, with every
problem located by a FHIRPath expression into what was submitted.

A location is built from the parser's, so a key the client sent that FHIR does not define is
written `*`: the client's own text never comes back in an answer (expressions.py).
"""

import re
from collections.abc import Iterator, Sequence
from typing import Any, TypeGuard

import pydantic
from fhir.resources.R4B import get_fhir_model_class
from pydantic import TypeAdapter
from pydantic.v1 import ValidationError as FhirValidationError

from adapters.fhir.elements import Draft, Loc
from adapters.fhir.errors import FhirInputError, Issue, IssueType, refuse
from adapters.fhir.expressions import step

_FHIR_ISSUE: dict[str, IssueType] = {
    "value_error.missing": "required",
    "value_error.extra": "structure",
}
_IMB_ISSUE: dict[str, IssueType] = {
    "missing": "required",
    "enum": "code-invalid",
    "literal_error": "code-invalid",
}


def submitted_resource(data: object, resource_type: str, what: str) -> dict[str, Any]:
    """`data`, if it is a JSON object naming itself a `resource_type`; refused otherwise."""
    if not isinstance(data, dict):
        raise refuse("structure", f"{what} is a FHIR {resource_type}, as a JSON object")
    kind = data.get("resourceType")
    if kind != resource_type:
        where = kind if is_resource_type(kind) else None
        raise refuse("invalid", f"{what} is a {resource_type} resource", where)
    return data


def check_fhir(data: dict[str, Any], resource_type: str) -> None:
    """Refuse the resource unless fhir.resources accepts it as an R4 `resource_type`."""
    unknown = next(_unknown_resource_types(data, resource_type), None)
    if unknown is not None:
        raise refuse("not-supported", "not a FHIR R4 resource type", unknown)
    model = get_fhir_model_class(resource_type)
    try:
        model.parse_obj(data)
    except FhirValidationError as exc:
        raise FhirInputError(_fhir_issues(exc.errors(), data, resource_type)) from None
    except (LookupError, AttributeError, TypeError, ValueError):
        # fhir.resources gives up on some malformed shapes without saying where.
        raise refuse("structure", "not a well-formed FHIR resource", resource_type) from None


def check_imb(adapter: TypeAdapter[Any], draft: Draft, fallback: str) -> Any:
    """Validate the IMB JSON read from FHIR; each error points at the element it came from."""
    try:
        return adapter.validate_python(draft.data)
    except pydantic.ValidationError as exc:
        issues = [_imb_issue(error, draft, fallback) for error in exc.errors(include_url=False)]
        raise FhirInputError(issues) from None


def expression(root: str, loc: Sequence[str | int]) -> str:
    return root + "".join(step(key) for key in loc if key != "__root__")


def _fhir_issues(errors: Sequence[Any], data: dict[str, Any], root: str) -> list[Issue]:
    issues = []
    for error in errors:
        loc = tuple(error["loc"])
        message = str(error["msg"])
        for text in _submitted_texts(_value_at(data, loc), error.get("ctx")):
            message = _without_value(message, text)
        code = _FHIR_ISSUE.get(str(error["type"]), "value")
        issues.append(Issue(code, message, expression(root, loc)))
    return issues


def _imb_issue(error: Any, draft: Draft, fallback: str) -> Issue:
    loc: Loc = tuple(error["loc"])
    if loc and isinstance(loc[0], str) and "." in loc[0]:
        loc = loc[1:]  # the event type that tagged the union, not a field
    field = ".".join(str(part) for part in loc)
    code = _IMB_ISSUE.get(str(error["type"]), "value")
    said = _without_value(_plain(str(error["msg"])), error.get("input"))
    message = f"{field}: {said}" if field else said
    return Issue(code, message, draft.expression_for(loc) or fallback)


def _plain(message: str) -> str:
    # pydantic heads the text of a ValueError raised by a validator with its kind.
    return message.removeprefix("Value error, ")


def _value_at(data: Any, loc: Loc) -> Any:
    for key in loc:
        if key == "__root__":
            continue
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _submitted_texts(value: Any, context: Any) -> list[Any]:
    """The value, and any part of it the error's context names (a URL's "extra characters")."""
    parts = context.values() if isinstance(context, dict) else []
    if not isinstance(value, str):
        return [value]
    return [value, *(p for p in parts if isinstance(p, str) and p.strip() and p in value)]


def _without_value(message: str, value: Any) -> str:
    # pydantic's messages seldom quote what was sent; where one does, the quote is cut out.
    # Only as a whole word, so that a value "x" does not turn "extra" into "e…tra".
    if isinstance(value, str) and value.strip():
        return re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "…", message)
    return message


def _unknown_resource_types(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        kind = value.get("resourceType")
        if kind is not None and not is_resource_type(kind):
            yield f"{path}.resourceType"
        for key, child in value.items():
            yield from _unknown_resource_types(child, path + step(key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _unknown_resource_types(child, path + step(index))


def is_resource_type(kind: object) -> TypeGuard[str]:
    if not isinstance(kind, str):
        return False
    try:
        get_fhir_model_class(kind)
    except KeyError:
        return False
    return True
