"""IMB in FHIR R4, from the outside: an EPR's FHIR interface publishes at $process-message,
receives deliveries as FHIR messages, acknowledges with a response message and records
consent as a FHIR Consent; every refusal is an OperationOutcome and writes nothing."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from adapters.fhir import (
    acknowledgement_bundle,
    delivery_from_bundle,
    event_bundle,
    transient_error_bundle,
)
from adapters.fhir.names import extension_url
from broker.db.models import AuditRecord, ConsentRecord, Message
from tests.unit.fhir_strategies import PAYLOADS, normalised
from tests.world import (
    COUNCIL,
    GP,
    HOUSING,
    NHS_NUMBER,
    TRUST,
    World,
    crisis_event,
    eventually,
    risk_event,
)

pytestmark = pytest.mark.usefixtures("pipeline")
FHIR_JSON = "application/fhir+json"
EXAMPLES = Path(__file__).parents[2] / "deploy" / "examples" / "fhir"
PROCESS_MESSAGE = "/fhir/R4/$process-message"


def disengagement_event(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return risk_event(
        type="engagement.disengaged",
        urgency="routine",
        payload={
            "last_contact_at": (now - timedelta(days=12)).isoformat(),
            "missed_contacts": 3,
            "attempts": [
                {
                    "at": (now - timedelta(days=5)).isoformat(),
                    "method": "phone",
                    "outcome": "no answer",
                },
                {
                    "at": (now - timedelta(days=2)).isoformat(),
                    "method": "visit",
                    "outcome": "no one in",
                },
            ],
            "current_risk_level": "high",
            "actions_requested": ["housing officer to call round"],
        },
        **overrides,
    )


def as_fhir(event: dict[str, Any], sender: str = TRUST) -> dict[str, Any]:
    return event_bundle(
        normalised(event),
        sender=sender,
        recipients=event.get("recipients") or [],
        header_id=event["id"],
        timestamp=datetime.now(UTC).isoformat(),
    )


async def post_fhir(world: World, who: str, path: str, body: Any) -> Any:
    return await world.api.post(
        path,
        content=json.dumps(body),
        headers={**world.auth(who), "Content-Type": FHIR_JSON, "Accept": FHIR_JSON},
    )


async def delivered_to(world: World, agency: str, message_id: str) -> dict[str, Any]:
    items = await eventually(
        lambda: world.inbox(agency),
        lambda found: any(i["message_id"] == message_id for i in found),
    )
    return next(i for i in items if i["message_id"] == message_id)


async def fetched(world: World, agency: str, delivery_id: str, accept: str) -> Any:
    return await world.api.get(
        f"/v1/inbox/{delivery_id}", headers={**world.auth(agency), "Accept": accept}
    )


async def rows(world: World, model: Any) -> int:
    async with world.rt.db.unit_of_work() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


def _the_event_as_received(content: dict[str, Any]) -> dict[str, Any]:
    """What a recipient learns of the sender's event, from the inbox JSON."""
    keys = ("type", "purpose", "urgency", "reason_for_sharing", "override", "payload", "subject")
    return {key: content[key] for key in keys}


