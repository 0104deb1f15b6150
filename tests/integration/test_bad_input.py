"""Bad input gets a clear problem, and leaves nothing behind."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from broker.db.models import AuditRecord, Delivery, Message, OutboxEntry
from broker.runtime import Runtime
from tests.world import COUNCIL, NHS_NUMBER, TRUST, World, risk_event


async def _rows(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.unit_of_work() as session:
        return {
            model.__tablename__: int(
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
            )
            for model in (Message, Delivery, AuditRecord, OutboxEntry)
        }


@pytest.fixture
async def unchanged(world: World, runtime: Runtime) -> AsyncIterator[None]:
    """Asserts, after the test, that it wrote no message, delivery, audit or outbox row."""
    before = await _rows(runtime)
    yield
    assert await _rows(runtime) == before


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def _locs(problem: dict[str, Any]) -> list[list[Any]]:
    return [e["loc"] for e in problem["errors"]]


pytestmark = pytest.mark.usefixtures("unchanged")


async def test_malformed_json_is_refused(world: World) -> None:
    response = await world.api.post(
        "/v1/events",
        content=b'{"id": "x",',
        headers={**world.auth(TRUST), "content-type": "application/json"},
    )
    _problem(response, 422)


async def test_wrong_type_names_the_field(world: World) -> None:
    event = risk_event()
    event["payload"]["risk_domains"] = "suicide"
    problem = _problem(await world.post(TRUST, "/v1/events", event), 422)
    assert ["body", "payload", "risk_domains"] in _locs(problem)


async def test_unknown_field_is_refused_not_dropped(world: World) -> None:
    event = risk_event()
    event["payload"]["diagnosis"] = "should never travel"
    problem = _problem(await world.post(TRUST, "/v1/events", event), 422)
    assert ["body", "payload", "diagnosis"] in _locs(problem)


async def test_unknown_event_type_is_refused(world: World) -> None:
    problem = _problem(await world.publish(type="housing.evicted"), 422)
    assert any(loc[:2] == ["body", "type"] or loc == ["body"] for loc in _locs(problem))


async def test_nhs_number_with_bad_check_digit_is_refused(world: World) -> None:
    bad = NHS_NUMBER[:-1] + str((int(NHS_NUMBER[-1]) + 1) % 10)
    problem = _problem(await world.publish(subject={"nhs_number": bad}), 422)
    assert ["body", "subject", "nhs_number"] in _locs(problem)


async def test_naive_timestamp_is_refused(world: World) -> None:
    problem = _problem(await world.publish(occurred_at="2026-11-22T10:00:00"), 422)
    assert ["body", "occurred_at"] in _locs(problem)


async def test_missing_reason_for_sharing_is_refused(world: World) -> None:
    event = risk_event()
    del event["reason_for_sharing"]
    problem = _problem(await world.post(TRUST, "/v1/events", event), 422)
    assert ["body", "reason_for_sharing"] in _locs(problem)


async def test_unknown_recipient_agency_is_refused(world: World) -> None:
    problem = _problem(await world.publish(recipients=[COUNCIL, "NOPE1"]), 422)
    assert ["body", "recipients", 1] in _locs(problem)


async def test_body_over_256_kib_is_refused(world: World) -> None:
    event = risk_event()
    event["payload"]["actions_taken"] = ["x" * 8000] * 40
    body = json.dumps(event).encode()
    assert len(body) > 256 * 1024
    response = await world.api.post(
        "/v1/events",
        content=body,
        headers={**world.auth(TRUST), "content-type": "application/json"},
    )
    _problem(response, 413)


async def test_missing_token_is_401(world: World) -> None:
    response = await world.api.post("/v1/events", json=risk_event())
    _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_forged_token_is_401(world: World) -> None:
    token = world.tokens[TRUST]
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    response = await world.api.post(
        "/v1/events", json=risk_event(), headers={"Authorization": f"Bearer {forged}"}
    )
    _problem(response, 401)


async def test_token_without_scope_is_403(world: World) -> None:
    # The monitoring system's token: a real client's, holding metrics:read only.
    _problem(await world.post("metrics", "/v1/events", risk_event()), 403)


async def test_declined_ack_requires_reason_code(world: World) -> None:
    ack = {"outcome": "declined", "acknowledged_by": {"name": "B. Jones", "role": "SW"}}
    response = await world.post(COUNCIL, f"/v1/inbox/{uuid.uuid4()}/ack", ack)
    problem = _problem(response, 422)
    assert ["body"] in _locs(problem)


async def test_care_team_needs_exactly_one_coordinator(world: World) -> None:
    team = {"members": [{"agency": TRUST, "role": "cc", "named_lead": "A", "coordinator": False}]}
    response = await world.put(TRUST, f"/v1/subjects/{NHS_NUMBER}/care-team", team)
    _problem(response, 422)


async def test_agreement_with_unknown_party_is_refused(world: World) -> None:
    from tests.world import agreement_body

    response = await world.post("admin", "/v1/agreements", agreement_body([TRUST, "NOPE1"]))
    problem = _problem(response, 422)
    assert ["body", "parties", 1, "agency"] in _locs(problem)


async def test_expired_token_is_401(world: World, runtime: Runtime) -> None:
    from datetime import UTC, datetime, timedelta

    from broker.auth.tokens import Grant, TokenService

    settings = runtime.settings.auth
    yesterday = TokenService(
        runtime.keys.token_signing_key,
        issuer=settings.issuer,
        audience=settings.audience,
        lifetime=timedelta(minutes=15),
        clock=lambda: datetime.now(UTC) - timedelta(days=1),
    )
    token, _ = yesterday.issue(Grant("imb_old", TRUST, ["events:publish"]))
    response = await world.api.post(
        "/v1/events", json=risk_event(), headers={"Authorization": f"Bearer {token}"}
    )
    _problem(response, 401)
