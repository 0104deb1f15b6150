"""The Python client an EPR integrator uses, over real HTTP on loopback: the synchronous and
asynchronous clients against IMB itself, and against a scripted server for what IMB does
not do on cue (a 429 with Retry-After, a 503, a token that stopped working)."""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from adapters.imb_client import (
    AsyncImbClient,
    ImbClient,
    ImbError,
    Retries,
    WebhookVerificationError,
    calls,
    verify_webhook,
)
from broker.api.app import create_app
from tests.receivers import free_port, serving
from tests.world import COUNCIL, NHS_NUMBER, TRUST, World, risk_event

ACK = {"outcome": "actioned", "acknowledged_by": {"name": "B. Jones", "role": "social worker"}}
QUICK = Retries(attempts=3, first_seconds=0.01, longest_seconds=0.05)
DELIVERY = "0d1c1a0e-1f0e-4c6a-9d8e-5b0c5a9a0001"
NOW = "2026-11-29T12:00:00Z"


@pytest.fixture
async def imb_url(world: World) -> AsyncIterator[str]:
    async with serving(create_app(world.rt)) as url:
        yield url


@pytest.mark.usefixtures("pipeline")
async def test_the_sync_client_publishes_catches_up_by_seq_fetches_and_acknowledges(
    world: World, imb_url: str
) -> None:
    def epr_session() -> tuple[list[int], str, dict[str, Any]]:
        with ImbClient(imb_url, *world.credentials[TRUST]) as trust:
            for _ in range(3):
                trust.publish(risk_event(recipients=[COUNCIL]))
        with ImbClient(imb_url, *world.credentials[COUNCIL]) as council:
            council.inbox(wait=10)  # answers once the first has arrived
            seen: list[int] = []
            while len(seen) < 3:
                seen += [item.seq or 0 for item in council.iter_after_seq(max(seen, default=0))]
            first = next(council.iter_after_seq(0))
            content = council.fetch(first.delivery_id)
            acked = council.acknowledge(first.delivery_id, ACK)
            return seen, content.subject["nhs_number"] or "", acked

    seqs, nhs_number, acked = await asyncio.to_thread(epr_session)

    assert seqs == [1, 2, 3], "in seq order, none twice, none missed"
    assert nhs_number == NHS_NUMBER
    assert acked["status"] == "acknowledged"


@pytest.mark.usefixtures("pipeline")
async def test_the_async_client_reaches_every_kind_of_call_with_typed_answers(
    world: World, imb_url: str
) -> None:
    async with AsyncImbClient(imb_url, *world.credentials[TRUST]) as trust:
        accepted = await trust.publish(risk_event(recipients=[COUNCIL]))
        status = await trust.event_status(accepted.message_id)
        trail = await trust.send(calls.audit_trail(accepted.message_id))
        agreements = await trust.send(calls.agreements())
        escalations = await trust.send(calls.escalations(status="open"))
        channel = await trust.send(calls.channel(TRUST))
        letters = await trust.send(calls.dead_letters())
        with pytest.raises(ImbError) as refused:
            await trust.send(calls.channel(COUNCIL))  # another agency's: does not exist

    assert status["message_id"] == str(accepted.message_id)
    assert trail["records"][0]["event"] == "event.received"
    assert agreements["items"]
    assert escalations.items == []
    assert channel.kind == "inbox"
    assert letters.items == []
    assert refused.value.status == 404
    assert refused.value.problem["title"] == "Not found"


async def test_a_request_the_client_can_tell_is_wrong_is_never_sent(world: World) -> None:
    with pytest.raises(ValueError, match="NHS number"):
        calls.replay("0d1c1a0e-1f0e-4c6a-9d8e-5b0c5a9a0001", f"patient {NHS_NUMBER}")
    with pytest.raises(ValueError, match="urgency"):
        calls.publish({**risk_event(), "urgency": "whenever"})


@dataclass
class Scripted:
    """A stand-in broker: the token endpoint, then one scripted answer per other request."""

    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, token
    tokens_issued: int = 0
    answer: dict[str, Any] = field(default_factory=lambda: {"items": []})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if scope["path"] == "/oauth/token":
            self.tokens_issued += 1
            body = {"access_token": f"token-{self.tokens_issued}", "expires_in": 900}
            return await _answer(send, 200, {}, body)
        self.seen.append((scope["method"], scope["path"], headers.get("authorization", "")))
        status, extra = self.script.pop(0) if self.script else (200, {})
        body = {"title": "scripted", "status": status} if status >= 400 else self.answer
        await _answer(send, status, extra, body)