@pytest.mark.parametrize("make_event", [risk_event, disengagement_event, crisis_event])
async def test_each_event_published_in_fhir_arrives_whole_as_imb_json_and_as_fhir(
    world: World, make_event: Any
) -> None:
    event = make_event(recipients=[COUNCIL])
    answer = await post_fhir(world, TRUST, PROCESS_MESSAGE, as_fhir(event))
    assert answer.status_code == 202, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    response = answer.json()
    header = response["entry"][0]["resource"]
    assert (header["response"]["code"], header["response"]["identifier"]) == ("ok", event["id"])
    message_id = answer.headers["Location"].removeprefix("/v1/events/")

    item = await delivered_to(world, COUNCIL, message_id)
    as_json = (await fetched(world, COUNCIL, item["delivery_id"], "application/json")).json()
    as_fhir_answer = await fetched(world, COUNCIL, item["delivery_id"], FHIR_JSON)

    # Every field the sender gave survives into the recipient's IMB JSON …
    sent = normalised(event)
    assert _the_event_as_received(as_json) == {
        **{key: sent[key] for key in ("type", "purpose", "urgency", "reason_for_sharing")},
        "override": None,
        "payload": sent["payload"],
        "subject": {"nhs_number": NHS_NUMBER, "local_id": sent["subject"]["local_id"]},
    }
    # … and into the FHIR message, which says what it is and on which agreement it came.
    assert as_fhir_answer.status_code == 200, as_fhir_answer.text
    assert as_fhir_answer.headers["content-type"].startswith(FHIR_JSON)
    bundle = as_fhir_answer.json()
    Bundle.parse_obj(bundle)
    read_back = delivery_from_bundle(bundle)
    assert read_back.event["payload"] == as_json["payload"]
    assert read_back.event["subject"]["nhs_number"] == NHS_NUMBER
    decision = (await world.get(TRUST, f"/v1/events/{message_id}")).json()["recipients"][0]
    assert read_back.agreement is not None
    assert str(decision["agreement_id"]) in read_back.agreement
    assert read_back.lawful_bases["art6"], "the lawful bases the decision rested on"


async def test_imb_json_in_and_fhir_in_give_the_same_delivery(world: World) -> None:
    """The same event sent once as IMB JSON and once as FHIR reaches the recipient the same."""
    by_json = risk_event(recipients=[COUNCIL])
    by_fhir = {**by_json, "id": str(uuid.uuid4())}
    json_answer = await world.post(TRUST, "/v1/events", by_json)
    fhir_answer = await post_fhir(world, TRUST, PROCESS_MESSAGE, as_fhir(by_fhir))
    assert (json_answer.status_code, fhir_answer.status_code) == (202, 202)

    ids = [json_answer.json()["message_id"], fhir_answer.headers["Location"].split("/")[-1]]
    shown = []
    for message_id in ids:
        item = await delivered_to(world, COUNCIL, message_id)
        shown.append((await fetched(world, COUNCIL, item["delivery_id"], FHIR_JSON)).json())
    events = [delivery_from_bundle(bundle).event for bundle in shown]
    for event in events:
        del event["id"]
    assert events[0] == events[1]


async def test_the_same_message_again_is_the_same_message(world: World) -> None:
    bundle = as_fhir(risk_event(recipients=[COUNCIL]))
    first = await post_fhir(world, TRUST, PROCESS_MESSAGE, bundle)
    again = await post_fhir(world, TRUST, PROCESS_MESSAGE, bundle)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.headers["Location"] == again.headers["Location"]
    assert await rows(world, Message) == 1


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload_and_type=st.sampled_from(sorted(PAYLOADS)).flatmap(
        lambda kind: PAYLOADS[kind].map(lambda payload: (kind, payload))
    )
)
async def test_any_payload_published_in_fhir_is_received_unchanged(
    world: World, payload_and_type: tuple[str, dict[str, Any]]
) -> None:
    kind, payload = payload_and_type
    payload = {**payload, "crisis_plan_id": None} if kind == "crisis.occurred" else payload
    event = risk_event(type=kind, payload=payload, recipients=[COUNCIL])
    answer = await post_fhir(world, TRUST, PROCESS_MESSAGE, as_fhir(event))
    assert answer.status_code == 202, answer.text
    item = await delivered_to(world, COUNCIL, answer.headers["Location"].split("/")[-1])
    as_json = (await fetched(world, COUNCIL, item["delivery_id"], "application/json")).json()
    as_fhir_bundle = (await fetched(world, COUNCIL, item["delivery_id"], FHIR_JSON)).json()
    assert as_json["payload"] == normalised(event)["payload"]
    assert delivery_from_bundle(as_fhir_bundle).event["payload"] == as_json["payload"]


def _without_patient(bundle: dict[str, Any]) -> dict[str, Any]:
    kept = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Patient"]
    return {**bundle, "entry": kept}


