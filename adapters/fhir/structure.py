"""Checking submitted JSON against FHIR (fhir.resources) and IMB's own models, with every
problem located by a FHIRPath expression into what was submitted."""

from collections.abc import Iterator, Sequence
from typing import Any

import pydantic
from fhir.resources.R4B import get_fhir_model_class
from pydantic import TypeAdapter
from pydantic.v1 import ValidationError as FhirValidationError

from adapters.fhir.elements import Draft, Loc
from adapters.fhir.errors import FhirInputError, Issue, IssueType, refuse

_FHIR_ISSUE: dict[str, IssueType] = {
    "value_error.missing": "required",
    "value_error.extra": "structure",
}
_IMB_ISSUE: dict[str, IssueType] = {
    "missing": "required",
    "enum": "code-invalid",
    "literal_error": "code-invalid",
}


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
    text = root
    for key in loc:
        if key == "__root__":
            continue
        text += f"[{key}]" if isinstance(key, int) else f".{key}"
    return text


def _fhir_issues(errors: Sequence[Any], data: dict[str, Any], root: str) -> list[Issue]:
    issues = []
    for error in errors:
        loc = tuple(error["loc"])
        message = _without_value(str(error["msg"]), _value_at(data, loc))
        code = _FHIR_ISSUE.get(str(error["type"]), "value")
        issues.append(Issue(code, message, expression(root, loc)))
    return issues


def _imb_issue(error: Any, draft: Draft, fallback: str) -> Issue:
    loc: Loc = tuple(error["loc"])
    if loc and isinstance(loc[0], str) and "." in loc[0]:
        loc = loc[1:]  # the event type that tagged the union, not a field
    field = ".".join(str(part) for part in loc)
    code = _IMB_ISSUE.get(str(error["type"]), "value")
    said = _without_value(str(error["msg"]), error.get("input"))
    message = f"{field}: {said}" if field else said
    return Issue(code, message, draft.expression_for(loc) or fallback)


def _value_at(data: Any, loc: Loc) -> Any:
    for key in loc:
        if key == "__root__":
            continue
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _without_value(message: str, value: Any) -> str:
    # Neither pydantic echoes a whole input today; this keeps it so if a message ever does.
    if isinstance(value, str) and value and value in message:
        return message.replace(value, "…")
    return message


def _unknown_resource_types(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, dict):
        kind = value.get("resourceType")
        if kind is not None and not _is_resource_type(kind):
            yield f"{path}.resourceType"
        for key, child in value.items():
            yield from _unknown_resource_types(child, f"{path}.{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _unknown_resource_types(child, f"{path}[{index}]")


def _is_resource_type(kind: object) -> bool:
    if not isinstance(kind, str):
        return False
    try:
        get_fhir_model_class(kind)
    except KeyError:
        return False
    return True
