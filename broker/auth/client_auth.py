"""How a client proves itself at the token endpoint.

- `private_key_jwt` (RFC 7523 §2.2, as in SMART Backend Services): an assertion signed with
  the client's private key, `iss` = `sub` = its client id, `aud` = the token endpoint's URL, a
  short `exp` and a `jti` never seen before. The signature and claims are checked by authlib's
  `JWTBearerClientAssertion`; IMB adds the algorithms it accepts, the longest lifetime, and a
  replay store in the database so that no process accepts a `jti` twice.
- `tls_client_auth` (RFC 8705 §2.1): a certificate from the partnership's client CA, verified
  in the TLS handshake, whose subject is the one registered for the client.
- `client_secret_basic` / `client_secret_post` (RFC 6749 §2.3.1): for development, and
  refused when `IMB_AUTH__ALLOW_CLIENT_SECRET=false`.

A request uses exactly one method (RFC 6749 §2.3).
"""

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from cryptography import x509
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key, KeySet
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from broker.auth.keys import public_keys
from broker.auth.remote_keys import KeySetUnavailable
from broker.auth.secrets import DUMMY_SECRET_HASH, verify_client_secret
from broker.db.models import Client, ClientAssertionId
from broker.db.upsert import insert_if_absent
from broker.runtime import Runtime
from schemas.admin import ClientAuthMethod

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# What SMART Backend Services and FAPI clients sign with; never "none", never a shared key.
ALGORITHMS = [
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "Ed25519"),
]
LEEWAY_SECONDS = 30


class ClientAuthFailed(Exception):
    """RFC 6749 §5.2: `error` and a description the client's developer can act on."""

    def __init__(self, description: str, error: str = "invalid_client", status: int = 401):
        super().__init__(description)
        self.description, self.error, self.status = description, error, status


@dataclass(frozen=True)
class Presented:
    """What the token request carries to identify its client."""

    form: Mapping[str, str]
    basic: tuple[str, str] | None
    certificate: x509.Certificate | None

    @property
    def names_a_client(self) -> bool:
        """Whether it carries anything of a client authentication method at all."""
        form = self.form
        return bool(
            self.basic
            or "client_assertion" in form
            or "client_assertion_type" in form
            or "client_secret" in form
            or (self.certificate is not None and form.get("client_id"))
        )


async def authenticate_client(
    session: AsyncSession, rt: Runtime, presented: Presented, token_url: str
) -> Client:
    form = presented.form
    by_assertion = "client_assertion" in form or "client_assertion_type" in form
    by_secret = presented.basic is not None or "client_secret" in form
    if by_assertion and by_secret:
        raise ClientAuthFailed("use one client authentication method", "invalid_request", 400)
    if by_assertion:
        return await _by_assertion(session, rt, form, token_url)
    if by_secret:
        return await _by_secret(session, rt, presented)
    if presented.certificate is not None and form.get("client_id"):
        return await _by_certificate(session, form["client_id"], presented.certificate)
    raise ClientAuthFailed("client authentication is required")


# client_secret_basic and client_secret_post ------------------------------------------------


async def _by_secret(session: AsyncSession, rt: Runtime, presented: Presented) -> Client:
    if not rt.settings.auth.allow_client_secret:
        raise ClientAuthFailed(
            "client secrets are switched off here: use private_key_jwt or tls_client_auth"
        )
    if presented.basic is not None:
        client_id, secret = presented.basic
    else:
        client_id, secret = presented.form.get("client_id", ""), presented.form["client_secret"]
    client = await _client(session, client_id)
    stored = client.secret_hash if client is not None and client.secret_hash else None
    # Compared in constant time even for an unknown id, so the answer takes the same time.
    matches = verify_client_secret(secret, stored or DUMMY_SECRET_HASH)
    if client is None or stored is None or client.revoked_at is not None or not matches:
        raise ClientAuthFailed("unknown client or wrong secret")
    return client


# private_key_jwt ---------------------------------------------------------------------------


class _Assertion(JWTBearerClientAssertion):  # type: ignore[misc]
    """authlib's RFC 7523 verifier, with IMB's audiences, algorithms and lifetime."""

    CLIENT_AUTH_METHOD = ClientAuthMethod.PRIVATE_KEY_JWT.value

    def __init__(self, audiences: list[str], max_lifetime: int) -> None:
        super().__init__(leeway=LEEWAY_SECONDS)
        self._audiences, self._max_lifetime = audiences, max_lifetime
        self.used: tuple[str, int] | None = None

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: "_Candidate") -> KeySet:
        return client.keys

    def process_assertion_claims(self, assertion: str, key: Key | KeySet) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, key, algorithms=ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=exc.description or exc.error) from exc
        except ValueError as exc:  # joserfc, for a key id that matches nothing usable
            raise InvalidClientError(description="no registered key verifies it") from exc
        self.verify_claims(token.claims)
        claims: dict[str, Any] = token.claims
        return claims

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        # Called once the signature and claims hold; whether the jti is new is decided by the
        # database (one row per client and jti) after this returns.
        if int(claims["exp"]) - int(time.time()) > self._max_lifetime + self.leeway:
            raise InvalidClientError(
                description=f"the assertion may live at most {self._max_lifetime} s"
            )
        self.used = (str(jti), int(claims["exp"]))
        return True


