"""Example request bodies for the OpenAPI document, so that /docs can fill in a working body.

Every person in them is fictional: NHS numbers come from the 999 range, which is never issued
to a patient. The event examples are also the files in deploy/examples/ (a test keeps the two
the same), so that the README's commands post what the contract shows.
"""

from typing import Any

Example = dict[str, Any]
NHS_NUMBER = "9997654323"
SUBJECT = {"nhs_number": NHS_NUMBER, "local_id": "RX4-MRN-204518"}
PERSON = {"name": "A. Patel", "role": "Care coordinator"}
GUARDIAN = {"name": "R. Okafor", "role": "Caldicott Guardian"}

RISK_CHANGED: Example = {
    "id": "3f6c1d2e-8a4b-4c7e-9f21-5b0d6e7a8c91",
    "type": "risk.changed",
    "occurred_at": "2026-03-02T10:15:00+00:00",
    "subject": SUBJECT,
    "recipients": ["LA001"],
    "reason_for_sharing": (
        "Risk to self has risen since the last review; social care visits need two workers "
        "and a changed plan."
    ),
    "purpose": "direct_care",
    "urgency": "urgent",
    "payload": {
        "previous_level": "medium",
        "current_level": "high",
        "risk_domains": ["self_harm", "self_neglect"],
        "rationale": (
            "Stopped depot medication three weeks ago; at the home visit said he felt hopeless "
            "and has not been eating."
        ),
        "early_warning_indicators": ["withdrawing from his sister", "not opening post"],
        "actions_taken": ["crisis resolution team informed", "GP asked to review medication"],
        "review_date": "2026-03-09",
    },
}
DISENGAGED: Example = {
    "id": "8b2e4f60-1c3d-4a5b-b6e7-0f9a8d7c6b54",
    "type": "engagement.disengaged",
    "occurred_at": "2026-03-05T16:40:00+00:00",
    "subject": SUBJECT,
    "recipients": ["LA001"],
    "reason_for_sharing": (
        "Not seen for three weeks after a rise in risk; social care may have had contact we "
        "have not."
    ),
    "purpose": "direct_care",
    "urgency": "routine",
    "payload": {
        "last_contact_at": "2026-02-12T11:00:00+00:00",
        "missed_contacts": 3,
        "attempts": [
            {
                "at": "2026-02-26T09:30:00+00:00",
                "method": "phone",
                "outcome": "No answer; voicemail left",
            },
            {
                "at": "2026-03-02T14:00:00+00:00",
                "method": "visit",
                "outcome": "No answer at the door; curtains drawn",
            },
            {
                "at": "2026-03-04T10:00:00+00:00",
                "method": "letter",
                "outcome": "Appointment letter sent",
            },
        ],
        "current_risk_level": "high",
        "actions_requested": [
            "Tell the care coordinator of any contact",
            "Consider a joint visit this week",
        ],
    },
}
CRISIS: Example = {
    "id": "c41d7a93-5e28-4b06-8f1a-2d9e3b7c4a60",
    "type": "crisis.occurred",
    "occurred_at": "2026-03-07T02:35:00+00:00",
    "subject": SUBJECT,
    "recipients": ["LA001"],
    "reason_for_sharing": (
        "Crisis in progress; social care holds the information needed to keep him safe at home."
    ),
    "purpose": "direct_care",
    "urgency": "emergency",
    "payload": {
        "started_at": "2026-03-07T01:50:00+00:00",
        "presentation": (
            "Found by police on the footbridge at Mill Lane; taken to the crisis house and "
            "assessed."
        ),
        "immediate_risk": True,
        "services_involved": ["crisis resolution and home treatment", "police"],
        "escalation_summary": {
            "what_has_been_done": (
                "Crisis team assessed him at 02:10; he is staying at the crisis house tonight."
            ),
            "what_has_changed": "A notice of eviction was served two days ago.",
            "what_is_requested": (
                "Social care to visit tomorrow morning and contact the housing officer."
            ),
        },
    },
}
# The file in deploy/examples/ that holds each event example.
EVENT_FILES = {"risk-changed": RISK_CHANGED, "disengagement": DISENGAGED, "crisis": CRISIS}

