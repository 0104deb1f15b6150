"""POST /oauth/token: OAuth 2.0 client credentials (RFC 6749 §4.4).

Errors here follow RFC 6749 §5.2 (`{"error": ...}`), not problem details, because OAuth
client libraries expect that shape from a token endpoint.
"""

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from broker.agencies.service import authenticate_client
from broker.api.deps import RuntimeDep, SessionDep

router = APIRouter(tags=["auth"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class _Credentials:
    client_id: str
    secret: str
    basic: bool


class _OAuthError(Exception):
    def __init__(self, error: str, status: int = 400, description: str = "") -> None:
        self.error, self.status, self.description = error, status, description


def _form(body: bytes) -> dict[str, str]:
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if any(len(values) > 1 for values in fields.values()):
        raise _OAuthError("invalid_request", description="parameters must not repeat")
    return {name: values[0] for name, values in fields.items()}


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _OAuthError("invalid_client", 401, "malformed basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _OAuthError("invalid_client", 401, "malformed basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote(client_id), unquote(secret)


def _credentials(request: Request, form: dict[str, str]) -> _Credentials:
    basic = _basic(request.headers.get("authorization", ""))
    posted = "client_secret" in form
    if basic and posted:
        raise _OAuthError("invalid_request", description="use one client authentication method")
    if basic:
        return _Credentials(basic[0], basic[1], basic=True)
    if posted and form.get("client_id"):
        return _Credentials(form["client_id"], form["client_secret"], basic=False)
    raise _OAuthError("invalid_client", 401, "client authentication is required")


def _granted_scopes(requested: str | None, allowed: set[str]) -> list[str]:
    if requested is None or not requested.strip():
        return sorted(allowed)
    wanted = set(requested.split())
    if not wanted <= allowed:
        raise _OAuthError("invalid_scope", description="a requested scope is not granted")
    return sorted(wanted)


@router.post("/oauth/token", summary="Obtain an access token (client credentials)")
async def issue_token(request: Request, rt: RuntimeDep, session: SessionDep) -> JSONResponse:
    try:
        form = _form(await request.body())
        credentials = _credentials(request, form)
        if form.get("grant_type") != "client_credentials":
            raise _OAuthError("unsupported_grant_type", description="only client_credentials")
        client = await authenticate_client(session, credentials.client_id, credentials.secret)
        if client is None:
            raise _OAuthError("invalid_client", 401, "unknown client or wrong secret")
        scopes = _granted_scopes(form.get("scope"), set(client.scopes.split()))
    except _OAuthError as exc:
        return _error(exc, basic="basic" in request.headers.get("authorization", "").lower())
    token, expires_in = rt.tokens.issue(client.client_id, client.agency_code, scopes)
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": " ".join(scopes),
    }
    return JSONResponse(body, headers=_NO_STORE)


def _error(exc: _OAuthError, basic: bool) -> JSONResponse:
    headers = dict(_NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="imb"' if basic else "Bearer"
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)