def _with_event_code(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    changed = json.loads(json.dumps(bundle))
    changed["entry"][0]["resource"]["eventCoding"]["code"] = code
    return changed


def _with_nhs_number(bundle: dict[str, Any], number: str) -> dict[str, Any]:
    return json.loads(json.dumps(bundle).replace(NHS_NUMBER, number))


def _with_a_bad_date(bundle: dict[str, Any]) -> dict[str, Any]:
    changed = json.loads(json.dumps(bundle))
    changed["timestamp"] = "the day before yesterday"
    return changed


BAD_BUNDLES = [
    ("a transaction", lambda b: {**b, "type": "transaction"}, 422, "Bundle.type"),
    ("no Patient", _without_patient, 422, "resource.subject"),
    ("unknown event", lambda b: _with_event_code(b, "moved-house"), 422, "eventCoding"),
    ("bad check digit", lambda b: _with_nhs_number(b, "9434765918"), 422, "identifier"),
    ("not FHIR", _with_a_bad_date, 422, "Bundle.timestamp"),
]


@pytest.mark.parametrize(
    ("change", "status", "where"),
    [case[1:] for case in BAD_BUNDLES],
    ids=[case[0] for case in BAD_BUNDLES],
)
async def test_a_bundle_imb_cannot_take_is_an_operation_outcome_and_writes_nothing(
    world: World, change: Any, status: int, where: str
) -> None:
    before = (await rows(world, Message), await rows(world, AuditRecord))
    answer = await post_fhir(world, TRUST, PROCESS_MESSAGE, change(as_fhir(risk_event())))

    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    expressions = [e for issue in outcome["issue"] for e in issue.get("expression", [])]
    assert any(where in expression for expression in expressions), outcome
    assert NHS_NUMBER not in answer.text and "9434765918" not in answer.text, "no NHS number"
    assert (await rows(world, Message), await rows(world, AuditRecord)) == before


def _expressions(answer: Any) -> list[str]:
    return [e for issue in answer.json()["issue"] for e in issue.get("expression", [])]


async def test_a_refusal_made_after_mapping_points_into_the_message_that_was_sent(
    world: World,
) -> None:
    """IMB's own checks of an event (who it may go to) run after the message is read; their
    refusals still point at the FHIR element the sender wrote, never at IMB's field names."""
    before = (await rows(world, Message), await rows(world, AuditRecord))
    unknown = await post_fhir(
        world, TRUST, PROCESS_MESSAGE, as_fhir(risk_event(recipients=[COUNCIL, "ZZ999"]))
    )
    to_the_care_team = risk_event()
    to_the_care_team.pop("recipients", None)
    from_outside = await post_fhir(world, GP, PROCESS_MESSAGE, as_fhir(to_the_care_team, GP))

    assert (unknown.status_code, from_outside.status_code) == (422, 422)
    [unknown_where] = _expressions(unknown)
    # The second destination's receiver: the Organization it names, where its ODS code is.
    bundle = as_fhir(risk_event(recipients=[COUNCIL, "ZZ999"]))
    index = int(unknown_where.split("[")[1].split("]")[0])
    assert bundle["entry"][index]["resource"]["identifier"][0]["value"] == "ZZ999"
    assert unknown_where == f"Bundle.entry[{index}].resource.identifier[0].value"
    assert _expressions(from_outside) == ["Bundle.entry[0].resource.destination"]
    assert (await rows(world, Message), await rows(world, AuditRecord)) == before


async def test_a_consent_refused_after_mapping_points_into_the_consent_that_was_sent(
    world: World,
) -> None:
    consent = _consent()
    superseding = {"reference": f"Consent/{uuid.uuid4()}"}
    consent["extension"].append({"url": extension_url("supersedes"), "valueReference": superseding})

    answer = await post_fhir(world, TRUST, "/fhir/R4/Consent", consent)

    assert answer.status_code == 422, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"
    where = _expressions(answer)
    # The record named is no refusal of this person's, and a refusal sets nothing aside.
    last = len(consent["extension"]) - 1
    assert f"Consent.extension[{last}].valueReference.reference" in where
    assert any(e.startswith("Consent.extension[") and e.endswith(".code") for e in where)
    assert not any(e.startswith(("body", "supersedes", "state")) for e in where), where
    assert await rows(world, ConsentRecord) == 0


async def test_sending_as_another_agency_or_without_the_scope_is_refused(world: World) -> None:
    before = await rows(world, Message)
    as_other = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, as_fhir(risk_event()))
    world.tokens["reader"] = await world.token_for(TRUST, [])
    unscoped = await post_fhir(world, "reader", PROCESS_MESSAGE, as_fhir(risk_event()))
    anonymous = await world.api.post(PROCESS_MESSAGE, json=as_fhir(risk_event()))
    not_json = await world.api.post(
        PROCESS_MESSAGE, content=b"{not json", headers=world.auth(TRUST)
    )

    assert [r.status_code for r in (as_other, unscoped, anonymous, not_json)] == [
        403,
        403,
        401,
        400,
    ]
    for refused in (as_other, unscoped, anonymous, not_json):
        assert refused.json()["resourceType"] == "OperationOutcome"
    assert "RX4" in as_other.json()["issue"][0]["diagnostics"]
    assert await rows(world, Message) == before


