"""The access line: one per request, naming the route's template and never what a path or query
carried."""

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from broker.api.access_log import UNMATCHED_ROUTE, remember_caller
from broker.api.observe import ObserveResponses
from broker.metrics import Metrics
from tests.captured_logs import captured_logs, log_lines

NHS_NUMBER = "9434765919"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    with captured_logs() as out:
        yield out


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/subjects/{nhs_number}/consents")
    async def consents(nhs_number: str, request: Request) -> dict[str, str]:
        remember_caller(request.scope, "client-7", "TRUST1")
        return {"seen": nhs_number}

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError(f"failed for {NHS_NUMBER}")

    app.add_middleware(ObserveResponses, metrics=Metrics())
    return app


async def _get(path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://imb.test") as client:
        return await client.get(path, headers=headers)


def _access_lines(out: io.StringIO) -> list[dict[str, Any]]:
    return log_lines(out, "http.request")


async def test_access_line_names_the_route_template_and_the_caller(
    log_output: io.StringIO,
) -> None:
    response = await _get(f"/v1/subjects/{NHS_NUMBER}/consents?note=moving+house")

    (line,) = _access_lines(log_output)
    assert response.status_code == 200
    assert line["route"] == "/v1/subjects/{nhs_number}/consents"
    assert line["method"] == "GET" and line["status"] == 200
    assert line["client_id"] == "client-7" and line["agency"] == "TRUST1"
    assert isinstance(line["duration_ms"], float)
    assert line["request_id"] == response.headers["x-request-id"]
    assert NHS_NUMBER not in log_output.getvalue()
    assert "moving" not in log_output.getvalue()


async def test_an_unmatched_path_is_logged_as_a_placeholder(log_output: io.StringIO) -> None:
    response = await _get(f"/v2/people/{NHS_NUMBER}")

    (line,) = _access_lines(log_output)
    assert response.status_code == 404
    assert line["route"] == UNMATCHED_ROUTE and line["status"] == 404
    assert line["client_id"] is None
    assert NHS_NUMBER not in log_output.getvalue()


async def test_an_unexpected_error_is_logged_as_a_500_without_its_message(
    log_output: io.StringIO,
) -> None:
    response = await _get("/v1/broken")

    (line,) = _access_lines(log_output)
    assert response.status_code == 500
    assert line["route"] == "/v1/broken" and line["status"] == 500
    assert NHS_NUMBER not in log_output.getvalue()


async def test_a_well_formed_request_id_is_reused_and_echoed(log_output: io.StringIO) -> None:
    response = await _get("/v1/broken", **{"X-Request-ID": "gw-4f1c2a9e-0001"})

    (line,) = _access_lines(log_output)
    assert response.headers["x-request-id"] == "gw-4f1c2a9e-0001"
    assert line["request_id"] == "gw-4f1c2a9e-0001"


async def test_a_caller_uuid_is_reused_as_the_request_id(log_output: io.StringIO) -> None:
    offered = "3F2504E0-4F89-41D3-9A0C-0305E82C3301"
    response = await _get("/v1/broken", **{"X-Request-ID": offered})

    (line,) = _access_lines(log_output)
    assert response.headers["x-request-id"] == offered
    assert line["request_id"] == offered


@pytest.mark.parametrize(
    "offered",
    [
        "short",
        "has spaces in it",
        "x" * 129,
        f"req-{NHS_NUMBER}",
        "943-476-5919",
        "943.476.5919",
        "943:476:5919",
        "943 476 5919",
        "req-943-476-5919-a",
        "9-4-3-4-7-6-5-9-1-9",
        "3F2504E0-4F89-41D3-9A0C-0305E82C33010",
    ],
)
async def test_a_malformed_or_number_like_request_id_is_replaced_by_a_new_one(
    log_output: io.StringIO, offered: str
) -> None:
    response = await _get("/v1/broken", **{"X-Request-ID": offered})

    (line,) = _access_lines(log_output)
    assert response.headers["x-request-id"] != offered
    assert line["request_id"] == response.headers["x-request-id"]
    assert len(line["request_id"]) == 32
    assert offered not in log_output.getvalue()