AGREEMENT: Example = {
    "title": "Riverside community mental health information sharing agreement",
    "parties": [
        {"agency": "RX4", "role": "joint_controller"},
        {"agency": "LA001", "role": "joint_controller"},
    ],
    "event_types": ["risk.changed", "engagement.disengaged", "crisis.occurred"],
    "purposes": ["direct_care", "safeguarding"],
    "lawful_basis": {
        "art6": "public_task",
        "art9": "health_social_care",
        "dpa_sch1_para": "2",
        "confidentiality": "implied_consent_individual_care",
        "statutory_gateways": ["care_act_s42_enquiry"],
    },
    "effective_from": "2026-01-01T00:00:00+00:00",
    "review_date": "2027-01-01",
    "retention_days": 2920,
}
TIMEFRAME: Example = {
    "event_type": "crisis.occurred",
    "urgency": "*",
    "risk_level": "very_high",
    "deliver_within": "PT5M",
    "ack_within": "PT15M",
    "escalation": ["duty_team", "coordinator", "sender_report"],
    "escalation_interval": "PT10M",
}
# A policy set must say what happens to everything its other policies do not name.
ANYTHING: Example = {
    "event_type": "*",
    "urgency": "*",
    "deliver_within": "PT4H",
    "ack_within": "P2D",
    "escalation": ["duty_team", "sender_report"],
}


def _one(summary: str, value: Any) -> dict[str, Example]:
    return {"example": {"summary": summary, "value": value}}


def _events() -> dict[str, Example]:
    return {name: {"summary": event["type"], "value": event} for name, event in EVENT_FILES.items()}


def _token_forms() -> dict[str, Example]:
    secret = {
        "grant_type": "client_credentials",
        "scope": "events:publish inbox:read",
        "client_id": "3b0c6f0e-5d0a-4b8e-9a51-2f1c8e7d6a40",
        "client_secret": "the secret `imb client add` printed",
    }
    assertion = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": "eyJhbGciOiJFUzI1NiIsImtpZCI6InJ4NC0yMDI2In0.eyJpc3MiOiIuLi4ifQ.c2ln",
    }
    return {
        "client_secret_post": {
            "summary": "client secret in the form (development)",
            "value": secret,
        },
        "private_key_jwt": {"summary": "signed assertion (RFC 7523)", "value": assertion},
    }


