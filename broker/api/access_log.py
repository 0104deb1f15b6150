"""One access line per HTTP request, saying what an operator needs and nothing more.

The route's template stands for the path (`/v1/subjects/{nhs_number}/consents`, never the
number itself) and the query string is left out, since either can hold a person's details.
The caller is named by client id and agency code, noted by authentication
(`remember_caller`), never by its token; a person signed in to the web pages by their agency
code and account id (`remember_person`), never their username, which is their name.
"""

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from broker.logs import get_logger

log = get_logger("imb.access")
REQUEST_ID_HEADER = b"x-request-id"
UNMATCHED_ROUTE = "<unmatched>"
_CALLER = "imb.caller"
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)
# What a client puts in its request id is copied into every line about its request and echoed
# back, so an id that could spell an NHS number (ten digits, however separated) is replaced.
# A UUID is the exception: its 32 hex digits are random, not someone's number.
_DIGITS_OF_AN_NHS_NUMBER = 10


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID if it is well formed, or a new one."""
    for name, value in scope.get("headers", []):
        if name.lower() == REQUEST_ID_HEADER:
            offered: str = value.decode("latin-1")
            if _acceptable_request_id(offered):
                return offered
    return uuid.uuid4().hex


def _acceptable_request_id(offered: str) -> bool:
    if not _WELL_FORMED_ID.fullmatch(offered):
        return False
    if _CANONICAL_UUID.fullmatch(offered):
        return True
    return sum(character.isdigit() for character in offered) < _DIGITS_OF_AN_NHS_NUMBER


@dataclass(frozen=True)
class _Caller:
    client_id: str | None = None
    agency: str | None = None
    user_id: str | None = None


_NOBODY = _Caller()


def remember_caller(scope: Scope, client_id: str, agency: str) -> None:
    """Noted once a client has authenticated, for its request's access line."""
    scope[_CALLER] = _Caller(client_id=client_id, agency=agency)


def remember_person(scope: Scope, user_id: str, agency: str) -> None:
    """Noted once a person's web session is found, for their request's access line."""
    scope[_CALLER] = _Caller(agency=agency, user_id=user_id)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


def access_fields(scope: Scope, status: int, began: float, request_id: str) -> dict[str, Any]:
    caller: _Caller = scope.get(_CALLER, _NOBODY)
    return {
        "method": scope.get("method"),
        "route": route_template(scope),
        "status": status,
        "duration_ms": round((time.perf_counter() - began) * 1000, 1),
        "client_id": caller.client_id,
        "user_id": caller.user_id,
        "agency": caller.agency,
        "request_id": request_id,
    }


def log_access(scope: Scope, status: int, began: float, request_id: str) -> None:
    log.info("http.request", **access_fields(scope, status, began, request_id))
