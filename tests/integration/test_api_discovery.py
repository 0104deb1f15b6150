"""`/` and the API docs pages, as a browser and a machine client find them."""

import re

import httpx
import pytest

from broker.api.routes.docs import DOCS_POLICY

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


async def test_a_browser_at_the_root_is_sent_to_sign_in(api: httpx.AsyncClient) -> None:
    response = await api.get("/", headers={"Accept": BROWSER_ACCEPT})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


async def test_a_machine_client_at_the_root_gets_links_that_answer(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    links = response.json()["links"]
    assert links["token"] == "/oauth/token" and links["metrics"] == "/metrics"
    assert links["readiness"] == "/readyz"
    for name in ("openapi", "docs", "redoc", "health", "login"):
        assert (await api.get(links[name])).status_code == 200, name


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_api_docs_pages_load_every_asset_from_the_broker_itself(
    api: httpx.AsyncClient, page: str
) -> None:
    response = await api.get(page)

    assert response.status_code == 200
    assert response.headers["content-security-policy"] == DOCS_POLICY
    assert "<script>" not in response.text  # no inline script for the policy to refuse
    assets = ASSET.findall(response.text)
    assert assets and all(asset.startswith("/") for asset in assets), assets
    for asset in assets:
        loaded = await api.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.headers["x-content-type-options"] == "nosniff"
        assert loaded.headers["content-type"].split(";")[0] in {
            "text/javascript",
            "text/css",
            "image/png",
        }, asset
