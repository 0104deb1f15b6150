"""Issues as a FHIR OperationOutcome: how every refusal of FHIR input is answered."""

from collections.abc import Sequence
from typing import Any

from adapters.fhir.errors import Issue


def operation_outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [_issue(issue) for issue in issues]}


def _issue(issue: Issue) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "severity": "error",
        "code": issue.code,
        "diagnostics": issue.diagnostics,
    }
    if issue.expression is not None:
        entry["expression"] = [issue.expression]
    return entry
