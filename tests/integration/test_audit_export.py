"""Exporting the audit trail: FHIR AuditEvents and CSV, streamed, an agency's own part only."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent

from broker.audit import records_stream
from broker.audit.export_csv import HEADER, csv_row
from broker.audit.export_fhir import audit_event
from broker.db.models import AuditRecord
from schemas.vocabulary import Scope
from tests.integration.deadlines import dispatched_here, routed_here
from tests.rows import row_counts
from tests.world import COUNCIL, HOUSING, NHS_NUMBER, TRUST, World, risk_event

ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
AUDITOR = "CQC"
DCM = "http://dicom.nema.org/resources/ontology/DCM"


def _period() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }


async def test_fhir_export_validates_maps_the_codes_and_never_carries_the_nhs_number(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.tokens[AUDITOR] = await world.token_for(AUDITOR, [Scope.AUDIT_READ, Scope.ADMIN])
    monkeypatch.setattr(records_stream, "EXPORT_BATCH", 3)
    to_council = await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))
    to_housing = await routed_here(world, TRUST, risk_event(recipients=[HOUSING]))
    await dispatched_here(world.rt, [to_council, to_housing])

    response = await world.get(AUDITOR, "/v1/audit/export", format="fhir", **_period())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+ndjson")
    assert NHS_NUMBER not in response.text
    events = [AuditEvent.parse_raw(line) for line in response.text.splitlines()]
    assert len(events) == (await row_counts(world.rt, AuditRecord))["audit_records"] > 3
    ids = [int(e.id.removeprefix("imb-audit-")) for e in events]
    assert ids == sorted(set(ids))
    by_event = {e.subtype[0].code: e for e in events}
    assert by_event["delivery.delivered"].type.code == "110106"
    exported = by_event["audit.exported"]  # this export, on the record before it streamed
    assert (exported.type.code, exported.action) == ("110106", "R")
    assert exported.agent[0].who.identifier.value == AUDITOR
    decided = by_event["delivery.decided"]
    assert (decided.type.system, decided.type.code, decided.outcome) == (DCM, "110113", "0")
    assert decided.purposeOfEvent[0].coding[0].code == "TREAT"
    identifiers = {ent.what.identifier.system: ent.what.identifier.value for ent in decided.entity}
    assert identifiers["urn:imb:message"] in {str(to_council), str(to_housing)}
    assert identifiers["urn:imb:subject-pseudonym"] != NHS_NUMBER
    received = by_event["event.received"]
    assert received.agent[0].who.identifier.value == TRUST
    assert received.agent[0].requestor is True
    assert received.agent[-1].requestor is False
    assert received.source.observer.display == "IMB"


async def test_csv_export_is_an_agencys_own_part_safe_for_a_spreadsheet(world: World) -> None:
    to_council = await routed_here(world, TRUST, risk_event(recipients=[COUNCIL]))
    to_housing = await routed_here(world, TRUST, risk_event(recipients=[HOUSING]))
    await dispatched_here(world.rt, [to_council, to_housing])

    period = _period()
    council = await world.get(COUNCIL, "/v1/audit/export", format="csv", **period)
    trust = await world.get(TRUST, "/v1/audit/export", format="csv", **_period())

    assert council.status_code == 200, council.text
    assert council.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(council.text)))
    assert {r["message_id"] for r in rows if r["message_id"]} == {str(to_council)}
    assert {r["event"] for r in rows} >= {"event.received", "delivery.decided"}
    assert NHS_NUMBER not in council.text
    assert all(json.loads(r["detail"]) is not None for r in rows)
    # The export itself is on the record, written before the first row went out.
    (exported,) = [json.loads(r["detail"]) for r in rows if r["event"] == "audit.exported"]
    assert exported == {**period, "format": "csv", "agencies": COUNCIL}
    trust_rows = list(csv.DictReader(io.StringIO(trust.text)))
    assert {r["message_id"] for r in trust_rows} >= {str(to_council), str(to_housing)}


@ONE_DATABASE
async def test_bad_export_requests_are_422_with_the_field_path_and_write_nothing(
    world: World,
) -> None:
    cases = {
        ("query", "format"): {**_period(), "format": "xml"},
        ("query", "from"): {"format": "csv", "from": "yesterday", "to": _period()["to"]},
        ("query", "to"): {"format": "csv", "from": _period()["to"], "to": _period()["from"]},
    }
    before = await row_counts(world.rt, AuditRecord)
    for loc, params in cases.items():
        response = await world.get(COUNCIL, "/v1/audit/export", **params)

        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [tuple(e["loc"]) for e in response.json()["errors"]] == [loc]
    assert await row_counts(world.rt, AuditRecord) == before


def test_a_denial_is_a_minor_failure_an_override_its_own_type_and_formulas_are_neutralised() -> (
    None
):
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    denied = AuditRecord(
        id=7,
        recorded_at=at,
        event="delivery.decided",
        actor_agency=None,
        actor_client=None,
        message_id=None,
        delivery_id=None,
        subject_pseudonym="-p1",
        payload_digest=None,
        detail={"outcome": "deny", "reason": "=HYPERLINK('x')"},
    )
    override = AuditRecord(
        id=8,
        recorded_at=at,
        event="override.opened",
        actor_agency="@evil",
        actor_client="+client",
        message_id=None,
        delivery_id=None,
        subject_pseudonym=None,
        payload_digest=None,
        detail={},
    )

    alert = AuditEvent.parse_obj(audit_event(denied, "ETREAT"))
    opened = AuditEvent.parse_obj(audit_event(override, None))
    row = csv_row(denied)
    override_row = csv_row(override)

    assert (alert.type.code, alert.outcome, alert.action) == ("110113", "4", "E")
    assert alert.purposeOfEvent[0].coding[0].code == "ETREAT"
    assert (opened.type.code, opened.outcome, opened.action) == ("110127", "0", "C")
    assert row[HEADER.index("subject_pseudonym")] == "'-p1"
    assert json.loads(row[HEADER.index("detail")])["outcome"] == "deny"
    assert override_row[HEADER.index("actor_agency")] == "'@evil"
    assert override_row[HEADER.index("actor_client")] == "'+client"
