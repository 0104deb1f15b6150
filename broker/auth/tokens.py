"""Signed JWT access tokens (RFC 9068 profile, Ed25519 per RFC 9864)."""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.jwt import JWTClaimsRegistry

from broker.clock import utc_now

ALGORITHM = "Ed25519"
LEEWAY_SECONDS = 30
AGENCY_CLAIM = "imb_agency"


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class AccessClaims:
    client_id: str
    agency: str
    scopes: frozenset[str]
    expires_at: datetime
    token_id: str


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
        self._issuer, self._audience, self._lifetime, self._clock = (
            issuer,
            audience,
            lifetime,
            clock,
        )

    def issue(self, client_id: str, agency: str, scopes: Iterable[str]) -> tuple[str, int]:
        now = int(self._clock().timestamp())
        lifetime = int(self._lifetime.total_seconds())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": client_id,
            "client_id": client_id,
            AGENCY_CLAIM: agency,
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        header = {"alg": ALGORITHM, "kid": self._key.kid, "typ": "at+jwt"}
        return jwt.encode(header, claims, self._key, algorithms=[ALGORITHM]), lifetime

    def verify(self, token: str) -> AccessClaims:
        try:
            # Only our algorithm: a token claiming "none" or an HMAC algorithm is refused.
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            self._registry().validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidToken(type(exc).__name__) from exc
        return _claims(decoded.claims)

    def _registry(self) -> JWTClaimsRegistry:
        essential: Any = {"essential": True}
        return JWTClaimsRegistry(
            now=lambda: int(self._clock().timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp=essential,
            sub=essential,
            jti=essential,
            **{AGENCY_CLAIM: essential},
        )

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.as_dict(private=False)]}


def _claims(claims: dict[str, Any]) -> AccessClaims:

    return AccessClaims(
        client_id=str(claims["sub"]),
        agency=str(claims[AGENCY_CLAIM]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        token_id=str(claims["jti"]),
    )
