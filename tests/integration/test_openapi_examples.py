"""The OpenAPI document as an integrator reads it: a working example for every request body,
the token endpoint's form and answers, the security each operation needs, and docs/api.md
naming every operation."""

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from jsonschema import Draft202012Validator

from broker.api.app import create_app
from broker.api.examples import EVENT_FILES
from schemas.events import EVENT_SUBMISSION
from schemas.vocabulary import Scope
from tests.estate import snapshot
from tests.world import TRUST, World

# The document does not depend on the database: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ROOT = Path(__file__).resolve().parents[2]
API_DOC = ROOT / "docs" / "api.md"
EXAMPLES = ROOT / "deploy" / "examples"
# A table row of docs/api.md that names an operation: | `POST` | `/v1/events` | …
DOCUMENTED = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE)`\s*\|\s*`([^`]+)`", re.MULTILINE)


async def _document(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def _schema_errors(document: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    validator = Draft202012Validator({**schema, "components": document["components"]})
    return [error.message for error in validator.iter_errors(value)]


async def test_every_request_body_has_an_example_that_matches_its_schema(
    api: httpx.AsyncClient,
) -> None:
    document = await _document(api)
    bodies = {
        k: op["requestBody"] for k, op in _operations(document).items() if "requestBody" in op
    }
    assert len(bodies) >= 20
    for where, body in bodies.items():
        for media, spec in body["content"].items():
            examples = spec.get("examples") or {}
            assert examples, (where, media, "has no example")
            for name, example in examples.items():
                errors = _schema_errors(document, spec["schema"], example["value"])
                assert errors == [], (where, name, errors)


async def test_every_request_body_example_is_accepted_by_its_model(
    world: World,
) -> None:
    app = create_app(world.rt)
    document = app.openapi()
    checked = 0
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        for method in context.methods or ():
            operation = document["paths"][context.path_format][method.lower()]
            content = operation["requestBody"]["content"]["application/json"]
            for name, example in content["examples"].items():
                _, errors = route.body_field.validate(example["value"], {}, loc=("body",))
                assert errors == [], (method, context.path_format, name, errors)
                checked += 1
    assert checked >= 20


async def test_the_batch_example_holds_events_each_accepted_alone(api: httpx.AsyncClient) -> None:
    document = await _document(api)
    content = _operations(document)[("POST", "/v1/events:batch")]["requestBody"]["content"]
    for example in content["application/json"]["examples"].values():
        for event in example["value"]["events"]:
            EVENT_SUBMISSION.validate_python(event)


async def test_event_examples_are_the_files_in_deploy_examples(api: httpx.AsyncClient) -> None:
    document = await _document(api)
    content = _operations(document)[("POST", "/v1/events")]["requestBody"]["content"]
    shown = {name: e["value"] for name, e in content["application/json"]["examples"].items()}
    on_disk = {name: json.loads((EXAMPLES / f"{name}.json").read_text()) for name in EVENT_FILES}
    assert shown == on_disk
    assert {event["type"] for event in shown.values()} == {
        "risk.changed",
        "engagement.disengaged",
        "crisis.occurred",
    }


async def test_token_endpoint_documents_its_form_and_its_answers(api: httpx.AsyncClient) -> None:
    operation = _operations(await _document(api))[("POST", "/oauth/token")]
    form = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert set(form["schema"]["properties"]) == {
        "grant_type",
        "scope",
        "client_id",
        "client_secret",
        "client_assertion_type",
        "client_assertion",
    }
    assert set(form["examples"]) == {"client_secret_post", "private_key_jwt"}
    assert {"200", "400", "401", "429"} <= set(operation["responses"])
    assert operation["security"] == []


async def test_security_schemes_are_declared_and_applied_per_operation(
    api: httpx.AsyncClient,
) -> None:
    document = await _document(api)
    schemes = document["components"]["securitySchemes"]
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == {scope.value for scope in Scope}
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    public = {("GET", "/"), ("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/oauth/token")}
    public |= {  # what a FHIR client reads before it has a token
        ("GET", "/fhir/R4/metadata"),
        ("GET", "/fhir/R4/CodeSystem/{code_system_id}"),
        ("GET", "/fhir/R4/MessageDefinition/{code}"),
    }
    for where, operation in _operations(document).items():
        if where in public:
            assert not operation.get("security"), where
            continue
        names = {name for requirement in operation["security"] for name in requirement}
        assert names == {"oauth2", "bearer"}, where


async def test_every_operation_is_in_docs_api_md_and_nothing_else_is(
    api: httpx.AsyncClient,
) -> None:
    operations = set(_operations(await _document(api)))
    documented = {(method, path) for method, path in DOCUMENTED.findall(API_DOC.read_text())}
    assert operations - documented == set(), "describe the new operation in docs/api.md"
    assert documented - operations == set(), "docs/api.md names an operation that is gone"


async def test_a_json_body_at_the_token_endpoint_is_told_to_send_a_form(world: World) -> None:
    client_id, secret = world.credentials[TRUST]
    before = await snapshot(world)

    response = await world.api.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "application/x-www-form-urlencoded" in response.json()["error_description"]
    assert "access_token" not in response.text
    assert await snapshot(world) == before
