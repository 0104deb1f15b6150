"""The authorization matrix, generated from /openapi.json: every operation tried with no token,
with a token lacking its scope, and by GP, a partner agency with every partner scope and no
relationship to the others' records (broker's estate of them in tests/estate.py).

The third case asserts the status each operation owes an outsider, that its body shows none of
the others' data, and that nothing was written (or, where the call is the outsider's own act,
only the outsider's own records). An operation that is not in MATRIX fails the test, so a new
route cannot ship without being tried this way.
"""

import json
import uuid
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.fhir import event_bundle
from schemas.vocabulary import Scope
from tests.estate import (
    OUTSIDER,
    Estate,
    audit_actors_since,
    build_estate,
    fill,
    foreign_in,
    request_text,
    snapshot,
)
from tests.unit.fhir_strategies import normalised
from tests.world import (
    COUNCIL,
    NHS_NUMBER,
    OTHER_NHS_NUMBER,
    PARTNER_SCOPES,
    TRUST,
    World,
    agreement_body,
    approval_by,
    crisis_plan,
    risk_event,
)

# Tokens and scopes are checked before any query: once, on SQLite. What an outsider may see of
# the others' records is decided by queries, so those run on both databases.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Writes(Enum):
    NOTHING = "nothing"
    OWN_AUDIT = "only an audit record of the outsider's own act"
    OWN = "only the outsider's own records"


@dataclass(frozen=True)
class Probe:
    status: int | tuple[int, ...]
    path: str | None = None  # the path with the estate's ids, when it has parameters
    body: Any = None
    query: dict[str, str] | None = None
    writes: Writes = Writes.NOTHING
    # For a person nobody works with yet, any agency may start the record (docs/security.md):
    # such an operation answers a never-seen person otherwise than a known one, by design.
    starts_a_record: bool = False


