"""FHIRPath expressions into submitted content that never repeat what was submitted.

A parser's error location can hold a key the client sent rather than an element FHIR defines
(an NHS number sent as a key, say). Every step of an expression is therefore an element name,
a resource type or an index; any other step is shown as `*`.
"""

import re

HIDDEN = "*"
# A JSON element name (`_` for a primitive's extensions), or a resource type at the root.
_NAME = re.compile(r"_?[a-z][A-Za-z0-9]*(\[x\])?|[A-Z][A-Za-z]+")
_STEP = re.compile(r"(?P<name>[^.\[\]]+(\[x\])?)(?P<indexes>(\[[0-9]+\])*)")


def step(key: str | int) -> str:
    """One step of a location as it is written after the previous one."""
    if isinstance(key, int):
        return f"[{key}]"
    return "." + (key if _NAME.fullmatch(key) else HIDDEN)


def safe_expression(expression: str) -> str:
    """The expression with every step that is not a FHIR name or an index shown as `*`."""
    return ".".join(_safe_step(part) for part in expression.split("."))


def _safe_step(part: str) -> str:
    found = _STEP.fullmatch(part)
    if found is None or not _NAME.fullmatch(found["name"]):
        return HIDDEN
    return found["name"] + found["indexes"]
