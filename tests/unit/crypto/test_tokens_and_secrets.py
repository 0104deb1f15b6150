"""Access tokens and client secrets."""

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, OKPKey

from broker.auth.secrets import (
    generate_client_secret,
    hash_client_secret,
    verify_client_secret,
)
from broker.auth.tokens import InvalidToken, TokenService
from broker.crypto.keys import ensure_key_material

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def key(tmp_path: Path) -> OKPKey:
    return ensure_key_material(tmp_path / "keys").token_signing_key


def service(
    key: OKPKey, clock: datetime = NOW, audience: str = "urn:imb:api", issuer: str = "urn:imb"
) -> TokenService:
    return TokenService(
        key, issuer=issuer, audience=audience, lifetime=timedelta(minutes=15), clock=lambda: clock
    )


def test_issued_token_verifies_with_agency_and_scopes(key: OKPKey) -> None:
    token, expires_in = service(key).issue("imb_abc", "RX4", ["inbox:read", "events:publish"])
    claims = service(key).verify(token)
    assert (claims.client_id, claims.agency) == ("imb_abc", "RX4")
    assert claims.scopes == {"inbox:read", "events:publish"}
    assert expires_in == 900


def test_expired_token_is_refused(key: OKPKey) -> None:
    token, _ = service(key).issue("c", "RX4", [])
    with pytest.raises(InvalidToken):
        service(key, clock=NOW + timedelta(minutes=16)).verify(token)


def test_token_for_another_audience_or_issuer_is_refused(key: OKPKey) -> None:
    token, _ = service(key).issue("c", "RX4", [])
    with pytest.raises(InvalidToken):
        service(key, audience="urn:other").verify(token)
    with pytest.raises(InvalidToken):
        service(key, issuer="urn:other").verify(token)


def test_token_signed_by_another_key_is_refused(key: OKPKey) -> None:
    token, _ = service(OKPKey.generate_key("Ed25519", auto_kid=True)).issue("c", "RX4", ["admin"])
    with pytest.raises(InvalidToken):
        service(key).verify(token)


def _b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_unsigned_and_hmac_forgeries_are_refused(key: OKPKey) -> None:
    token, _ = service(key).issue("c", "RX4", ["events:publish"])
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    claims["scope"] = "admin"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    public = json.dumps(key.as_dict(private=False)).encode()
    hmac_forged = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(public))

    for forged in (unsigned, hmac_forged):
        with pytest.raises(InvalidToken):
            service(key).verify(forged)


def test_tampered_claims_are_refused(key: OKPKey) -> None:
    header, payload, signature = service(key).issue("c", "RX4", ["inbox:read"])[0].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["imb_agency"] = "LA001"
    with pytest.raises(InvalidToken):
        service(key).verify(f"{header}.{_b64(claims)}.{signature}")


def test_secret_verifies_and_its_hash_does_not_contain_it() -> None:
    secret = generate_client_secret()
    stored = hash_client_secret(secret)
    assert secret not in stored
    assert verify_client_secret(secret, stored)
    assert not verify_client_secret(secret + "x", stored)
    assert len(secret) >= 43  # 256 bits, url-safe base64