def request_examples() -> dict[tuple[str, str], dict[str, Example]]:
    """(method, path) → the named examples of the operation's request body."""
    subject = "/v1/subjects/{nhs_number}"
    return {
        ("POST", "/oauth/token"): _token_forms(),
        ("POST", "/v1/events"): _events(),
        ("POST", "/v1/events:batch"): _one(
            "two events in one request", {"events": [RISK_CHANGED, DISENGAGED]}
        ),
        ("POST", "/v1/events/{message_id}/replay"): _one(
            "the recipient lost it", {"reason": "LA001 restored its case system from backup."}
        ),
        ("POST", "/v1/inbox/{delivery_id}/ack"): {
            "actioned": {
                "summary": "acted on",
                "value": {
                    "outcome": "actioned",
                    "note": "Joint visit booked for tomorrow morning.",
                    "acknowledged_by": {"name": "B. Jones", "role": "Social worker"},
                },
            },
            "declined": {
                "summary": "declined, with its reason code",
                "value": {
                    "outcome": "declined",
                    "reason_code": "not_known_to_service",
                    "acknowledged_by": {"name": "B. Jones", "role": "Social worker"},
                },
            },
        },
        ("PUT", subject + "/care-team"): _one("coordinator and partner", _care_team()),
        ("POST", subject + "/consents"): _one(
            "a refusal to share with housing",
            {
                "state": "refused",
                "scope": {"recipients": ["HOU01"]},
                "recorded_by": PERSON,
                "evidence": "Said at clinic on 2 March that housing must not be told.",
            },
        ),
        ("POST", "/v1/agreements"): _one("two partners", AGREEMENT),
        ("PUT", "/v1/agreements/{agreement_id}"): _one("revised terms", AGREEMENT),
        ("POST", "/v1/agreements/{agreement_id}/approvals"): _one(
            "a Caldicott Guardian's sign-off", {"approved_by": GUARDIAN}
        ),
        ("POST", "/v1/agreements/{agreement_id}/suspend"): _one(
            "pending an investigation", {"reason": "Data breach under investigation at LA001."}
        ),
        ("POST", "/v1/agreements/{agreement_id}/terminate"): _one(
            "service ended", {"reason": "The partnership's service contract has ended."}
        ),
        ("POST", "/v1/overrides/{override_id}/review"): _one(
            "upheld",
            {
                "outcome": "upheld",
                "note": "Threats to a neighbour justified sharing.",
                "reviewed_by": {"name": "J. Bloggs", "role": "IG lead"},
            },
        ),
        ("POST", "/v1/decisions/preview"): _one(
            "may the council receive a risk change?",
            {
                "recipient": "LA001",
                "subject": {"nhs_number": NHS_NUMBER},
                "event_type": "risk.changed",
                "purpose": "direct_care",
                "urgency": "urgent",
            },
        ),
        ("POST", subject + "/crisis-plans"): _one("led by the trust", _crisis_plan()),
        ("POST", subject + "/crisis-plans/{plan_id}/confirmations"): _one(
            "a partner confirms", {"confirmed_by": {"name": "B. Jones", "role": "Social worker"}}
        ),
        ("PUT", "/v1/timeframes"): _one(
            "crises at very high risk, and everything else", {"policies": [TIMEFRAME, ANYTHING]}
        ),
        ("POST", "/v1/escalations/{escalation_id}/ack"): _one(
            "the duty worker phoned the recipient",
            {
                "outcome": "contacted_recipient",
                "note": "Spoke to the LA001 duty senior; they will read it now.",
                "acknowledged_by": {"name": "D. Mensah", "role": "Duty manager"},
            },
        ),
        ("POST", "/v1/agencies"): _one(
            "a housing association",
            {"code": "HOU01", "name": "Riverside Housing Association", "kind": "housing"},
        ),
        ("POST", "/v1/clients"): _one(
            "a recipient's system", {"agency": "LA001", "scopes": ["inbox:read", "inbox:ack"]}
        ),
        ("PUT", "/v1/agencies/{code}/rate-limits"): _one(
            "a busy trust", {"publish": "1200/minute", "read": "6000/minute"}
        ),
        ("PUT", "/v1/agencies/{code}/duty-team"): _one(
            "the council's duty desk",
            {"name": "Adult social care duty desk", "email": "duty@la001.example"},
        ),
        ("PUT", "/v1/agencies/{code}/channel"): _one(
            "push to a webhook", {"kind": "webhook", "url": "https://epr.la001.example/imb"}
        ),
        ("POST", "/v1/deliveries/{delivery_id}/redeliver"): _one(
            "the webhook receiver lost it", {"reason": "Receiver restored from backup."}
        ),
    }


def _care_team() -> Example:
    return {
        "members": [
            {
                "agency": "RX4",
                "role": "care coordinator",
                "named_lead": "A. Patel",
                "coordinator": True,
            },
            {"agency": "LA001", "role": "social worker", "named_lead": "B. Jones"},
        ]
    }


def _crisis_plan() -> Example:
    return {
        "partners": [
            {"agency": "RX4", "role": "crisis team responds"},
            {"agency": "LA001", "role": "social worker visits next day"},
        ],
        "lead_agency": "RX4",
        "triggers": ["Talks of the footbridge", "Stops depot medication"],
        "escalation_routes": ["RX4 crisis resolution team, then the on-call psychiatrist"],
        "communication_plan": "Phone the RX4 crisis line first; LA001 duty desk next.",
        "proposed_by": PERSON,
    }
