"""RFC 9457 problem details: the one place where errors become HTTP responses."""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from broker.errors import BrokerError, Unauthenticated
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
    body = {
        "type": f"urn:imb:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extra,
    }
    return JSONResponse(
        body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {})
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
    path = list(loc)
    if len(path) > 1 and path[0] == "body" and path[1] in _TAGS:
        del path[1]
    return path


async def _broker_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BrokerError)
    extra: dict[str, Any] = {}
    errors = getattr(exc, "errors", None)
    if errors:
        extra["errors"] = [{"loc": list(e.loc), "msg": e.msg} for e in errors]
    headers = dict(getattr(exc, "headers", None) or {})
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return problem(
        exc.status, exc.title, exc.detail, exc.slug, instance_of(request.scope), headers, **extra
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": field_path(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()
    ]
    return problem(
        422,
        "Unprocessable request",
        "the request does not match the contract; see errors",
        "invalid-input",
        instance_of(request.scope),
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return problem(
        exc.status_code,
        str(exc.detail),
        str(exc.detail),
        slug,
        instance_of(request.scope),
        exc.headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BrokerError, _broker_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