@dataclass(frozen=True)
class _Candidate:
    """The client an assertion names, as read before its keys were fetched."""

    client_id: str
    keys: KeySet

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method == ClientAuthMethod.PRIVATE_KEY_JWT.value

    def named(self, client_id: str) -> "_Candidate | None":
        """authlib's query_client: the client was loaded already, by the assertion's sub."""
        return self if client_id == self.client_id else None


async def _by_assertion(
    session: AsyncSession, rt: Runtime, form: Mapping[str, str], token_url: str
) -> Client:
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        raise ClientAuthFailed(f"client_assertion_type must be {ASSERTION_TYPE}")
    verifier = _Assertion([token_url], rt.settings.auth.assertion_max_lifetime_seconds)
    candidate = await _candidate(rt, verifier, form["client_assertion"])
    request = SimpleNamespace(form=dict(form), client=None)
    try:
        verifier(candidate.named, request)
    except InvalidClientError as exc:
        raise ClientAuthFailed(f"the client assertion is not valid: {exc.description}") from exc
    if form.get("client_id") not in (None, candidate.client_id):
        raise ClientAuthFailed("client_id differs from the assertion's subject")
    assert verifier.used is not None
    await _first_use(session, candidate.client_id, *verifier.used)
    client = await _client(session, candidate.client_id)
    if client is None or client.revoked_at is not None:
        raise ClientAuthFailed("unknown client")
    return client


async def _candidate(rt: Runtime, verifier: _Assertion, assertion: str) -> _Candidate:
    """The named client and its keys. Read in a unit of work of its own, closed before any
    key set is fetched, so that no database connection waits on a client's web server."""
    try:
        headers, claims = verifier.extract_assertion(assertion)
    except InvalidClientError as exc:
        raise ClientAuthFailed("the client assertion is not a JWT") from exc
    client_id = claims.get("sub")
    async with rt.db.unit_of_work() as session:
        client = await _client(session, client_id) if isinstance(client_id, str) else None
        if client is None or client.revoked_at is not None:
            raise ClientAuthFailed("unknown client")
        if client.auth_method != ClientAuthMethod.PRIVATE_KEY_JWT.value:
            raise ClientAuthFailed("unknown client")
        registered, published = client.jwks, client.jwks_url
    kid = headers.get("kid")
    try:
        keys = (
            public_keys(registered)
            if registered
            else await rt.remote_keys.key_set(str(published), str(kid) if kid else None)
        )
    except KeySetUnavailable as exc:
        raise ClientAuthFailed(f"the client's published keys: {exc}") from exc
    return _Candidate(str(client_id), keys)


def assertion_subject(assertion: str) -> str:
    """The `sub` an assertion claims, unverified (what its token requests count against)."""
    try:
        _, claims = _Assertion([], 0).extract_assertion(assertion)
    except InvalidClientError:
        return ""
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else ""


async def _first_use(session: AsyncSession, client_id: str, jti: str, expires: int) -> None:
    """Record the jti; refuse it if any process recorded it before (a replay)."""
    expires_at = datetime.fromtimestamp(expires + LEEWAY_SECONDS, UTC)
    now = datetime.now(UTC)
    await session.execute(
        delete(ClientAssertionId).where(
            ClientAssertionId.client_id == client_id, ClientAssertionId.expires_at < now
        )
    )
    values = {"client_id": client_id, "jti": jti[:200], "expires_at": expires_at}
    if not await insert_if_absent(session, ClientAssertionId, values):
        raise ClientAuthFailed("the client assertion has been used before (its jti)")


# tls_client_auth ---------------------------------------------------------------------------


async def _by_certificate(
    session: AsyncSession, client_id: str, certificate: x509.Certificate
) -> Client:
    client = await _client(session, client_id)
    if (
        client is None
        or client.revoked_at is not None
        or client.auth_method != ClientAuthMethod.TLS_CLIENT_AUTH.value
        or not client.tls_subject_dn
        or not same_subject(certificate.subject, client.tls_subject_dn)
    ):
        raise ClientAuthFailed("unknown client, or not the certificate registered for it")
    return client


def same_subject(subject: x509.Name, registered: str) -> bool:
    try:
        expected = x509.Name.from_rfc4514_string(registered)
    except ValueError:
        return False
    return hmac.compare_digest(
        subject.rfc4514_string().encode(), expected.rfc4514_string().encode()
    )


async def _client(session: AsyncSession, client_id: str) -> Client | None:
    if not client_id or len(client_id) > 64:
        return None
    return await session.get(Client, client_id)