async def test_a_response_message_acknowledges_and_only_the_recipient_may_send_it(
    world: World,
) -> None:
    answer = await world.publish(TRUST, recipients=[COUNCIL])
    item = await delivered_to(world, COUNCIL, answer.json()["message_id"])
    ack = {"outcome": "declined", "reason_code": "not_known_to_service"}
    ack["acknowledged_by"] = {"name": "B. Jones", "role": "social worker"}  # type: ignore[assignment]
    now = datetime.now(UTC).isoformat()

    def response(sender: str) -> dict[str, Any]:
        return acknowledgement_bundle(
            item["delivery_id"], ack, sender=sender, message_id=str(uuid.uuid4()), timestamp=now
        )

    transient = transient_error_bundle(
        item["delivery_id"], sender=COUNCIL, message_id=str(uuid.uuid4()), timestamp=now
    )
    not_yet = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, transient)
    still = (await world.get(COUNCIL, f"/v1/inbox/{item['delivery_id']}")).json()
    by_housing = await post_fhir(world, HOUSING, PROCESS_MESSAGE, response(HOUSING))
    by_council = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, response(COUNCIL))

    assert not_yet.status_code == 200 and still["acknowledged_at"] is None
    assert by_housing.status_code == 404, "another agency learns nothing of the delivery"
    assert by_housing.json()["resourceType"] == "OperationOutcome"
    assert by_council.status_code == 200, by_council.text
    assert by_council.json()["entry"][0]["resource"]["response"]["code"] == "ok"
    shown = (await world.get(COUNCIL, f"/v1/inbox/{item['delivery_id']}")).json()
    assert (shown["outcome"], shown["reason_code"]) == ("declined", "not_known_to_service")


async def test_the_same_acknowledgement_again_is_answered_as_before_and_another_is_a_409(
    world: World,
) -> None:
    """A FHIR sender that hears nothing sends its response message again: the same
    acknowledgement is answered as the first was, and records nothing more."""
    answer = await world.publish(TRUST, recipients=[COUNCIL])
    item = await delivered_to(world, COUNCIL, answer.json()["message_id"])
    by = {"name": "B. Jones", "role": "social worker"}
    declined = {"outcome": "declined", "reason_code": "not_known_to_service", "acknowledged_by": by}
    with_note = {**declined, "note": "closed to us in 2024"}
    accepted = {"outcome": "accepted", "acknowledged_by": by}

    def response(ack: dict[str, Any]) -> dict[str, Any]:
        return acknowledgement_bundle(
            item["delivery_id"],
            ack,
            sender=COUNCIL,
            message_id=str(uuid.uuid4()),
            timestamp=datetime.now(UTC).isoformat(),
        )

    first = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, response(with_note))
    recorded = await rows(world, AuditRecord)
    again = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, response(with_note))
    without_the_note = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, response(declined))
    otherwise = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, response(accepted))

    assert (first.status_code, again.status_code) == (200, 200), again.text
    header = again.json()["entry"][0]["resource"]
    assert header["response"]["code"] == "ok"
    assert (without_the_note.status_code, otherwise.status_code) == (409, 409)
    assert otherwise.json()["resourceType"] == "OperationOutcome"
    assert await rows(world, AuditRecord) == recorded, "a replay records nothing"
    shown = (await world.get(COUNCIL, f"/v1/inbox/{item['delivery_id']}")).json()
    assert (shown["outcome"], shown["reason_code"]) == ("declined", "not_known_to_service")