ACK = {"outcome": "actioned", "acknowledged_by": {"name": "G. Practitioner", "role": "GP"}}
PERSON = {"name": "G. Practitioner", "role": "GP partner"}
PLAN = crisis_plan(OUTSIDER, TRUST, trigger="Missed depot")
TEAM = {
    "members": [
        {"agency": OUTSIDER, "role": "practice", "named_lead": "G", "coordinator": True},
        {"agency": TRUST, "role": "care coordinator", "named_lead": "T", "coordinator": False},
    ]
}
PERIOD = {"from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}
SUBJECT = "/v1/subjects/{nhs}"

FHIR_PUBLIC = (
    "/fhir/R4/metadata",
    "/fhir/R4/CodeSystem/{code_system_id}",
    "/fhir/R4/MessageDefinition/{code}",
)
# The outsider's own event, to a partner it may name, as a FHIR message.
_OWN_EVENT = normalised(risk_event(recipients=[COUNCIL]))
FHIR_EVENT = event_bundle(
    _OWN_EVENT,
    sender=OUTSIDER,
    recipients=[COUNCIL],
    header_id=_OWN_EVENT["id"],
    timestamp=_OWN_EVENT["occurred_at"],
)
# A consent about a person the outsider has nothing to do with.
FHIR_CONSENT = json.loads(
    (Path(__file__).parents[2] / "deploy" / "examples" / "fhir" / "consent.json")
    .read_text()
    .replace("9997654323", NHS_NUMBER)
)

MATRIX: dict[tuple[str, str], Probe] = {
    ("POST", "/oauth/token"): Probe(401),  # tried with the council's client id: see below
    ("POST", "/v1/events"): Probe(202, body=risk_event(recipients=[COUNCIL]), writes=Writes.OWN),
    # One event it may send, and one to the care team of a person it does not care for.
    ("POST", "/v1/events:batch"): Probe(
        207, body={"events": [risk_event(recipients=[COUNCIL]), risk_event()]}, writes=Writes.OWN
    ),
    ("GET", "/v1/events/{message_id}"): Probe(404, "/v1/events/{message}"),
    ("POST", "/v1/events/{message_id}/replay"): Probe(
        404, "/v1/events/{message}/replay", {"reason": "the outsider's system lost it"}
    ),
    ("POST", "/v1/deliveries/{delivery_id}/redeliver"): Probe(
        404, "/v1/deliveries/{delivery}/redeliver", {}
    ),
    ("GET", "/v1/inbox"): Probe(200),
    ("GET", "/v1/inbox/{delivery_id}"): Probe(404, "/v1/inbox/{delivery}"),
    ("POST", "/v1/inbox/{delivery_id}/ack"): Probe(404, "/v1/inbox/{delivery}/ack", ACK),
    ("PUT", "/v1/subjects/{nhs_number}/care-team"): Probe(
        404, SUBJECT + "/care-team", TEAM, starts_a_record=True
    ),
    ("POST", "/v1/subjects/{nhs_number}/consents"): Probe(
        404, SUBJECT + "/consents", {"state": "given_explicit", "recorded_by": PERSON}
    ),
    ("GET", "/v1/subjects/{nhs_number}/consents"): Probe(404, SUBJECT + "/consents"),
    ("POST", "/v1/agreements"): Probe(422, body=agreement_body([TRUST, COUNCIL])),
    ("GET", "/v1/agreements"): Probe(200),
    ("GET", "/v1/agreements/due-for-review"): Probe(200),
    ("GET", "/v1/agreements/{agreement_id}"): Probe(404, "/v1/agreements/{agreement}"),
    ("PUT", "/v1/agreements/{agreement_id}"): Probe(
        404, "/v1/agreements/{agreement}", agreement_body([TRUST, COUNCIL])
    ),
    ("POST", "/v1/agreements/{agreement_id}/approvals"): Probe(
        404, "/v1/agreements/{agreement}/approvals", approval_by(OUTSIDER)
    ),
    ("POST", "/v1/agreements/{agreement_id}/suspend"): Probe(
        404, "/v1/agreements/{agreement}/suspend", {"reason": "Not ours to stop."}
    ),
    ("POST", "/v1/agreements/{agreement_id}/terminate"): Probe(
        404, "/v1/agreements/{agreement}/terminate", {"reason": "Not ours to end."}
    ),
    ("POST", "/v1/agreements/{agreement_id}/reinstate"): Probe(
        404, "/v1/agreements/{agreement}/reinstate", {}
    ),
    ("GET", "/v1/overrides"): Probe(200),
    ("POST", "/v1/overrides/{override_id}/review"): Probe(
        404,
        "/v1/overrides/{override}/review",
        {"outcome": "not_upheld", "note": "Not ours to judge.", "reviewed_by": PERSON},
    ),
    ("POST", "/v1/decisions/preview"): Probe(
        404,
        body={
            "recipient": TRUST,
            "subject": {"nhs_number": NHS_NUMBER},
            "event_type": "risk.changed",
            "purpose": "direct_care",
        },
    ),
    ("POST", "/v1/subjects/{nhs_number}/crisis-plans"): Probe(
        404, SUBJECT + "/crisis-plans", PLAN, starts_a_record=True
    ),
    ("GET", "/v1/subjects/{nhs_number}/crisis-plans"): Probe(200, SUBJECT + "/crisis-plans"),
    ("POST", "/v1/subjects/{nhs_number}/crisis-plans/{plan_id}/confirmations"): Probe(
        404, SUBJECT + "/crisis-plans/{plan}/confirmations", {"confirmed_by": PERSON}
    ),
    ("GET", "/v1/subjects/{nhs_number}/crisis-plans/{plan_id}"): Probe(
        404, SUBJECT + "/crisis-plans/{plan}"
    ),
    ("GET", "/v1/timeframes"): Probe(200),
    ("PUT", "/v1/timeframes"): Probe(403, body={"policies": []}),
    ("GET", "/v1/escalations"): Probe(200),
    ("GET", "/v1/escalations/{escalation_id}"): Probe(404, "/v1/escalations/{escalation}"),
    ("POST", "/v1/escalations/{escalation_id}/ack"): Probe(
        404,
        "/v1/escalations/{escalation}/ack",
        {"outcome": "actioned", "acknowledged_by": PERSON},
    ),
    ("GET", "/v1/audit/messages/{message_id}"): Probe(404, "/v1/audit/messages/{message}"),
    ("GET", "/v1/audit/subjects/{nhs_number}/trace"): Probe(
        404, "/v1/audit/subjects/{nhs}/trace", writes=Writes.OWN_AUDIT
    ),
    ("GET", "/v1/audit/records"): Probe(200),
    ("GET", "/v1/audit/verify"): Probe(200, writes=Writes.OWN_AUDIT),
    ("GET", "/v1/audit/export"): Probe(
        200, query={**PERIOD, "format": "csv"}, writes=Writes.OWN_AUDIT
    ),
    ("GET", "/v1/reports/timeliness"): Probe(200, query=PERIOD),
    ("GET", "/v1/agencies"): Probe(403),
    ("POST", "/v1/agencies"): Probe(
        403, body={"code": "ZZ9", "name": "Not an agency", "kind": "other"}
    ),
    ("POST", "/v1/clients"): Probe(403, body={"agency": COUNCIL, "scopes": ["admin"]}),
    ("GET", "/v1/clients"): Probe(403),
    ("GET", "/v1/clients/{client_id}"): Probe(403, "/v1/clients/{council_client}"),
    ("POST", "/v1/clients/{client_id}/revoke"): Probe(
        403, "/v1/clients/{council_client}/revoke", {}
    ),
    ("POST", "/v1/clients/{client_id}/rotate-secret"): Probe(
        403, "/v1/clients/{council_client}/rotate-secret", {}
    ),
    ("PUT", "/v1/agencies/{code}/rate-limits"): Probe(
        403, f"/v1/agencies/{COUNCIL}/rate-limits", {"publish": "1/minute"}
    ),
    ("GET", "/v1/agencies/{code}/rate-limits"): Probe(404, f"/v1/agencies/{COUNCIL}/rate-limits"),
    ("PUT", "/v1/agencies/{code}/duty-team"): Probe(
        403, f"/v1/agencies/{COUNCIL}/duty-team", {"name": "Mine now", "email": "gp@gp.example"}
    ),
    ("GET", "/v1/agencies/{code}/duty-team"): Probe(404, f"/v1/agencies/{COUNCIL}/duty-team"),
    ("PUT", "/v1/agencies/{code}/channel"): Probe(
        404, f"/v1/agencies/{COUNCIL}/channel", {"kind": "webhook", "url": "https://gp.example/x"}
    ),
    ("GET", "/v1/agencies/{code}/channel"): Probe(404, f"/v1/agencies/{COUNCIL}/channel"),
    ("POST", "/v1/agencies/{code}/channel/rotate-secret"): Probe(
        404, f"/v1/agencies/{COUNCIL}/channel/rotate-secret", {}
    ),
    ("GET", "/v1/dead-letters"): Probe(200),  # its own: none
    ("GET", "/v1/inbox/status"): Probe(200),  # its own: nothing given yet
    ("POST", "/v1/dead-letters/{delivery_id}/redrive"): Probe(
        404, "/v1/dead-letters/{delivery}/redrive", {}
    ),
    ("GET", "/"): Probe(200),
    ("GET", "/healthz"): Probe(200),
    ("GET", "/readyz"): Probe(503),  # no Kafka in this process: says so, and nothing more
    ("GET", "/metrics"): Probe(403),
    # FHIR: the same use cases, so the same answers to an outsider (docs/fhir.md).
    ("GET", "/fhir/R4/metadata"): Probe(200),
    ("GET", "/fhir/R4/CodeSystem/{code_system_id}"): Probe(200, "/fhir/R4/CodeSystem/imb-purpose"),
    ("GET", "/fhir/R4/MessageDefinition/{code}"): Probe(
        200, "/fhir/R4/MessageDefinition/risk-changed"
    ),
    ("POST", "/fhir/R4/$process-message"): Probe(202, body=FHIR_EVENT, writes=Writes.OWN),
    ("POST", "/fhir/R4/Consent"): Probe(404, body=FHIR_CONSENT),
    ("GET", "/fhir/R4/Consent"): Probe(404, query={"patient.identifier": NHS_NUMBER}),
    ("GET", "/fhir/R4/Consent/{consent_id}"): Probe(404, "/fhir/R4/Consent/{consent}"),
}
PUBLIC = {("GET", "/"), ("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/oauth/token")}
PUBLIC |= {("GET", path) for path in FHIR_PUBLIC}


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], set[str] | None]:
    """Every operation and the scopes it admits (None: needs no token)."""
    found = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security") or []
            scopes = next((s["oauth2"] for s in security if "oauth2" in s), None)
            found[(method.upper(), path)] = set(scopes) if scopes is not None else None
    return found


