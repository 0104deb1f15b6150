"""What the FHIR mapping refuses, as FHIR OperationOutcome issues.

    FhirInputError        submitted FHIR content IMB cannot take, with one Issue per problem
    FhirOutputError       IMB content that has no FHIR form (a non-delivery report)

Every issue's `diagnostics` is written here or by pydantic and names elements, never values:
an NHS number or a person's free text must not reach a response or a log. Every `expression`
is made safe here too, whoever wrote it (expressions.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from adapters.fhir.expressions import safe_expression

IssueType = Literal[
    "invalid",
    "structure",
    "required",
    "value",
    "code-invalid",
    "not-supported",
    "not-found",
    "business-rule",
    "login",
    "forbidden",
    "duplicate",
    "too-long",
    "throttled",
    "transient",
    "processing",
    "informational",
]


@dataclass(frozen=True)
class Issue:
    code: IssueType
    diagnostics: str
    expression: str | None = None


class FhirError(ValueError):
    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(issue.diagnostics for issue in issues))
        self.issues = tuple(_safely_located(issue) for issue in issues)


class FhirInputError(FhirError):
    """Submitted FHIR content refused; each issue points into it by a FHIRPath expression."""


class FhirOutputError(FhirError):
    """IMB content that this mapping cannot express in FHIR."""


def refuse(code: IssueType, diagnostics: str, expression: str | None = None) -> FhirInputError:
    return FhirInputError([Issue(code, diagnostics, expression)])


def _safely_located(issue: Issue) -> Issue:
    if issue.expression is None:
        return issue
    return replace(issue, expression=safe_expression(issue.expression))
