"""private_key_jwt (RFC 7523, as in SMART Backend Services): a client proves itself with an
assertion signed by its private key; a replayed, stale, misdirected or forged one is refused."""

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc import jwt
from joserfc.jwk import ECKey, Key, OctKey, OKPKey, RSAKey

from broker.api.app import create_app
from broker.runtime import build_runtime
from broker.settings import Settings
from tests.world import COUNCIL, World, risk_event

# Signatures and claims are checked in Python; the replay store, by the database, runs on both.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEYS: dict[str, Any] = {
    "ES256": lambda: ECKey.generate_key("P-256", parameters={"kid": "es256"}),
    "ES384": lambda: ECKey.generate_key("P-384", parameters={"kid": "es384"}),
    "RS384": lambda: RSAKey.generate_key(2048, parameters={"kid": "rs384"}),
    "Ed25519": lambda: OKPKey.generate_key("Ed25519", parameters={"kid": "ed25519"}),
}


PRIVATE = ECKey.generate_key("P-256")


def _token_url(world: World) -> str:
    return world.rt.settings.public_base_url + "/oauth/token"


async def _register(world: World, body: dict[str, Any]) -> httpx.Response:
    return await world.post(
        "admin", "/v1/clients", {"agency": COUNCIL, "scopes": ["inbox:read"], **body}
    )


async def _keyed_client(world: World, key: Key) -> str:
    jwks = {"keys": [key.as_dict(private=False)]}
    response = await _register(world, {"auth_method": "private_key_jwt", "jwks": jwks})
    assert response.status_code == 201, response.text
    assert response.json()["client_secret"] is None
    client_id: str = response.json()["client_id"]
    return client_id


def _assertion(key: Key, client_id: str, audience: str, alg: str = "ES256", **kwargs: Any) -> str:
    signed = private_key_jwt_sign(
        key, client_id, audience, alg=alg, header={"kid": key.kid}, expires_in=60, **kwargs
    )
    return signed.decode() if isinstance(signed, bytes) else str(signed)


async def _ask(api: httpx.AsyncClient, assertion: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }
    return await api.post("/oauth/token", data=form)


@SQLITE_ONLY
@pytest.mark.parametrize("alg", sorted(KEYS))
async def test_a_signed_assertion_gets_a_token_that_works(world: World, alg: str) -> None:
    key = KEYS[alg]()
    client_id = await _keyed_client(world, key)

    response = await _ask(world.api, _assertion(key, client_id, _token_url(world), alg))

    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    inbox = await world.api.get("/v1/inbox", headers={"Authorization": f"Bearer {token}"})
    assert inbox.status_code == 200


async def test_a_replayed_assertion_is_refused_even_by_another_process(
    world: World, settings: Settings
) -> None:
    key = KEYS["ES256"]()
    client_id = await _keyed_client(world, key)
    assertion = _assertion(key, client_id, _token_url(world))
    other = build_runtime(settings)
    transport = httpx.ASGITransport(app=create_app(other))

    first = await _ask(world.api, assertion)
    async with httpx.AsyncClient(transport=transport, base_url="http://imb-2.test") as elsewhere:
        again = await _ask(elsewhere, assertion)
    await other.close()

    assert first.status_code == 200, first.text
    assert again.status_code == 401
    assert again.json() == {
        "error": "invalid_client",
        "error_description": "the client assertion has been used before (its jti)",
    }


@SQLITE_ONLY
async def test_misdirected_stale_long_lived_or_forged_assertions_are_refused(
    world: World,
) -> None:
    key, stranger = KEYS["ES256"](), ECKey.generate_key("P-256", parameters={"kid": "es256"})
    client_id = await _keyed_client(world, key)
    url = _token_url(world)
    now = int(time.time())
    cases = {
        "another audience": _assertion(key, client_id, "https://elsewhere.example/oauth/token"),
        "expired": _assertion(key, client_id, url, issued_at=now - 600, expires_at=now - 120),
        "an hour long": _assertion(key, client_id, url, expires_at=now + 3600),
        "signed by another key": _assertion(stranger, client_id, url),
        "issuer is not subject": _assertion(key, client_id, url, claims={"iss": "someone"}),
        "unknown client": _assertion(key, "imb_nobody", url),
        "not a JWT": "not.a.jwt",
        "alg none": _unsigned(client_id, url),
        "HS256 keyed with the public key": _hmac_with_public_key(key, client_id, url),
    }

    answers = {name: await _ask(world.api, assertion) for name, assertion in cases.items()}

    for name, response in answers.items():
        assert response.status_code == 401, (name, response.text)
        assert response.json()["error"] == "invalid_client", name
    assert "at most 300 s" in answers["an hour long"].json()["error_description"]