async def _call(
    world: World, headers: dict[str, str], method: str, path: str, probe: Probe
) -> httpx.Response:
    kwargs: dict[str, Any] = {"headers": headers, "params": probe.query}
    if method in {"POST", "PUT"}:
        kwargs["json"] = probe.body if probe.body is not None else {}
    return await world.api.request(method, path, **kwargs)


def _statuses(probe: Probe) -> tuple[int, ...]:
    return probe.status if isinstance(probe.status, tuple) else (probe.status,)


@pytest.fixture
async def estate(world: World) -> Estate:
    world.tokens[OUTSIDER] = await world.token_for(OUTSIDER, PARTNER_SCOPES)
    return await build_estate(world)


@SQLITE_ONLY
async def test_every_operation_is_in_the_matrix_and_every_entry_is_an_operation(
    world: World,
) -> None:
    operations = _operations((await world.api.get("/openapi.json")).json())
    assert set(operations) - set(MATRIX) == set(), "add the new operation to MATRIX"
    assert set(MATRIX) - set(operations) == set(), "MATRIX names an operation that is gone"


@SQLITE_ONLY
async def test_without_a_token_every_operation_but_the_public_ones_is_401(
    world: World, estate: Estate
) -> None:
    operations = _operations((await world.api.get("/openapi.json")).json())
    before = await snapshot(world)
    answers = {}
    for (method, template), scopes in sorted(operations.items()):
        probe = MATRIX[(method, template)]
        path = fill(probe.path or template, estate.ids)
        answers[(method, template)] = (await _call(world, {}, method, path, probe)).status_code
        if scopes is not None:
            assert answers[(method, template)] == 401, (method, template)
    assert answers[("GET", "/healthz")] == 200
    assert answers[("POST", "/oauth/token")] == 400  # a JSON body: it must be a form
    assert await snapshot(world) == before


