"""Operators' and integrators' endpoints: health, readiness, metrics, OpenAPI, docs."""

import httpx

from tests.world import World


async def test_healthz_answers_without_auth(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_kafka_unreachable_without_a_kafka_client(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "kafka": False}


async def test_metrics_are_prometheus_text(world: World) -> None:
    await world.publish()
    response = await world.api.get("/metrics")
    assert response.status_code == 200
    assert "imb_events_accepted_total" in response.text


async def test_openapi_documents_the_v1_contract(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path in (
        "/oauth/token",
        "/v1/events",
        "/v1/events/{message_id}",
        "/v1/inbox",
        "/v1/inbox/{delivery_id}",
        "/v1/inbox/{delivery_id}/ack",
        "/v1/subjects/{nhs_number}/care-team",
        "/v1/subjects/{nhs_number}/consents",
        "/v1/agreements",
        "/v1/audit/messages/{message_id}",
        "/v1/timeframes",
        "/v1/escalations",
        "/v1/escalations/{escalation_id}/ack",
        "/v1/agencies/{code}/duty-team",
        "/v1/subjects/{nhs_number}/crisis-plans",
        "/v1/subjects/{nhs_number}/crisis-plans/{plan_id}/confirmations",
        "/v1/audit/records",
        "/v1/audit/subjects/{nhs_number}/trace",
        "/v1/audit/verify",
        "/v1/audit/export",
        "/v1/reports/timeliness",
    ):
        assert path in spec["paths"], path
    assert (await api.get("/docs")).status_code == 200
