"""Every response counted, logged (`broker.api.access_log`) and given the headers that keep it
out of caches and sniffers and name its request id, every unexpected error turned into a
problem-details 500, and a database out of reach into a 503 with Retry-After (`broker.outages`),
as plain ASGI middleware (cheap)."""

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.api.access_log import REQUEST_ID_HEADER, log_access, request_id_of, route_template
from broker.api.problems import answer_at, error_problem, instance_of, problem_body
from broker.logs import traceback_without_messages
from broker.metrics import Metrics
from broker.outages import outage_of, unavailable

log = logging.getLogger("imb.api")
# Two years, the value browsers' preload lists ask for.
HSTS = b"max-age=63072000; includeSubDomains"


class ObserveResponses:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, request_id = time.perf_counter(), request_id_of(scope)
        started, status = False, 500

        async def observed(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                self.metrics.http_requests.labels(scope["method"], str(status)).inc()
                message = {**message, "headers": _guarded(message, scope, request_id)}
            await send(message)

        try:
            await self.app(scope, receive, observed)
        except Exception as exc:
            outage = outage_of(exc)
            if outage is None:
                _log_unexpected(scope, exc)
            else:
                _log_outage(scope, exc, outage)
            if started:
                raise  # the status line has gone; only dropping the connection is left
            failure = _internal_error(scope) if outage is None else _unavailable(scope, outage)
            await failure(scope, receive, observed)
        finally:
            log_access(scope, status, began, request_id)


def _guarded(message: Message, scope: Scope, request_id: str) -> list[tuple[bytes, bytes]]:
    headers = [
        (name, value)
        for name, value in message.get("headers", [])
        if name.lower() != REQUEST_ID_HEADER
    ]
    headers.append((REQUEST_ID_HEADER, request_id.encode()))
    present = {name.lower() for name, _ in headers}
    if b"cache-control" not in present:
        # Responses may carry personal data: no cache along the way may keep them.
        headers.append((b"cache-control", b"no-store"))
    if b"x-content-type-options" not in present:
        headers.append((b"x-content-type-options", b"nosniff"))
    if scope.get("scheme") == "https" and b"strict-transport-security" not in present:
        headers.append((b"strict-transport-security", HSTS))
    return headers


def _log_unexpected(scope: Scope, exc: Exception) -> None:
    # The route's template, never the path (which may hold an NHS number); the traceback as
    # types and frames, never messages, rendered here so that no other logging set-up (a
    # host embedding the app, a test's capture) can print the message after all.
    route = route_template(scope)
    frames = traceback_without_messages((type(exc), exc, exc.__traceback__))
    log.error("unexpected %s on %s %s\n%s", type(exc).__name__, scope["method"], route, frames)


def _log_outage(scope: Scope, exc: Exception, outage: str) -> None:
    # An outage needs no frames: what could not be reached, and the error's type, say it all.
    route = route_template(scope)
    log.warning(
        "%s on %s %s (%s): answered 503", outage, scope["method"], route, type(exc).__name__
    )


def _unavailable(scope: Scope, outage: str) -> ASGIApp:
    error = unavailable(outage)
    body = error_problem(error, instance_of(scope))
    return answer_at(scope.get("path", ""), body, error.headers)


def _internal_error(scope: Scope) -> ASGIApp:
    body = problem_body(
        500,
        "Internal error",
        "the broker could not complete the request; the error is logged for its operators",
        "internal",
        instance_of(scope),
    )
    return answer_at(scope.get("path", ""), body)
