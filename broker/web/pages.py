"""The route class of every page: errors become HTML pages (not problem details), a missing
or stale session becomes a redirect to the sign-in page, and every answer carries the
security headers."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from broker.errors import BrokerError, InvalidInput, NotFound
from broker.users.roles import home_page
from broker.web.page_times import PAGE_ZONE
from broker.web.security import add_security_headers, clear_cookie, session_cookie
from broker.web.templates import render

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
NOT_FOUND_MESSAGE = "There is no such page, or it belongs to another agency."
TITLES = {
    403: "Not allowed",
    404: "Not found",
    409: "Already done",
    422: "Not accepted",
    429: "Too many attempts",
}


class SignInRequired(Exception):
    """No live session: the person has to sign in (again)."""


class WebRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            zone = PAGE_ZONE.set(request.app.state.runtime.settings.web.zone)
            try:
                return add_security_headers(await _answer(handler, request))
            finally:
                PAGE_ZONE.reset(zone)

        return page


async def _answer(handler: Handler, request: Request) -> Response:
    try:
        return await handler(request)
    except SignInRequired:
        response = RedirectResponse("/login", status_code=303)
        clear_cookie(response, request.app.state.runtime.settings.web, _cookie(request))
        return response
    except BrokerError as exc:
        return error_page(request, exc)
    except RequestValidationError:
        # Every page parameter is in the path: one that does not parse names nothing.
        return error_page(request, NotFound(NOT_FOUND_MESSAGE))


def _cookie(request: Request) -> str:
    return session_cookie(request.app.state.runtime.settings.web)


def error_page(request: Request, exc: BrokerError) -> Response:
    message = NOT_FOUND_MESSAGE if isinstance(exc, NotFound) else exc.detail
    if isinstance(exc, InvalidInput) and exc.errors:
        message += ": " + "; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in exc.errors)
    person = getattr(request.state, "person", None)
    page = render(
        "error.html",
        status=exc.status,
        title=TITLES.get(exc.status, exc.title),
        message=message,
        person=person,
        home=home_page(person.user.role) if person is not None else "/login",
    )
    page.headers.update(getattr(exc, "headers", None) or {})
    return page