@SQLITE_ONLY
async def test_a_token_without_the_scope_is_403_and_writes_nothing(
    world: World, estate: Estate
) -> None:
    operations = _operations((await world.api.get("/openapi.json")).json())
    narrow = {
        Scope.METRICS_READ.value: await world.token_for(OUTSIDER, [Scope.METRICS_READ]),
        Scope.INBOX_READ.value: await world.token_for(OUTSIDER, [Scope.INBOX_READ]),
    }
    before = await snapshot(world)
    tried = 0
    for (method, template), scopes in sorted(operations.items()):
        if not scopes:
            continue  # public, or any valid token will do
        scope = next(
            s for s in (Scope.METRICS_READ.value, Scope.INBOX_READ.value) if s not in scopes
        )
        probe = MATRIX[(method, template)]
        path = fill(probe.path or template, estate.ids)
        headers = {"Authorization": f"Bearer {narrow[scope]}"}
        response = await _call(world, headers, method, path, probe)
        assert response.status_code == 403, (method, template, response.text)
        tried += 1
    assert tried >= 45
    assert await snapshot(world) == before


async def test_an_outsider_agency_learns_nothing_and_changes_nothing(
    world: World, estate: Estate
) -> None:
    operations = _operations((await world.api.get("/openapi.json")).json())
    leaks: dict[tuple[str, str], list[str]] = {}
    for method, template in sorted(operations):
        probe = MATRIX[(method, template)]
        path = fill(probe.path or template, estate.ids)
        before, audit_count = await snapshot(world), len(await audit_actors_since(world, 0))
        response = await _as_outsider(world, estate, method, path, probe)
        where = (method, template)
        assert response.status_code in _statuses(probe), (where, response.text)
        leaked = foreign_in(response.text, request_text(path, probe.body))
        if leaked:
            leaks[where] = leaked
        await _check_writes(world, probe.writes, before, audit_count, where)
    assert leaks == {}


