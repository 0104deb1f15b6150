"""Access tokens: only what this broker signed, for this audience, in date, is accepted."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, OKPKey

from broker.auth.tokens import Grant, InvalidToken, TokenService

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LIFETIME = timedelta(minutes=15)
ISSUER, AUDIENCE = "urn:imb", "urn:imb:api"


@pytest.fixture(scope="module")
def key() -> OKPKey:
    return OKPKey.generate_key("Ed25519", auto_kid=True)


def service(
    key: OKPKey, at: datetime = NOW, audience: str = AUDIENCE, issuer: str = ISSUER
) -> TokenService:
    return TokenService(key, issuer=issuer, audience=audience, lifetime=LIFETIME, clock=lambda: at)


def _b64(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _parts(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    header, payload, signature = token.split(".")
    decode = base64.urlsafe_b64decode
    return json.loads(decode(header + "==")), json.loads(decode(payload + "==")), signature


def test_issued_token_verifies_with_client_agency_and_scopes(key: OKPKey) -> None:
    token, expires_in = service(key).issue(
        Grant("imb_abc", "RX4", ["inbox:read", "events:publish"])
    )

    claims = service(key).verify(token)

    assert (claims.client_id, claims.agency) == ("imb_abc", "RX4")
    assert claims.scopes == {"inbox:read", "events:publish"}
    assert claims.expires_at == NOW + LIFETIME
    assert expires_in == 900


def test_token_carries_the_registered_claims_and_key_id(key: OKPKey) -> None:
    token, _ = service(key).issue(Grant("imb_abc", "RX4", ["events:publish", "inbox:read"]))

    header, claims, _ = _parts(token)

    assert header == {"alg": "Ed25519", "kid": key.kid, "typ": "at+jwt"}
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE and claims["sub"] == "imb_abc"
    assert claims["imb_agency"] == "RX4"
    assert claims["scope"] == "events:publish inbox:read"
    assert claims["nbf"] == claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] == int((NOW + LIFETIME).timestamp())


def test_each_token_has_its_own_id(key: OKPKey) -> None:
    first, _ = service(key).issue(Grant("c", "RX4", []))
    second, _ = service(key).issue(Grant("c", "RX4", []))

    assert service(key).verify(first).token_id != service(key).verify(second).token_id


def test_expired_token_is_refused(key: OKPKey) -> None:
    token, _ = service(key).issue(Grant("c", "RX4", []))

    with pytest.raises(InvalidToken, match="expired"):
        service(key, at=NOW + LIFETIME + timedelta(minutes=1)).verify(token)


def test_small_clock_drift_is_tolerated(key: OKPKey) -> None:
    token, _ = service(key).issue(Grant("c", "RX4", []))

    assert service(key, at=NOW - timedelta(seconds=10)).verify(token).client_id == "c"
    assert service(key, at=NOW + LIFETIME + timedelta(seconds=10)).verify(token).client_id == "c"


def test_token_used_before_it_is_valid_is_refused(key: OKPKey) -> None:
    token, _ = service(key).issue(Grant("c", "RX4", []))

    with pytest.raises(InvalidToken):
        service(key, at=NOW - timedelta(minutes=5)).verify(token)


def test_token_for_another_audience_is_refused(key: OKPKey) -> None:
    token, _ = service(key).issue(Grant("c", "RX4", []))

    with pytest.raises(InvalidToken, match="aud"):
        service(key, audience="urn:other").verify(token)


def test_token_from_another_issuer_is_refused(key: OKPKey) -> None:
    token, _ = service(key).issue(Grant("c", "RX4", []))

    with pytest.raises(InvalidToken, match="iss"):
        service(key, issuer="urn:other").verify(token)


def test_token_signed_by_another_key_is_refused(key: OKPKey) -> None:
    stranger = OKPKey.generate_key("Ed25519", auto_kid=True)
    token, _ = service(stranger).issue(Grant("c", "RX4", ["admin"]))

    with pytest.raises(InvalidToken, match="signature"):
        service(key).verify(token)


def test_unsigned_forgery_is_refused(key: OKPKey) -> None:
    _, claims, _ = _parts(service(key).issue(Grant("c", "RX4", ["inbox:read"]))[0])
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64({**claims, 'scope': 'admin'})}."

    with pytest.raises(InvalidToken):
        service(key).verify(unsigned)


def test_hmac_forgery_keyed_with_the_public_key_is_refused(key: OKPKey) -> None:
    _, claims, _ = _parts(service(key).issue(Grant("c", "RX4", ["inbox:read"]))[0])
    public_jwk = json.dumps(key.as_dict(private=False)).encode()
    forged = jwt.encode(
        {"alg": "HS256", "typ": "at+jwt"},
        {**claims, "scope": "admin"},
        OctKey.import_key(public_jwk),
    )

    with pytest.raises(InvalidToken):
        service(key).verify(forged)


def test_tampered_claims_are_refused(key: OKPKey) -> None:
    token, _ = service(key).issue(Grant("c", "RX4", ["inbox:read"]))
    header, _, signature = token.split(".")
    _, claims, _ = _parts(token)

    with pytest.raises(InvalidToken, match="signature"):
        service(key).verify(f"{header}.{_b64({**claims, 'imb_agency': 'LA001'})}.{signature}")


def test_other_jwt_signed_by_the_same_key_is_not_an_access_token(key: OKPKey) -> None:
    _, claims, _ = _parts(service(key).issue(Grant("c", "RX4", []))[0])
    id_token = jwt.encode({"alg": "Ed25519", "typ": "JWT"}, claims, key, algorithms=["Ed25519"])

    with pytest.raises(InvalidToken, match="not an access token"):
        service(key).verify(id_token)


def test_signed_token_without_the_agency_is_refused(key: OKPKey) -> None:
    _, claims, _ = _parts(service(key).issue(Grant("c", "RX4", []))[0])
    del claims["imb_agency"]
    token = jwt.encode({"alg": "Ed25519", "typ": "at+jwt"}, claims, key, algorithms=["Ed25519"])

    with pytest.raises(InvalidToken, match="imb_agency"):
        service(key).verify(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "...", "\ud800.x.y"])
def test_garbage_is_refused_without_being_echoed(key: OKPKey, garbage: str) -> None:
    with pytest.raises(InvalidToken) as refusal:
        service(key).verify(garbage + "secret-looking-text")

    assert "secret-looking-text" not in str(refusal.value)


def test_public_key_set_verifies_tokens_and_holds_no_private_part(key: OKPKey) -> None:
    jwks = service(key).public_jwks()
    token, _ = service(key).issue(Grant("c", "RX4", []))

    (public,) = jwks["keys"]
    assert "d" not in public
    assert public["kid"] == key.kid and public["alg"] == "Ed25519" and public["use"] == "sig"
    assert jwt.decode(token, OKPKey.import_key(public), algorithms=["Ed25519"]).claims["sub"] == "c"