def _unsigned(client_id: str, audience: str) -> str:
    header = {"alg": "none", "typ": "JWT"}
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "jti": "x"}
    claims["exp"] = int(time.time()) + 60

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _hmac_with_public_key(key: Key, client_id: str, audience: str) -> str:
    shared = OctKey.import_key(json.dumps(key.as_dict(private=False)).encode())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "jti": "hs"}
    claims["exp"] = int(time.time()) + 60
    return jwt.encode({"alg": "HS256", "kid": key.kid}, claims, shared)


@SQLITE_ONLY
async def test_methods_do_not_mix(world: World) -> None:
    key = KEYS["ES256"]()
    keyed = await _keyed_client(world, key)
    secret_client, secret = world.credentials[COUNCIL]

    secret_client_asserts = await _ask(world.api, _assertion(key, secret_client, _token_url(world)))
    keyed_uses_a_secret = await world.api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(keyed, "guess")
    )
    both = await _ask(
        world.api,
        _assertion(key, keyed, _token_url(world)),
        client_id=secret_client,
        client_secret=secret,
    )

    assert secret_client_asserts.status_code == 401
    assert keyed_uses_a_secret.status_code == 401
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


@SQLITE_ONLY
async def test_client_secrets_can_be_switched_off(world: World) -> None:
    key = KEYS["ES256"]()
    keyed = await _keyed_client(world, key)
    world.rt.settings.auth.allow_client_secret = False

    by_secret = await world.api.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=world.credentials[COUNCIL]
    )
    by_key = await _ask(world.api, _assertion(key, keyed, _token_url(world)))

    assert by_secret.status_code == 401
    assert "switched off" in by_secret.json()["error_description"]
    assert by_key.status_code == 200


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"jwks": {"keys": [ECKey.generate_key("P-256").as_dict(private=True)]}},
            ["body", "jwks", "keys", 0],
        ),
        ({"jwks": {"keys": [OctKey.generate_key(256).as_dict()]}}, ["body", "jwks", "keys", 0]),
        ({"jwks_uri": "http://keys.example.org/jwks.json"}, ["body", "jwks_uri"]),
        ({}, ["body"]),
    ],
)
async def test_a_key_based_client_needs_public_asymmetric_keys_from_a_safe_place(
    world: World, body: dict[str, Any], loc: list[Any]
) -> None:
    response = await _register(world, {"auth_method": "private_key_jwt", **body})

    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]]


class _KeySetServer:
    """A client's own web server publishing its key set, on loopback."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.fetches = 0
        published = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                published.fetches += 1
                body = json.dumps(published.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "_KeySetServer":
        self.thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def key_server() -> Iterator[_KeySetServer]:
    with _KeySetServer() as server:
        yield server


@SQLITE_ONLY
async def test_a_client_publishing_its_keys_can_roll_them_without_asking(
    world: World, key_server: _KeySetServer
) -> None:
    first = ECKey.generate_key("P-256", parameters={"kid": "2026-11"})
    key_server.document = {"keys": [first.as_dict(private=False)]}
    registered = await _register(
        world, {"auth_method": "private_key_jwt", "jwks_uri": key_server.url}
    )
    client_id = registered.json()["client_id"]

    before_roll = await _ask(world.api, _assertion(first, client_id, _token_url(world)))
    rolled = ECKey.generate_key("P-256", parameters={"kid": "2026-12"})
    key_server.document = {"keys": [rolled.as_dict(private=False)]}
    after_roll = await _ask(world.api, _assertion(rolled, client_id, _token_url(world)))
    cached_again = await _ask(world.api, _assertion(rolled, client_id, _token_url(world)))

    assert registered.status_code == 201, registered.text
    assert before_roll.status_code == 200, before_roll.text
    assert after_roll.status_code == 200, after_roll.text
    assert cached_again.status_code == 200
    assert key_server.fetches == 2  # once at first use, once for the key it had not seen
    stranger = ECKey.generate_key("P-256", parameters={"kid": "made-up"})
    for _ in range(3):
        forged = await _ask(world.api, _assertion(stranger, client_id, _token_url(world)))
        assert forged.status_code == 401
    # The look for 2026-12 was moments ago: a burst of made-up key ids fetches nothing more.
    assert key_server.fetches == 2
    published = await world.api.post(
        "/v1/events",
        json=risk_event(),
        headers={"Authorization": f"Bearer {after_roll.json()['access_token']}"},
    )
    assert published.status_code == 403  # the client holds inbox:read only