def _consent(nhs_number: str = NHS_NUMBER, provision: str = "deny") -> dict[str, Any]:
    example = json.loads((EXAMPLES / "consent.json").read_text())
    changed = json.loads(json.dumps(example).replace("9997654323", nhs_number))
    changed["provision"]["type"] = provision
    return changed


async def test_consent_recorded_in_fhir_is_the_same_record_and_is_searchable(
    world: World,
) -> None:
    example = json.loads((EXAMPLES / "consent.json").read_text())
    consent = json.loads(json.dumps(example).replace("9997654323", NHS_NUMBER))
    created = await post_fhir(world, TRUST, "/fhir/R4/Consent", consent)
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]
    assert created.headers["Location"] == f"/fhir/R4/Consent/{record_id}"

    found = await world.api.get(
        "/fhir/R4/Consent",
        params={"patient.identifier": f"https://fhir.nhs.uk/Id/nhs-number|{NHS_NUMBER}"},
        headers=world.auth(TRUST),
    )
    as_json = await world.get(TRUST, f"/v1/subjects/{NHS_NUMBER}/consents")

    assert found.status_code == 200, found.text
    searchset = found.json()
    assert (searchset["type"], searchset["total"]) == ("searchset", 1)
    assert searchset["entry"][0]["resource"] == created.json()
    [record] = as_json.json()["items"]
    assert record["id"] == record_id
    assert record["state"] in ("refused", "withdrawn", "objection_recorded")


async def test_consent_from_outside_the_care_team_or_malformed_writes_nothing(
    world: World,
) -> None:
    outsider = await post_fhir(world, GP, "/fhir/R4/Consent", _consent())
    search = await world.api.get(
        "/fhir/R4/Consent", params={"patient.identifier": NHS_NUMBER}, headers=world.auth(GP)
    )
    broken = _consent()
    broken["provision"]["type"] = "maybe"
    malformed = await post_fhir(world, TRUST, "/fhir/R4/Consent", broken)
    bad_number = await world.api.get(
        "/fhir/R4/Consent", params={"patient.identifier": "9434765918"}, headers=world.auth(TRUST)
    )

    # As on the JSON API, an agency outside the care team learns nothing of the person.
    assert (outsider.status_code, search.status_code) == (404, 404)
    assert malformed.status_code == 422
    assert bad_number.status_code == 422
    for refused in (outsider, search, malformed, bad_number):
        assert refused.json()["resourceType"] == "OperationOutcome", refused.text
    assert any("provision" in e for i in malformed.json()["issue"] for e in i.get("expression", []))
    assert await rows(world, ConsentRecord) == 0


async def test_the_capability_statement_and_code_systems_are_public(world: World) -> None:
    metadata = await world.api.get("/fhir/R4/metadata")
    events = await world.api.get("/fhir/R4/CodeSystem/imb-event-type")
    definition = await world.api.get("/fhir/R4/MessageDefinition/crisis-occurred")
    missing = await world.api.get("/fhir/R4/CodeSystem/nothing-here")

    statement = metadata.json()
    assert (statement["resourceType"], statement["fhirVersion"]) == ("CapabilityStatement", "4.0.1")
    assert statement["messaging"][0]["endpoint"][0]["address"].endswith("/fhir/R4/$process-message")
    codes = {c["code"] for c in events.json()["concept"]}
    assert {"risk-changed", "engagement-disengaged", "crisis-occurred"} <= codes
    assert definition.json()["focus"][0]["code"] == "Encounter"
    assert missing.status_code == 404
    assert missing.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "example", ["risk-changed.json", "engagement-disengaged.json", "crisis-occurred.json"]
)
async def test_the_published_examples_are_accepted(world: World, example: str) -> None:
    bundle = json.loads((EXAMPLES / example).read_text())
    answer = await post_fhir(world, TRUST, PROCESS_MESSAGE, bundle)
    assert answer.status_code == 202, answer.text


