"""Headers, cookies and form tokens for the pages.

The session cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page
can make the browser send it) and Secure unless a plain-HTTP test server turns that off; when
Secure it carries the __Host- prefix, which browsers honour only for a Secure, host-only,
Path=/ cookie, so no subdomain can plant one. Every form also posts a synchronizer token.
"""

import hmac
import secrets
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from broker.settings import WebSettings

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The pages show agreements and override justifications: no cache keeps a copy.
    "Cache-Control": "no-store",
}
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 20
LOGIN_TOKEN_SECONDS = 3600


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def session_cookie(web: WebSettings) -> str:
    return "__Host-imb-session" if web.cookie_secure else "imb-session"


def login_cookie(web: WebSettings) -> str:
    """Holds the sign-in form's token before there is a session (login CSRF)."""
    return "__Host-imb-sign-in" if web.cookie_secure else "imb-sign-in"


def set_cookie(
    response: Response, web: WebSettings, name: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=web.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, web: WebSettings, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=web.cookie_secure, httponly=True, samesite="strict"
    )


def new_form_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form; anything else reads as an empty form, which then
    fails its token check."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        return {}
    return dict(pairs)
