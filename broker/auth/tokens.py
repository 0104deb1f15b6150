"""Signed JWT access tokens (RFC 9068 profile), signed with Ed25519.

The JWS algorithm name is "Ed25519", the fully specified name for EdDSA over Ed25519 that
RFC 9864 registers in place of the polymorphic "EdDSA".
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import ClaimError, JoseError
from joserfc.jwk import OKPKey
from joserfc.jwt import JWTClaimsRegistry

from broker.clock import utc_now

ALGORITHM = "Ed25519"
ACCESS_JWT_TYPE = "at+jwt"  # RFC 9068 §2.1: keeps other JWTs signed by the same key from passing
LEEWAY_SECONDS = 30  # tolerated clock drift between the broker's own processes
AGENCY_CLAIM = "imb_agency"
# Which of the client's credentials the token was issued for: replacing them (a new secret or
# key) makes every token issued before unusable at once.
CREDENTIALS_CLAIM = "imb_cv"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    client_id: str
    agency: str
    scopes: frozenset[str]
    expires_at: datetime
    token_id: str
    credentials_version: int = 1
    # RFC 8705 §3.1: the SHA-256 thumbprint of the certificate the token is bound to, if any.
    certificate_thumbprint: str | None = None


@dataclass(frozen=True)
class Grant:
    """What a token is issued for."""

    client_id: str
    agency: str
    scopes: Iterable[str]
    credentials_version: int = 1
    certificate_thumbprint: str | None = None


class TokenService:
    def __init__(
        self,
        signing_key: OKPKey,
        issuer: str,
        audience: str,
        lifetime: timedelta,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._key = signing_key
        self._issuer = issuer
        self._audience = audience
        self._lifetime = lifetime
        self._clock = clock

    def issue(self, grant: Grant) -> tuple[str, int]:
        now = int(self._clock().timestamp())
        lifetime = int(self._lifetime.total_seconds())
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": grant.client_id,
            "client_id": grant.client_id,
            AGENCY_CLAIM: grant.agency,
            CREDENTIALS_CLAIM: grant.credentials_version,
            "scope": " ".join(sorted(grant.scopes)),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        if grant.certificate_thumbprint:
            claims["cnf"] = {"x5t#S256": grant.certificate_thumbprint}
        header = {"alg": ALGORITHM, "kid": self._key.kid, "typ": ACCESS_JWT_TYPE}
        return jwt.encode(header, claims, self._key, algorithms=[ALGORITHM]), lifetime

    def verify(self, token: str) -> AccessClaims:
        try:
            # Only our algorithm: a token claiming "none" or an HMAC algorithm is refused.
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            self._registry().validate(decoded.claims)
        except JoseError as exc:
            raise InvalidToken(_reason(exc)) from exc
        except ValueError as exc:
            raise InvalidToken("malformed") from exc
        if decoded.header.get("typ") != ACCESS_JWT_TYPE:
            raise InvalidToken("not an access token")
        return _access_claims(decoded.claims)

    def public_jwks(self) -> dict[str, Any]:
        public = self._key.as_dict(private=False)
        return {"keys": [{**public, "use": "sig", "alg": ALGORITHM}]}

    def _registry(self) -> JWTClaimsRegistry:
        essential: Any = {"essential": True}
        return JWTClaimsRegistry(
            now=lambda: int(self._clock().timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp=essential,
            iat=essential,
            sub=essential,
            jti=essential,
            **{AGENCY_CLAIM: essential},
        )


def _reason(error: JoseError) -> str:
    # Library descriptions name the failing claim; none of them repeats the token.
    if isinstance(error, ClaimError):
        return str(error.description)
    return error.error.replace("_", " ") or "invalid"


def _access_claims(claims: dict[str, Any]) -> AccessClaims:
    confirmation = claims.get("cnf")
    thumbprint = confirmation.get("x5t#S256") if isinstance(confirmation, dict) else None
    return AccessClaims(
        client_id=str(claims["sub"]),
        agency=str(claims[AGENCY_CLAIM]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        token_id=str(claims["jti"]),
        credentials_version=int(claims.get(CREDENTIALS_CLAIM, 1)),
        certificate_thumbprint=str(thumbprint) if thumbprint else None,
    )
