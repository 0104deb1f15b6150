"""Operators' and integrators' endpoints: health, readiness, metrics, OpenAPI, docs."""

import httpx

from broker.serve import metrics_need_token
from tests.world import TRUST, World


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


async def test_metrics_are_prometheus_text_for_a_metrics_reader(world: World) -> None:
    await world.publish()
    assert "imb_events_accepted_total" in await world.scrape_metrics()


async def test_metrics_refuse_anyone_without_a_metrics_token(world: World) -> None:
    anonymous = await world.api.get("/metrics")
    publisher = await world.get(TRUST, "/metrics")
    assert anonymous.status_code == 401
    assert publisher.status_code == 403
    assert "imb_" not in anonymous.text + publisher.text


async def test_metrics_are_open_on_loopback_only_unless_configured(world: World) -> None:
    settings = world.rt.settings
    assert not metrics_need_token(settings, "127.0.0.1")
    assert not metrics_need_token(settings, "::1")
    assert metrics_need_token(settings, "0.0.0.0")
    assert metrics_need_token(settings, "10.1.2.3")
    settings.metrics.require_token = True
    assert metrics_need_token(settings, "127.0.0.1")
    world.rt.metrics_need_token = False
    assert (await world.api.get("/metrics")).status_code == 200


async def test_api_answers_are_never_sniffed_or_cached(world: World) -> None:
    for response in (
        await world.get(TRUST, "/v1/inbox"),
        await world.api.get("/v1/inbox"),
        await world.api.get("/no/such/route"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers  # plain HTTP here


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


FHIR_PUBLIC = {
    "/fhir/R4/metadata",
    "/fhir/R4/CodeSystem/{code_system_id}",
    "/fhir/R4/MessageDefinition/{code}",
}


async def test_every_operation_declares_its_problems_and_the_security_it_needs(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/oauth/token"
    public = {"/", "/healthz", "/readyz", "/oauth/token", *FHIR_PUBLIC}
    for path, operations in spec["paths"].items():
        # FHIR's errors are OperationOutcomes (docs/fhir.md); IMB's own, problem details.
        errors, body = (
            ("application/fhir+json", "OperationOutcome")
            if path.startswith("/fhir/")
            else ("application/problem+json", "Problem")
        )
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            if path == "/oauth/token":
                continue  # RFC 6749 §5.2 errors, checked below
            problem = responses["422"]["content"][errors]["schema"]
            assert problem == {"$ref": f"#/components/schemas/{body}"}, where
            assert "application/json" not in responses["422"]["content"], where
            if path in public:
                continue
            assert operation["security"][1] == {"bearer": []}, where
            for status in ("401", "404", "429", "500"):
                assert errors in responses[status]["content"], where
            if method in {"post", "put"}:
                assert {"400", "408", "409", "413"} <= set(responses), where
    token = spec["paths"]["/oauth/token"]["post"]
    assert token["security"] == []
    form = token["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert {"grant_type", "client_assertion", "client_assertion_type"} <= set(form["properties"])
    assert spec["paths"]["/v1/inbox"]["get"]["security"][0] == {"oauth2": ["inbox:read"]}
