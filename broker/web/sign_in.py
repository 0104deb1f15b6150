"""/login and /logout."""

import math

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from broker.api.access_log import remember_person
from broker.api.deps import RuntimeDep, SessionDep
from broker.errors import Forbidden
from broker.ratelimits.policies import client_address, sign_in_limit
from broker.runtime import Runtime
from broker.users.roles import home_page
from broker.users.service import SignInRefused, sign_in, sign_out, signed_in
from broker.web.deps import FORM_EXPIRED, FormDep, PersonDep
from broker.web.pages import WebRoute
from broker.web.security import (
    LOGIN_TOKEN_SECONDS,
    clear_cookie,
    login_cookie,
    new_form_token,
    read_form,
    session_cookie,
    set_cookie,
    tokens_match,
)
from broker.web.templates import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
REFUSED = "The username or password is not right, or the account is disabled."
SIGNED_OUT = "You have signed out."


@router.get("/login")
async def login_page(
    request: Request, rt: RuntimeDep, session: SessionDep, done: str | None = None
) -> Response:
    token = request.cookies.get(session_cookie(rt.settings.web))
    person = await signed_in(session, rt, token) if token else None
    if person is not None:
        remember_person(request.scope, str(person.user.id), person.user.agency_code)
        return RedirectResponse(home_page(person.user.role), status_code=303)
    flash = SIGNED_OUT if done == "signed-out" else None
    return _login_form(rt, flash=flash)


@router.post("/login")
async def login(request: Request, rt: RuntimeDep, session: SessionDep) -> Response:
    # Counted before anything else, so that a flood from one address costs no scrypt work.
    await rt.limiter.charge(sign_in_limit(rt), client_address(request))
    fields = await read_form(request)
    expected = request.cookies.get(login_cookie(rt.settings.web))
    if not tokens_match(expected, fields.get("csrf_token")):
        raise Forbidden(FORM_EXPIRED)
    username = fields.get("username", "").strip().lower()
    issued = await sign_in(session, rt, username, fields.get("password", ""))
    await session.commit()  # the sign-in or its refusal, with its audit record
    if isinstance(issued, SignInRefused):
        return _refused(rt, issued, username)
    user = issued.signed_in.user
    remember_person(request.scope, str(user.id), user.agency_code)
    response = RedirectResponse(home_page(user.role), status_code=303)
    web = rt.settings.web
    set_cookie(response, web, session_cookie(web), issued.token)
    clear_cookie(response, web, login_cookie(web))
    return response


@router.post("/logout")
async def logout(
    rt: RuntimeDep, session: SessionDep, person: PersonDep, _form: FormDep
) -> Response:
    sign_out(session, person, rt.clock())
    await session.commit()
    response = RedirectResponse("/login?done=signed-out", status_code=303)
    clear_cookie(response, rt.settings.web, session_cookie(rt.settings.web))
    return response


def _refused(rt: Runtime, refused: SignInRefused, username: str) -> Response:
    if refused.locked_until is None:
        return _login_form(rt, error=REFUSED, username=username, status=401)
    wait = max(1, math.ceil((refused.locked_until - rt.clock()).total_seconds()))
    response = _login_form(rt, error=locked_out(wait), username=username, status=429)
    response.headers["Retry-After"] = str(wait)
    return response


def locked_out(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    when = (
        f"{minutes} minute{'s' if minutes != 1 else ''}" if seconds > 60 else f"{seconds} seconds"
    )
    return (
        "Too many failed sign-ins for this username: it is locked for now, and even the right "
        f"password is refused. Try again in {when}, or ask your administrator."
    )


def _login_form(
    rt: Runtime,
    *,
    error: str | None = None,
    flash: str | None = None,
    username: str = "",
    status: int = 200,
) -> Response:
    token = new_form_token()
    response = render(
        "login.html",
        status=status,
        title="Sign in",
        login_token=token,
        error=error,
        flash=flash,
        username=username,
    )
    web = rt.settings.web
    set_cookie(response, web, login_cookie(web), token, max_age=LOGIN_TOKEN_SECONDS)
    return response
