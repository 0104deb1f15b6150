"""Behind a reverse proxy IMB trusts, the caller's address and scheme come from its forwarded
headers; from anyone else those headers change nothing. A forwarded client certificate is
trusted by the connection's own peer, never by an address a header claims."""

from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from broker.api.app import create_app
from tests.certificates import Pki
from tests.world import COUNCIL, World

# Decided in Python over queries the API matrix already runs on both databases: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SUBJECT = "CN=case-system.council.example,O=Riverside Adult Social Care"


def _from(world: World, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(world.rt), client=(peer, 51000))
    return httpx.AsyncClient(transport=transport, base_url="http://imb.test")


async def test_a_trusted_proxy_forwards_the_callers_address_for_its_limits(world: World) -> None:
    world.rt.settings.rate_limit.token_per_address = "2/hour"
    form = {"grant_type": "client_credentials"}
    forwarded = {"X-Forwarded-For": "198.51.100.4"}
    async with _from(world, "127.0.0.1") as proxy:
        for _ in range(2):
            await proxy.post("/oauth/token", data=form, auth=("x", "y"), headers=forwarded)
        same_caller = await proxy.post(
            "/oauth/token", data=form, auth=("x", "y"), headers=forwarded
        )
        other_caller = await proxy.post(
            "/oauth/token", data=form, auth=("x", "y"), headers={"X-Forwarded-For": "198.51.100.9"}
        )

    assert same_caller.status_code == 429
    assert other_caller.status_code == 401  # its own allowance: the proxy is not one caller


async def test_forwarded_headers_from_anyone_else_change_nothing(world: World) -> None:
    world.rt.settings.rate_limit.token_per_address = "2/hour"
    form = {"grant_type": "client_credentials"}
    async with _from(world, "203.0.113.50") as stranger:
        answers = [
            await stranger.post(
                "/oauth/token",
                data=form,
                auth=("x", "y"),
                headers={"X-Forwarded-For": f"198.51.100.{n}", "X-Forwarded-Proto": "https"},
            )
            for n in range(3)
        ]

    assert [a.status_code for a in answers] == [401, 401, 429]
    assert "strict-transport-security" not in answers[0].headers


async def test_a_forwarded_certificate_counts_only_from_the_proxy_itself(
    world: World, tmp_path: Path
) -> None:
    pem = Pki(tmp_path).client("case-system", SUBJECT).certificate.read_text()
    body = {
        "agency": COUNCIL,
        "scopes": ["inbox:read"],
        "auth_method": "tls_client_auth",
        "tls_client_auth_subject_dn": SUBJECT,
    }
    client_id = (await world.post("admin", "/v1/clients", body)).json()["client_id"]
    world.rt.settings.tls.forwarded_cert_header = "X-Client-Cert"
    world.rt.settings.trusted_proxies = ["10.0.0.5/32"]
    form = {"grant_type": "client_credentials", "client_id": client_id}
    headers = {"X-Client-Cert": quote(pem), "X-Forwarded-For": "10.0.0.5"}

    async with _from(world, "10.0.0.5") as proxy:
        through_the_proxy = await proxy.post("/oauth/token", data=form, headers=headers)
    async with _from(world, "198.51.100.4") as pretender:
        claiming_to_be_it = await pretender.post("/oauth/token", data=form, headers=headers)

    assert through_the_proxy.status_code == 200, through_the_proxy.text
    assert claiming_to_be_it.status_code == 401
