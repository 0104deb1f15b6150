"""The OpenAPI document as integrators and fuzzers need it: every problem an operation can
answer (RFC 9457, `application/problem+json`), the security each one needs (a bearer token,
or OAuth2 client credentials with the scopes, so /docs has a working Authorize button), and the
token endpoint's own form and answers.

FastAPI writes the document from the routes; what it cannot know (which dependency demands
which scopes, that errors are problem details) is added here from the routes' dependencies, so
a new route gets its entries without anyone remembering to add them.
"""

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from broker.api.examples import Example, request_examples
from broker.extensions import ErrorBody, extensions
from schemas.vocabulary import Scope

PROBLEM_JSON = "application/problem+json"
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "urn:imb:problem:<kind>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "for 422: each field that broke the contract, by its path",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
OAUTH_ERROR = {
    "type": "object",
    "description": "RFC 6749 §5.2",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
TOKEN = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "scope"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    },
}
REASONS = {
    400: "The request is malformed",
    401: "No valid access token (or a token bound to a certificate not presented)",
    403: "The token lacks the scope this needs",
    404: "Absent, or another agency's: the answer does not say which",
    408: "The body did not arrive within the time allowed",
    409: "A conflict: a second acknowledgement, an idempotency clash, a standing refusal",
    413: "The body is over the size limit",
    422: "The request breaks the contract; `errors` names each field",
    429: "Over a rate limit, or locked out: see Retry-After, RateLimit-Policy and RateLimit",
    500: "An error nobody foresaw; nothing to retry differently",
    503: "The database cannot be reached now; nothing was written: try again after Retry-After",
}
# Operations that answer without the database (/readyz says 503 in its own body).
WITHOUT_DATABASE = {"/", "/healthz", "/readyz"}
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "oauth2": {
        "type": "oauth2",
        "description": "Client credentials; production clients use private_key_jwt or mTLS",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "/oauth/token",
                "scopes": {scope.value: scope.name.lower().replace("_", " ") for scope in Scope},
            }
        },
    },
}


def contract(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The `openapi()` the application serves: built once, then kept."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            _complete(document, app)
            app.openapi_schema = document
        return app.openapi_schema

    return openapi


def _complete(document: dict[str, Any], app: FastAPI) -> None:
    components = document.setdefault("components", {})
    components.setdefault("schemas", {}).update(
        {"Problem": PROBLEM, "OAuthError": OAUTH_ERROR, "Token": TOKEN}
    )
    components["securitySchemes"] = SECURITY_SCHEMES
    for speaks in extensions().error_bodies:
        components["schemas"][speaks.schema_name] = dict(speaks.schema)
    examples = request_examples()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path = context.path_format or route.path_format
        for method in context.methods or ():
            operation = document["paths"][path][method.lower()]
            _describe(operation, route, path, method)
            _exemplify(operation, examples.get((method, path), {}))


def _describe(operation: dict[str, Any], route: APIRoute, path: str, method: str) -> None:
    guard = _guard(route.dependant)
    if path == "/oauth/token":
        _token_endpoint(operation)
    responses = operation.setdefault("responses", {})
    statuses = {422, 500}
    if method in {"POST", "PUT", "PATCH"}:
        statuses |= {400, 408, 409, 413}
    if guard is not None:
        statuses |= {401, 404, 429} | ({403} if guard else set())
        operation["security"] = [{"oauth2": sorted(guard)}, {"bearer": []}]
    if path == "/oauth/token":
        statuses = {408, 413, 429, 500}
    if path not in WITHOUT_DATABASE:
        statuses.add(503)
    speaks = extensions().error_body_for(path)
    for status in sorted(statuses):
        responses[str(status)] = _problem(status) if speaks is None else _error_body(status, speaks)


def _exemplify(operation: dict[str, Any], examples: dict[str, Example]) -> None:
    """Examples beside each of the body's media types (a copy: the token endpoint's body is
    a module constant)."""
    body = operation.get("requestBody")
    if body is None or not examples:
        return
    content = {media: {**spec, "examples": examples} for media, spec in body["content"].items()}
    operation["requestBody"] = {**body, "content": content}


def _token_endpoint(operation: dict[str, Any]) -> None:
    oauth_error = {"application/json": {"schema": {"$ref": "#/components/schemas/OAuthError"}}}
    operation["responses"] = {
        "200": {
            "description": "An access token",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Token"}}},
        },
        "400": {
            "description": "invalid_request, invalid_scope, unsupported_grant_type",
            "content": oauth_error,
        },
        "401": {"description": "invalid_client", "content": oauth_error},
    }


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": REASONS[status],
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _error_body(status: int, speaks: ErrorBody) -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{speaks.schema_name}"}
    return {"description": REASONS[status], "content": {speaks.media_type: {"schema": schema}}}


def _guard(dependant: Dependant) -> set[str] | None:
    """The scopes an operation admits (any one of them), an empty set for any valid token, or
    None for an operation that needs no token."""
    found: set[str] | None = None
    for call in _calls(dependant):
        scopes = getattr(call, "imb_scopes", None)
        if scopes is not None:
            found = (found or set()) | set(scopes)
        elif getattr(call, "imb_authenticates", False):
            found = found or set()
    return found


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)