async def test_a_body_too_large_is_refused_in_fhir_too(world: World) -> None:
    limit = world.rt.settings.max_body_bytes
    answer = await world.api.post(
        PROCESS_MESSAGE, content=b" " * (limit + 1), headers=world.auth(TRUST)
    )
    assert answer.status_code == 413
    assert answer.json()["resourceType"] == "OperationOutcome"
    assert answer.json()["issue"][0]["code"] == "too-long"


async def test_deeply_nested_json_is_a_400_not_a_crash(world: World) -> None:
    nested = b"[" * 5000 + b"]" * 5000
    answer = await world.api.post(PROCESS_MESSAGE, content=nested, headers=world.auth(TRUST))
    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"


async def test_fhir_publishing_counts_against_the_agencys_publishing_limit(world: World) -> None:
    limits = {"publish": "2/hour", "read": None}
    assert (await world.put("admin", f"/v1/agencies/{TRUST}/rate-limits", limits)).is_success
    answers = [
        await post_fhir(world, TRUST, PROCESS_MESSAGE, as_fhir(risk_event(recipients=[COUNCIL])))
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[2].json()["resourceType"] == "OperationOutcome"
    assert int(answers[2].headers["retry-after"]) >= 1
    assert await rows(world, Message) == 2


async def test_a_transient_error_about_anothers_delivery_is_a_404(world: World) -> None:
    answer = await world.publish(TRUST, recipients=[COUNCIL])
    item = await delivered_to(world, COUNCIL, answer.json()["message_id"])
    now = datetime.now(UTC).isoformat()
    by_housing = transient_error_bundle(
        item["delivery_id"], sender=HOUSING, message_id=str(uuid.uuid4()), timestamp=now
    )
    never_issued = transient_error_bundle(
        str(uuid.uuid4()), sender=COUNCIL, message_id=str(uuid.uuid4()), timestamp=now
    )
    theirs = await post_fhir(world, HOUSING, PROCESS_MESSAGE, by_housing)
    nobodys = await post_fhir(world, COUNCIL, PROCESS_MESSAGE, never_issued)
    assert (theirs.status_code, nobodys.status_code) == (404, 404)
    assert theirs.json()["resourceType"] == nobodys.json()["resourceType"] == "OperationOutcome"


async def test_a_recorded_consent_is_read_where_location_says_and_by_nobody_else(
    world: World,
) -> None:
    created = await post_fhir(world, TRUST, "/fhir/R4/Consent", _consent())
    location = created.headers["Location"]
    read = await world.api.get(location, headers=world.auth(TRUST))
    by_outsider = await world.api.get(location, headers=world.auth(GP))
    never_issued = await world.api.get(f"/fhir/R4/Consent/{uuid.uuid4()}", headers=world.auth(GP))
    chained = await world.api.get(
        "/fhir/R4/Consent",
        params={"patient:identifier": f"https://fhir.nhs.uk/Id/nhs-number|{NHS_NUMBER}"},
        headers=world.auth(TRUST),
    )

    assert read.status_code == 200 and read.json() == created.json()
    assert (by_outsider.status_code, never_issued.status_code) == (404, 404)
    assert by_outsider.json()["issue"][0]["code"] == never_issued.json()["issue"][0]["code"]
    [entry] = chained.json()["entry"]
    assert entry["fullUrl"] == f"http://imb.test{location}", "an absolute URL"


async def test_fhir_not_acceptable_at_q0_is_not_chosen(world: World) -> None:
    answer = await world.publish(TRUST, recipients=[COUNCIL])
    item = await delivered_to(world, COUNCIL, answer.json()["message_id"])
    shown = await fetched(world, COUNCIL, item["delivery_id"], f"{FHIR_JSON};q=0, application/json")
    assert shown.headers["content-type"].startswith("application/json")
    assert shown.json()["delivery_id"] == item["delivery_id"]
