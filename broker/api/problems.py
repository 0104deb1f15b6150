"""RFC 9457 problem details: the one place where errors become HTTP responses."""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from broker.errors import BrokerError, Unauthenticated
from broker.extensions import extensions
from schemas.vocabulary import EventType

PROBLEM_JSON = "application/problem+json"
_DIGIT = re.compile(r"[0-9]")
_TAGS = {t.value for t in EventType}


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    instance: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, title, detail, slug, instance, **extra)
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
    )


def problem_body(
    status: int, title: str, detail: str, slug: str, instance: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": f"urn:imb:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }


def error_problem(
    error: BrokerError, instance: str, at: Sequence[str | int] = ()
) -> dict[str, Any]:
    """The problem details of an error, its field locations under `at` (("body",) for a
    request body, ("body", "events", 3) for a batch's fourth event)."""
    extra: dict[str, Any] = {}
    errors = getattr(error, "errors", None)
    if errors:
        extra["errors"] = [{"loc": [*at, *e.loc], "msg": e.msg} for e in errors]
    return problem_body(error.status, error.title, error.detail, error.slug, instance, **extra)


def validation_problem(
    errors: Sequence[Mapping[str, Any]], instance: str, at: Sequence[str | int] = ()
) -> dict[str, Any]:
    """A 422 for pydantic's errors, located under `at`."""
    located = [
        {"loc": [*at, *without_tag(e["loc"])], "msg": e["msg"], "type": e["type"]} for e in errors
    ]
    return problem_body(
        422,
        "Unprocessable request",
        "the request does not match the contract; see errors",
        "invalid-input",
        instance,
        errors=located,
    )


def instance_of(scope: Mapping[str, Any]) -> str:
    """The path a problem is about, as its route's template where one matched
    (`/v1/subjects/{nhs_number}/consents`): problems are often logged by the systems that receive
    them, and must not carry the NHS number. An unmatched path keeps only its segments that
    cannot be one (fewer than ten digits)."""
    template = getattr(scope.get("route"), "path", None)
    if isinstance(template, str):
        return template
    path = str(scope.get("path", ""))
    return "/".join(
        "{…}" if len(_DIGIT.findall(segment)) >= 10 else segment for segment in path.split("/")
    )


def field_path(loc: Sequence[str | int]) -> list[str | int]:
    """Drop the discriminator tag pydantic inserts for a tagged union (body.risk.changed.x)."""
    if len(loc) > 1 and loc[0] == "body":
        return ["body", *without_tag(loc[1:])]
    return list(loc)


def without_tag(loc: Sequence[str | int]) -> list[str | int]:
    """An event's field location without the event type pydantic puts first."""
    path = list(loc)
    return path[1:] if path and path[0] in _TAGS else path


def answer(
    request: Request, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return answer_at(request.url.path, body, headers)


def answer_at(
    path: str, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The problem as the response; under a path an extension speaks for (/fhir/), in the body
    that extension gives it (an OperationOutcome), with the same status."""
    status = int(body["status"])
    speaks = extensions().error_body_for(path)
    if speaks is not None:
        return JSONResponse(
            speaks.render(body), status, media_type=speaks.media_type, headers=dict(headers or {})
        )
    return JSONResponse(body, status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


async def _broker_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BrokerError)
    headers = dict(getattr(exc, "headers", None) or {})
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return answer(request, error_problem(exc, instance_of(request.scope)), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{**e, "loc": field_path(e["loc"])} for e in exc.errors()]
    return answer(request, validation_problem(errors, instance_of(request.scope)))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = str(exc.detail)
    body = problem_body(exc.status_code, detail, detail, slug, instance_of(request.scope))
    return answer(request, body, exc.headers)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BrokerError, _broker_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
