"""One access line per HTTP request, saying what an operator needs and nothing more.

The route's template stands for the path (`/v1/subjects/{nhs_number}/consents`, never the
number itself) and the query string is left out, since either can hold a person's details.
The caller is named by client id and agency code, noted by authentication
(`remember_caller`), never by its token.
"""

import re
import time
import uuid
from typing import Any

from starlette.types import Scope

from broker.logs import get_logger

log = get_logger("imb.access")
REQUEST_ID_HEADER = b"x-request-id"
UNMATCHED_ROUTE = "<unmatched>"
_CALLER = "imb.caller"
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
# A caller's own request id is reused unless it holds a run of digits as long as an NHS
# number's: what a client puts there is copied into every line about its request.
_NUMBER_LIKE = re.compile(r"\d{10}")


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-ID if it is well formed, or a new one."""
    for name, value in scope.get("headers", []):
        if name.lower() == REQUEST_ID_HEADER:
            offered: str = value.decode("latin-1")
            if _WELL_FORMED_ID.fullmatch(offered) and not _NUMBER_LIKE.search(offered):
                return offered
    return uuid.uuid4().hex


def remember_caller(scope: Scope, client_id: str, agency: str) -> None:
    """Noted once the caller has authenticated, for its request's access line."""
    scope[_CALLER] = (client_id, agency)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


def access_fields(scope: Scope, status: int, began: float, request_id: str) -> dict[str, Any]:
    client_id, agency = scope.get(_CALLER, (None, None))
    return {
        "method": scope.get("method"),
        "route": route_template(scope),
        "status": status,
        "duration_ms": round((time.perf_counter() - began) * 1000, 1),
        "client_id": client_id,
        "agency": agency,
        "request_id": request_id,
    }


def log_access(scope: Scope, status: int, began: float, request_id: str) -> None:
    log.info("http.request", **access_fields(scope, status, began, request_id))
