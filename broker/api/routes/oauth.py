"""POST /oauth/token: OAuth 2.0 client credentials (RFC 6749 §4.4).

The client proves itself by one of the methods of broker.auth.client_auth. A token asked for
over mutual TLS is bound to the certificate (RFC 8705 §3: `cnf.x5t#S256`), and is then refused
on any request that does not present that certificate.

Errors here follow RFC 6749 §5.2 (`{"error": ...}`), not problem details, because OAuth
client libraries expect that shape from a token endpoint.
"""

import base64
import binascii
from urllib.parse import parse_qs, unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from broker.api.deps import RuntimeDep, SessionDep
from broker.auth.certificates import peer_certificate, thumbprint
from broker.auth.client_auth import (
    ClientAuthFailed,
    Presented,
    assertion_subject,
    authenticate_client,
)
from broker.auth.tokens import Grant
from broker.ratelimits.policies import client_address, token_limits

router = APIRouter(tags=["auth"])
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TOKEN_PATH = "/oauth/token"  # noqa: S105 (a path, not a secret)
FORM = "application/x-www-form-urlencoded"


def _form(content_type: str, body: bytes) -> dict[str, str]:
    # RFC 6749 §4.4.2: the request is form-encoded. A JSON body would otherwise read as a
    # form naming no client, and be refused as invalid_client, which misleads its author.
    if body and content_type.split(";")[0].strip().lower() != FORM:
        raise ClientAuthFailed(f"the body must be form-encoded ({FORM})", "invalid_request", 400)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if any(len(values) > 1 for values in fields.values()):
        raise ClientAuthFailed("parameters must not repeat", "invalid_request", 400)
    return {name: values[0] for name, values in fields.items()}


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ClientAuthFailed("malformed basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise ClientAuthFailed("malformed basic credentials")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return unquote(client_id), unquote(secret)


def claimed_client_id(form: dict[str, str], authorization: str) -> str:
    """Whom the request says it is, before anything is verified: what its calls count as."""
    try:
        basic = _basic(authorization)
    except ClientAuthFailed:
        basic = None
    if basic is not None:
        return basic[0][:64]
    if form.get("client_id"):
        return form["client_id"][:64]
    return assertion_subject(form.get("client_assertion", ""))[:64] or "anonymous"


def _granted_scopes(requested: str | None, allowed: set[str]) -> list[str]:
    if requested is None or not requested.strip():
        return sorted(allowed)
    wanted = set(requested.split())
    if not wanted <= allowed:
        raise ClientAuthFailed("a requested scope is not granted", "invalid_scope", 400)
    return sorted(wanted)


# The form, for the contract and /docs; the body is read as it came, so that a repeated
# parameter is refused rather than silently resolved.
_FIELDS = {
    "grant_type": {"type": "string", "enum": ["client_credentials"]},
    "scope": {"type": "string", "description": "space-separated; default: all granted"},
    "client_id": {"type": "string"},
    "client_secret": {"type": "string", "description": "development only"},
    "client_assertion_type": {
        "type": "string",
        "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
    },
    "client_assertion": {"type": "string", "description": "private_key_jwt (RFC 7523)"},
}
TOKEN_REQUEST = {
    "required": True,
    "content": {
        FORM: {"schema": {"type": "object", "required": ["grant_type"], "properties": _FIELDS}}
    },
}


def token_url(rt: RuntimeDep) -> str:
    """The audience a private_key_jwt assertion names: this endpoint at the public address."""
    return rt.settings.public_base_url.rstrip("/") + TOKEN_PATH


@router.post(
    TOKEN_PATH,
    summary="Obtain an access token (client credentials)",
    openapi_extra={"security": [], "requestBody": TOKEN_REQUEST},
)
async def issue_token(request: Request, rt: RuntimeDep, session: SessionDep) -> JSONResponse:
    """Client credentials. Authenticate with `private_key_jwt` (a signed assertion), with a
    client certificate over mutual TLS (`tls_client_auth`), or, in development, with the client
    secret (HTTP Basic or the form)."""
    per_client, per_address = token_limits(rt)
    address = client_address(request)
    await rt.limiter.charge(per_address, address)
    authorization = request.headers.get("authorization", "")
    try:
        form = _form(request.headers.get("content-type", ""), await request.body())
        # Counted per claimed client *and* address: a partner that knows another agency's
        # client id cannot use it up from its own address and lock that client out.
        await rt.limiter.charge(per_client, claimed_client_id(form, authorization), address)
        certificate = peer_certificate(request.scope, rt.settings)
        presented = Presented(form, _basic(authorization), certificate)
        if not presented.names_a_client:
            raise ClientAuthFailed("client authentication is required")
        if form.get("grant_type") != "client_credentials":
            raise ClientAuthFailed("only client_credentials", "unsupported_grant_type", 400)
        client = await authenticate_client(session, rt, presented, token_url(rt))
        scopes = _granted_scopes(form.get("scope"), set(client.scopes.split()))
    except ClientAuthFailed as exc:
        return _error(exc, basic="basic" in authorization.lower())
    await session.commit()  # the assertion's jti, so that it is never accepted again
    bound = thumbprint(certificate) if certificate is not None else None
    grant = Grant(client.client_id, client.agency_code, scopes, client.credentials_version, bound)
    token, expires_in = rt.tokens.issue(grant)
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "scope": " ".join(scopes),
    }
    return JSONResponse(body, headers=_NO_STORE)


def _error(exc: ClientAuthFailed, basic: bool) -> JSONResponse:
    headers = dict(_NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="imb"' if basic else "Bearer"
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=headers)
