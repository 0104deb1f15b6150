"""POST /oauth/token: client credentials by basic and post authentication."""

import base64
from datetime import UTC, datetime, timedelta

import httpx

from broker.auth.tokens import Grant, TokenService
from broker.runtime import Runtime
from tests.world import COUNCIL, TRUST, World, risk_event


async def _token(api: httpx.AsyncClient, **kwargs: object) -> httpx.Response:
    return await api.post("/oauth/token", **kwargs)  # type: ignore[arg-type]


async def test_client_secret_basic_gives_a_working_token(world: World) -> None:
    client_id, secret = world.credentials[TRUST]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    response = await _token(
        world.api,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert "events:publish" in body["scope"].split()
    assert response.headers["cache-control"] == "no-store"
    published = await world.api.post(
        "/v1/events",
        json=risk_event(recipients=[COUNCIL]),
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert published.status_code == 202


async def test_client_secret_post_with_narrowed_scope(world: World) -> None:
    client_id, secret = world.credentials[COUNCIL]

    response = await _token(
        world.api,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "inbox:read",
        },
    )

    assert response.status_code == 200
    token = response.json()["access_token"]
    assert response.json()["scope"] == "inbox:read"
    publish = await world.api.post(
        "/v1/events", json=risk_event(), headers={"Authorization": f"Bearer {token}"}
    )
    assert publish.status_code == 403


async def test_wrong_secret_is_invalid_client(world: World) -> None:
    client_id, _ = world.credentials[TRUST]
    response = await _token(
        world.api,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_unknown_client_is_invalid_client(world: World) -> None:
    response = await _token(
        world.api,
        data={"grant_type": "client_credentials", "client_id": "imb_nobody", "client_secret": "x"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_other_grant_types_are_refused(world: World) -> None:
    client_id, secret = world.credentials[TRUST]
    response = await _token(
        world.api,
        data={"grant_type": "password", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_scope_beyond_the_clients_is_refused(world: World) -> None:
    client_id, secret = world.credentials[TRUST]
    response = await _token(
        world.api,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "admin",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_expired_token_is_401(world: World, runtime: Runtime) -> None:
    past = TokenService(
        runtime.keys.token_signing_key,
        issuer=runtime.settings.auth.issuer,
        audience=runtime.settings.auth.audience,
        lifetime=timedelta(minutes=5),
        clock=lambda: datetime.now(UTC) - timedelta(hours=1),
    )
    token, _ = past.issue(Grant("old", TRUST, ["events:publish"]))

    response = await world.api.post(
        "/v1/events", json=risk_event(), headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401


async def test_token_for_another_audience_is_401(world: World, runtime: Runtime) -> None:
    elsewhere = TokenService(
        runtime.keys.token_signing_key,
        issuer=runtime.settings.auth.issuer,
        audience="urn:another:api",
        lifetime=timedelta(minutes=5),
    )
    token, _ = elsewhere.issue(Grant("x", TRUST, ["events:publish"]))

    response = await world.api.post(
        "/v1/events", json=risk_event(), headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 401
