"""IMB's FHIR R4 adapter plugged into the broker (`imb.extensions`, broker/extensions.py):
the /fhir/R4 routes, deliveries in FHIR (`Accept: application/fhir+json`, channel format
`fhir`), and every error under /fhir/ as an OperationOutcome."""

from collections.abc import Mapping
from typing import Any

from adapters.fhir.deliveries import bundle_for_delivery
from adapters.fhir.errors import FhirOutputError, Issue, IssueType
from adapters.fhir.expressions import safe_expression
from adapters.fhir.outcomes import operation_outcome
from broker.extensions import (
    DeliveryFormat,
    DeliveryToRender,
    ErrorBody,
    Extensions,
    NotRenderable,
)

FHIR_JSON = "application/fhir+json"


def register(extensions: Extensions) -> None:
    from adapters.fhir.routes import router  # the routes need the broker's API, loaded here

    extensions.routers.append(router)
    extensions.delivery_formats["fhir"] = DeliveryFormat("fhir", FHIR_JSON, delivery_bundle)
    extensions.error_bodies.append(
        ErrorBody("/fhir/", FHIR_JSON, outcome_of_problem, "OperationOutcome", OUTCOME_SCHEMA)
    )


# The shape of what IMB answers (OpenAPI): FHIR's own definition is at hl7.org/fhir/R4.
OUTCOME_SCHEMA = {
    "type": "object",
    "description": "a FHIR R4 OperationOutcome: one issue per problem, each with its "
    "FHIRPath expression into what was sent",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def delivery_bundle(delivery: DeliveryToRender) -> dict[str, Any]:
    """The delivery as the FHIR message its recipient receives, its Provenance naming the
    agreement version and the lawful bases the decision rested on."""
    decision = delivery.decision
    if decision.get("agreement_id") is None or decision.get("agreement_version") is None:
        raise NotRenderable(f"a {delivery.content['type']} rests on no agreement")
    try:
        return bundle_for_delivery(
            delivery.content,
            recipient=delivery.recipient,
            agreement_id=decision["agreement_id"],
            agreement_version=int(decision["agreement_version"]),
            lawful_bases=lawful_bases(decision.get("bases") or []),
            timestamp=delivery.at,
        )
    except FhirOutputError as exc:
        raise NotRenderable(str(exc)) from exc


def lawful_bases(codes: list[str]) -> dict[str, Any]:
    """A decision's basis codes (`art6:public_task`, `dpa_sch1:para_6`, `gateway:…`) as the
    agreement's lawful basis fields."""
    bases: dict[str, Any] = {"statutory_gateways": []}
    for code in codes:
        kind, _, value = code.partition(":")
        if kind in ("art6", "art9", "confidentiality"):
            bases[kind] = value
        elif kind == "dpa_sch1":
            bases["dpa_sch1_para"] = value.removeprefix("para_")
        elif kind == "gateway":
            bases["statutory_gateways"].append(value)
    return bases


_ISSUE_CODES: dict[int, IssueType] = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "duplicate",
    413: "too-long",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}


def outcome_of_problem(problem: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 9457 problem details as an OperationOutcome: one issue per field error, each
    pointing at its field, or one for the whole problem."""
    code: IssueType = _ISSUE_CODES.get(int(problem["status"]), "processing")
    errors = problem.get("errors") or []
    issues = [
        Issue(code, str(e.get("detail") or e.get("msg") or problem["detail"]), _where(e))
        for e in errors
        if isinstance(e, Mapping)
    ] or [Issue(code, str(problem["detail"]))]
    return operation_outcome(issues)


def _where(error: Mapping[str, Any]) -> str | None:
    """The field the problem names, with nothing of the caller's own text in it."""
    pointer = error.get("pointer") or error.get("loc")
    if isinstance(pointer, list):
        return safe_expression(".".join(str(part) for part in pointer)) or None
    return safe_expression(str(pointer)) if pointer else None
