"""A delivery as the FHIR message its recipient receives: minimised as the agreement says,
with the agreement and lawful bases on record, its deadlines and seq, and read back item for
item."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir_strategies import agency_codes, delivery_schedules, events
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.fhir import (
    FHIR_BASE,
    FhirInputError,
    FhirOutputError,
    bundle_for_delivery,
    delivery_from_bundle,
)
from consent.redact import field_paths, redact
from schemas.responses import DeliveryContent

AGREEMENT = UUID("6c2f9a14-0e57-4b38-9d21-a4f0c7e83b15")
BASES = {
    "art6": "public_task",
    "art9": "health_social_care",
    "dpa_sch1_para": "2",
    "confidentiality": "implied_consent_individual_care",
    "statutory_gateways": ["care_act_s42_enquiry"],
}
NOW = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
ENVELOPE = ("type", "occurred_at", "subject", "reason_for_sharing", "purpose", "urgency")


def content_of(
    event: dict[str, Any],
    payload: dict[str, Any],
    sender: str,
    schedule: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the inbox shows the recipient (broker/deliveries/inbox.py), as JSON."""
    delivery_id = uuid4()
    schedule = schedule or {"deliver_by": NOW, "ack_by": NOW, "seq": 7}
    return DeliveryContent(
        delivery_id=delivery_id,
        message_id=uuid4(),
        type=event["type"],
        sender=sender,
        purpose=event["purpose"],
        urgency=event["urgency"],
        status="received",
        occurred_at=event["occurred_at"],
        delivered_at=NOW,
        received_at=NOW,
        acknowledged_at=None,
        **schedule,
        links={"self": f"/v1/inbox/{delivery_id}"},
        subject={
            "nhs_number": event["subject"]["nhs_number"],
            "local_id": event["subject"].get("local_id"),
        },
        reason_for_sharing=event["reason_for_sharing"],
        override=event.get("override"),
        payload=payload,
        outcome=None,
        reason_code=None,
    ).model_dump(mode="json")


def shown(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": content["message_id"],
        **{key: content[key] for key in ENVELOPE},
        "override": content["override"],
        "payload": content["payload"],
    }


def deliver(content: dict[str, Any], recipient: str = "LA001") -> dict[str, Any]:
    return bundle_for_delivery(
        content,
        recipient=recipient,
        agreement_id=AGREEMENT,
        agreement_version=3,
        lawful_bases=BASES,
        timestamp=NOW,
    )