async def _answer(send: Any, status: int, headers: dict[str, str], body: Any) -> None:
    raw = [
        (k.encode(), v.encode()) for k, v in {"content-type": "application/json", **headers}.items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def test_429_is_waited_out_as_retry_after_asks_whatever_the_call() -> None:
    broker = Scripted(script=[(429, {"retry-after": "1"}), (429, {"retry-after": "0"})])
    broker.answer = {"delivery_id": DELIVERY, "state": "pending", "next_attempt_at": NOW}
    async with serving(broker) as url, AsyncImbClient(url, "id", "secret", retries=QUICK) as imb:
        began = asyncio.get_running_loop().time()
        redriven = await imb.send(calls.redrive(DELIVERY))
        waited = asyncio.get_running_loop().time() - began

    assert [method for method, _, _ in broker.seen] == ["POST"] * 3, "a 429 was not processed"
    assert str(redriven.delivery_id) == DELIVERY
    assert waited >= 1.0, "it waited as long as Retry-After asked"


async def test_a_503_is_retried_for_a_read_but_not_for_an_acknowledgement() -> None:
    broker = Scripted(script=[(503, {}), (200, {}), (503, {})])
    async with serving(broker) as url, AsyncImbClient(url, "id", "secret", retries=QUICK) as imb:
        await imb.send(calls.dead_letters())
        with pytest.raises(ImbError) as refused:
            await imb.send(calls.acknowledge("0d1c1a0e-1f0e-4c6a-9d8e-5b0c5a9a0001", ACK))

    assert [m for m, _, _ in broker.seen] == ["GET", "GET", "POST"]
    assert refused.value.status == 503, "an acknowledgement may have landed: not sent twice"


async def test_retries_give_up_after_the_budget_and_say_why() -> None:
    broker = Scripted(script=[(503, {})] * 10)
    async with serving(broker) as url, AsyncImbClient(url, "id", "secret", retries=QUICK) as imb:
        with pytest.raises(ImbError) as refused:
            await imb.send(calls.inbox_status())

    assert len(broker.seen) == 1 + QUICK.attempts
    assert refused.value.status == 503


async def test_a_token_that_stops_working_is_renewed_once() -> None:
    broker = Scripted(script=[(401, {}), (200, {}), (401, {}), (401, {})])
    async with serving(broker) as url, AsyncImbClient(url, "id", "secret", retries=QUICK) as imb:
        await imb.send(calls.dead_letters())
        with pytest.raises(ImbError) as refused:
            await imb.send(calls.dead_letters())

    assert [token for _, _, token in broker.seen[:2]] == ["Bearer token-1", "Bearer token-2"]
    assert refused.value.status == 401, "a token refused twice in a row is a real refusal"


async def test_an_unreachable_broker_is_retried_only_for_what_is_safe_to_repeat() -> None:
    """A read waits for the broker to come back; an acknowledgement fails at once, since its
    outcome would be unknown had the connection broken after sending."""
    port, broker = free_port(), Scripted()
    patient = Retries(attempts=40, first_seconds=0.05, longest_seconds=0.1)
    async with AsyncImbClient(f"http://127.0.0.1:{port}", "id", "secret", retries=patient) as imb:
        imb._token.take({"access_token": "t", "expires_in": 900})  # the broker is not up yet
        with pytest.raises(httpx.ConnectError):
            await imb.send(calls.acknowledge(DELIVERY, ACK))
        reading = asyncio.create_task(imb.send(calls.dead_letters()))
        await asyncio.sleep(0.3)
        async with serving(broker, port):
            page = await reading

    assert page.items == []
    assert [method for method, _, _ in broker.seen] == ["GET"], "the ack was never sent again"


def test_verify_webhook_checks_the_signature_with_either_secret_of_a_rotation() -> None:
    old, new = (
        "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
    )
    body = json.dumps({"id": "d-1", "type": "uk.imb.risk.changed.v1", "data": {"seq": 7}})
    at = datetime.now(UTC)
    headers = {
        "Webhook-Id": "d-1",
        "Webhook-Timestamp": str(int(at.timestamp())),
        "Webhook-Signature": Webhook(new).sign("d-1", at, body),
    }

    event = verify_webhook(headers, body.encode(), [old, new])

    assert (event.id, event.seq, event.is_heartbeat) == ("d-1", 7, False)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, body.replace("7", "8"), [old, new])
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, body, old)