async def _as_outsider(
    world: World, estate: Estate, method: str, path: str, probe: Probe
) -> httpx.Response:
    if path == "/oauth/token":
        # The outsider's own secret, offered for the council's client.
        _, secret = world.credentials.get(OUTSIDER, ("", "not-the-council's"))
        form = {"grant_type": "client_credentials"}
        return await world.api.post(
            path, data=form, auth=(estate.ids["council_client"], secret or "guess")
        )
    return await _call(world, world.auth(OUTSIDER), method, path, probe)


async def _check_writes(
    world: World,
    writes: Writes,
    before: dict[str, str],
    audit_count: int,
    where: tuple[str, str],
) -> None:
    after = await snapshot(world)
    changed = {table for table in before if before[table] != after[table]}
    new_actors = await audit_actors_since(world, audit_count)
    if writes is Writes.NOTHING:
        assert changed == set(), (where, changed)
    elif writes is Writes.OWN_AUDIT:
        assert changed <= {"audit_records"}, (where, changed)
        assert set(new_actors) <= {OUTSIDER}, (where, new_actors)
    else:
        assert changed <= {"audit_records", "messages", "outbox", "subjects"}, (where, changed)
        assert set(new_actors) <= {OUTSIDER}, (where, new_actors)


async def test_a_404_reads_the_same_for_others_records_as_for_none_at_all(
    world: World, estate: Estate
) -> None:
    """Of every operation that answers an outsider 404 about a record named in its path, the
    answer for someone else's record and for an id that was never issued differ only in the id."""
    compared, never_issued = 0, _never_issued(estate.ids)
    for (method, template), probe in sorted(MATRIX.items()):
        if probe.status != 404 or probe.path is None or probe.starts_a_record:
            continue
        real = fill(probe.path, estate.ids)
        made_up = fill(probe.path, {**estate.ids, **never_issued})
        theirs = await _call(world, world.auth(OUTSIDER), method, real, probe)
        nobodys = await _call(world, world.auth(OUTSIDER), method, made_up, probe)
        assert nobodys.status_code == 404, (method, template, nobodys.text)
        assert _without_ids(theirs.json(), estate.ids) == _without_ids(
            nobodys.json(), never_issued
        ), (method, template)
        compared += 1
    assert compared >= 15


def _never_issued(ids: dict[str, str]) -> dict[str, str]:
    made_up = {key: str(uuid.uuid4()) for key, value in ids.items() if _is_uuid(value)}
    return {**made_up, "nhs": OTHER_NHS_NUMBER}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _without_ids(problem: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    text = json.dumps(problem)
    for value in ids.values():
        text = text.replace(value, "<id>")
    shown: dict[str, Any] = json.loads(text)
    return shown