@st.composite
def minimised(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    event = draw(events())
    paths = sorted(field_paths(event["payload"]) | set(event["payload"]))
    allowed = draw(
        st.none() | st.lists(st.sampled_from(paths), unique=True) if paths else st.none()
    )
    return event, redact(event["payload"], allowed)


@settings(max_examples=100, deadline=None)
@given(minimised(), agency_codes, agency_codes, delivery_schedules)
def test_a_minimised_delivery_reads_back_as_the_recipient_was_shown_it(
    case: tuple[dict[str, Any], dict[str, Any]],
    sender: str,
    recipient: str,
    schedule: dict[str, Any],
) -> None:
    event, payload = case
    content = content_of(event, payload, sender, schedule)

    bundle = deliver(content, recipient)
    Bundle.parse_obj(bundle)
    delivered = delivery_from_bundle(bundle)

    assert delivered.event == shown(content)
    assert (delivered.delivery_id, delivered.sender, delivered.recipient) == (
        content["delivery_id"],
        sender,
        recipient,
    )
    assert (_instant(delivered.deliver_by), _instant(delivered.ack_by), delivered.seq) == (
        schedule["deliver_by"],
        schedule["ack_by"],
        schedule["seq"],
    )


def test_the_deadlines_and_seq_are_extensions_of_the_message_header() -> None:
    content = content_of(_risk(), _risk()["payload"], "RX4")

    header = deliver(content)["entry"][0]["resource"]

    assert [e for e in header["extension"] if not e["url"].endswith("/urgency")] == [
        {
            "url": f"{FHIR_BASE}/StructureDefinition/deliver-by",
            "valueInstant": "2026-03-02T10:20:00Z",
        },
        {
            "url": f"{FHIR_BASE}/StructureDefinition/acknowledge-by",
            "valueInstant": "2026-03-02T10:20:00Z",
        },
        {"url": f"{FHIR_BASE}/StructureDefinition/seq", "valuePositiveInt": 7},
    ]


def test_a_delivery_without_deadlines_or_seq_has_no_such_extensions() -> None:
    none = {"deliver_by": None, "ack_by": None, "seq": None}
    bundle = deliver(content_of(_risk(), _risk()["payload"], "RX4", none))

    delivered = delivery_from_bundle(bundle)

    urls = [e["url"] for e in bundle["entry"][0]["resource"]["extension"]]
    assert urls == [f"{FHIR_BASE}/StructureDefinition/urgency"]
    assert (delivered.deliver_by, delivered.ack_by, delivered.seq) == (None, None, None)


def test_deadlines_given_as_date_times_and_a_seq_as_an_integer_are_read_too() -> None:
    bundle = deliver(content_of(_risk(), _risk()["payload"], "RX4"))
    for ext in bundle["entry"][0]["resource"]["extension"]:
        if "valueInstant" in ext:
            ext["valueDateTime"] = ext.pop("valueInstant")
        if "valuePositiveInt" in ext:
            ext["valueInteger"] = ext.pop("valuePositiveInt")

    delivered = delivery_from_bundle(bundle)

    assert (_instant(delivered.ack_by), delivered.seq) == (NOW, 7)


def test_a_seq_that_is_not_positive_is_refused() -> None:
    bundle = deliver(content_of(_risk(), _risk()["payload"], "RX4"))
    seq = bundle["entry"][0]["resource"]["extension"][-1]
    seq["valueInteger"] = 0
    del seq["valuePositiveInt"]

    with pytest.raises(FhirInputError) as refused:
        delivery_from_bundle(bundle)

    assert (
        refused.value.issues[0].expression == "Bundle.entry[0].resource.extension[3].valueInteger"
    )


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def test_the_message_names_the_delivery_and_the_event() -> None:
    content = content_of(_risk(), _risk()["payload"], "RX4")

    bundle = deliver(content)

    header = bundle["entry"][0]["resource"]
    assert header["id"] == content["delivery_id"]
    assert bundle["identifier"]["value"] == f"urn:uuid:{content['message_id']}"
    assert bundle["timestamp"] == NOW.isoformat()


def test_provenance_names_the_agreement_version_and_the_lawful_bases() -> None:
    bundle = deliver(content_of(_risk(), _risk()["payload"], "RX4"))

    delivered = delivery_from_bundle(bundle)

    assert delivered.agreement == (
        f"https://interagency-broker.uk/fhir/Agreement/{AGREEMENT}/_history/3"
    )
    assert delivered.lawful_bases == BASES
    provenance = bundle["entry"][-1]["resource"]
    assert provenance["target"] == [{"reference": bundle["entry"][0]["fullUrl"]}]


def test_withheld_items_are_named_and_the_focus_is_labelled_redacted() -> None:
    event = _risk()
    payload = redact(event["payload"], ["current_level", "risk_domains"])

    focus = deliver(content_of(event, payload, "RX4"))["entry"][1]["resource"]

    assert focus["meta"]["security"][0]["code"] == "REDACTED"
    withheld = [e["valueString"] for e in focus["extension"] if e["url"].endswith("withheld-item")]
    assert withheld == [
        "previous_level",
        "rationale",
        "early_warning_indicators",
        "actions_taken",
        "review_date",
    ]
    assert "note" not in focus  # the rationale was not invented or left in


def test_an_empty_list_shown_is_told_apart_from_one_withheld() -> None:
    event = {**_risk(), "payload": {**_risk()["payload"], "actions_taken": []}}
    shown_empty = redact(event["payload"], ["actions_taken", "current_level"])
    withheld = redact(event["payload"], ["current_level"])

    empty = delivery_from_bundle(deliver(content_of(event, shown_empty, "RX4")))
    absent = delivery_from_bundle(deliver(content_of(event, withheld, "RX4")))

    assert empty.event["payload"] == {"actions_taken": [], "current_level": "high"}
    assert absent.event["payload"] == {"current_level": "high"}


def test_the_same_delivery_always_gives_the_same_message() -> None:
    content = content_of(_risk(), _risk()["payload"], "RX4")

    assert deliver(content) == deliver(content)


def test_a_non_delivery_report_has_no_fhir_form() -> None:
    content = {**content_of(_risk(), _risk()["payload"], "RX4"), "type": "report.unacknowledged"}

    with pytest.raises(FhirOutputError) as refused:
        deliver(content)

    assert refused.value.issues[0].code == "not-supported"


def _risk() -> dict[str, Any]:
    return {
        "type": "risk.changed",
        "occurred_at": "2026-03-02T10:15:00Z",
        "subject": {"nhs_number": "9997654323", "local_id": "RX4-MRN-204518"},
        "reason_for_sharing": "Risk to self has risen.",
        "purpose": "direct_care",
        "urgency": "urgent",
        "override": None,
        "payload": {
            "previous_level": "medium",
            "current_level": "high",
            "risk_domains": ["self_harm", "self_neglect"],
            "rationale": "Stopped depot medication.",
            "early_warning_indicators": ["not opening post"],
            "actions_taken": ["GP asked to review medication"],
            "review_date": "2026-03-09",
        },
    }