def _every_call() -> list[calls.Call[Any]]:
    """One of each call the client offers, with made-up arguments (built, not sent)."""
    some, nhs, when = DELIVERY, NHS_NUMBER, datetime(2026, 11, 1, tzinfo=UTC)
    agreement = {"title": "t", "parties": [TRUST, COUNCIL], "terms": {}}
    return [
        calls.publish(risk_event()),
        calls.publish_batch([risk_event()]),
        calls.event_status(some),
        calls.replay(some, "restored from backup"),
        calls.inbox(),
        calls.inbox_status(),
        calls.fetch(some),
        calls.acknowledge(some, ACK),
        calls.redeliver(some),
        calls.dead_letters(),
        calls.redrive(some),
        calls.agencies(),
        calls.Call("POST", "/v1/agencies", dict),  # register_agency: body checked elsewhere
        calls.channel(COUNCIL),
        calls.set_channel(COUNCIL, {"kind": "inbox"}),
        calls.rotate_channel_secret(COUNCIL),
        calls.duty_team(COUNCIL),
        calls.set_duty_team(COUNCIL, {"name": "n", "email": "d@council.test"}),
        calls.rate_limits(COUNCIL),
        calls.set_rate_limits(COUNCIL, {}),
        calls.clients(),
        calls.client("c"),
        calls.register_client({"agency": COUNCIL, "scopes": ["inbox:read"]}),
        calls.revoke_client("c"),
        calls.rotate_client_secret("c"),
        calls.agreements(),
        calls.agreements_due_for_review(),
        calls.agreement(some),
        calls.Call("POST", "/v1/agreements", dict, body=agreement),
        calls.Call("PUT", "/v1/agreements/{agreement_id}", dict, body=agreement),
        calls.Call("POST", "/v1/agreements/{agreement_id}/approvals", dict),
        calls.Call("POST", "/v1/agreements/{agreement_id}/suspend", dict),
        calls.Call("POST", "/v1/agreements/{agreement_id}/terminate", dict),
        calls.reinstate_agreement(some),
        calls.Call("POST", "/v1/decisions/preview", dict),
        calls.Call("PUT", "/v1/subjects/{nhs_number}/care-team", dict),
        calls.consents(nhs),
        calls.Call("POST", "/v1/subjects/{nhs_number}/consents", dict),
        calls.crisis_plans(nhs),
        calls.crisis_plan(nhs, some),
        calls.Call("POST", "/v1/subjects/{nhs_number}/crisis-plans", dict),
        calls.Call("POST", "/v1/subjects/{nhs_number}/crisis-plans/{plan_id}/confirmations", dict),
        calls.escalations(),
        calls.escalation(some),
        calls.Call("POST", "/v1/escalations/{escalation_id}/ack", dict),
        calls.overrides(),
        calls.Call("POST", "/v1/overrides/{override_id}/review", dict),
        calls.timeframes(),
        calls.Call("PUT", "/v1/timeframes", dict),
        calls.audit_trail(some),
        calls.subject_trace(nhs),
        calls.audit_records(),
        calls.verify_audit(),
        calls.audit_export(when, when),
        calls.timeliness_report(when, when),
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_client_has_a_call_for_every_v1_operation(world: World) -> None:
    spec = (await world.api.get("/openapi.json")).json()
    operations = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    v1 = {(m, p) for m, p in operations if p.startswith("/v1/")}
    templates = {(m, p) for m, p in v1}
    offered = {(call.method, _template(call.path, templates)) for call in _every_call()}
    named = {name for name in dir(calls) if not name.startswith("_")}

    assert v1 - offered == set(), "add a function to adapters/imb_client/calls.py"
    for builder in ("register_agency", "create_agreement", "revise_agreement"):
        assert builder in named
    for builder in ("approve_agreement", "suspend_agreement", "terminate_agreement"):
        assert builder in named
    for builder in ("preview_decision", "set_care_team", "record_consent", "set_timeframes"):
        assert builder in named
    for builder in ("propose_crisis_plan", "confirm_crisis_plan", "acknowledge_escalation"):
        assert builder in named
    assert "review_override" in named


def _template(path: str, templates: set[tuple[str, str]]) -> str:
    """The OpenAPI path template a concrete path matches, a literal segment before a parameter."""
    for template in sorted({t for _, t in templates}, key=lambda t: t.count("{")):
        parts, given = template.split("/"), path.split("/")
        if len(parts) == len(given) and all(
            p == g or (p.startswith("{") and p.endswith("}"))
            for p, g in zip(parts, given, strict=True)
        ):
            return template
    return path
