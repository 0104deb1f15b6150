"""Behind a proxy that terminates TLS: the client certificate the proxy verified arrives in a
header the operator names, and is believed only from the proxy's own addresses."""

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.certificates import Pki
from tests.world import COUNCIL, World

# Decided in Python over queries the API matrix already runs on both databases: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HEADER = "X-Client-Cert"
SUBJECT = "CN=case-system.council.example,O=Riverside Adult Social Care"


async def _tls_client(world: World) -> str:
    body = {
        "agency": COUNCIL,
        "scopes": ["inbox:read"],
        "auth_method": "tls_client_auth",
        "tls_client_auth_subject_dn": SUBJECT,
    }
    response = await world.post("admin", "/v1/clients", body)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def _forwarded(pem: str) -> dict[str, str]:
    return {HEADER: quote(pem)}  # as nginx's $ssl_client_escaped_cert


async def _ask(api: httpx.AsyncClient, client_id: str, headers: dict[str, str]) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id}
    return await api.post("/oauth/token", data=form, headers=headers)


async def test_the_proxys_forwarded_certificate_authenticates_and_binds(
    world: World, tmp_path: Path
) -> None:
    pem = Pki(tmp_path).client("case-system", SUBJECT).certificate.read_text()
    client_id = await _tls_client(world)
    world.rt.settings.tls.forwarded_cert_header = HEADER

    issued = await _ask(world.api, client_id, _forwarded(pem))

    assert issued.status_code == 200, issued.text
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    with_it = await world.api.get("/v1/inbox", headers={**bearer, **_forwarded(pem)})
    without = await world.api.get("/v1/inbox", headers=bearer)
    assert (with_it.status_code, without.status_code) == (200, 401)


async def test_the_header_is_ignored_unless_named_and_from_a_trusted_proxy(
    world: World, tmp_path: Path
) -> None:
    pem = Pki(tmp_path).client("case-system", SUBJECT).certificate.read_text()
    client_id = await _tls_client(world)

    not_named = await _ask(world.api, client_id, _forwarded(pem))
    world.rt.settings.tls.forwarded_cert_header = HEADER
    world.rt.settings.trusted_proxies = ["10.20.30.40"]
    not_the_proxy = await _ask(world.api, client_id, _forwarded(pem))

    assert (not_named.status_code, not_the_proxy.status_code) == (401, 401)
    assert not_named.json()["error"] == "invalid_client"
