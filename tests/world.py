"""A small, realistic partnership to test against, and helpers to wait on the pipeline."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from broker.agencies.clients import register_client
from broker.agencies.repository import registered
from broker.agencies.service import register_agency
from broker.audit.log import Actor
from broker.auth.tokens import Grant
from broker.runtime import Runtime
from schemas.admin import AgencyRegistration, ClientRegistration
from schemas.nhs_number import nhs_check_digit
from schemas.vocabulary import AgencyKind, Scope

TRUST, COUNCIL, HOUSING, GP = "RX4", "LA001", "HOU01", "GP001"
NHS_NUMBER = "9434765919"
OTHER_NHS_NUMBER = "4010232137"
PARTNER_SCOPES = [
    Scope.EVENTS_PUBLISH,
    Scope.INBOX_READ,
    Scope.INBOX_ACK,
    Scope.CONSENT_MANAGE,
    Scope.AUDIT_READ,
    Scope.AGREEMENTS_MANAGE,
    Scope.CHANNELS_MANAGE,
]
T = TypeVar("T")


@dataclass
class World:
    api: httpx.AsyncClient
    rt: Runtime
    tokens: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, tuple[str, str]] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def post(self, who: str, path: str, body: Any) -> httpx.Response:
        return await self.api.post(path, json=body, headers=self.auth(who))

    async def put(self, who: str, path: str, body: Any) -> httpx.Response:
        return await self.api.put(path, json=body, headers=self.auth(who))

    async def get(self, who: str, path: str, **params: Any) -> httpx.Response:
        return await self.api.get(path, params=params, headers=self.auth(who))

    async def publish(self, who: str = TRUST, **overrides: Any) -> httpx.Response:
        return await self.post(who, "/v1/events", risk_event(**overrides))

    async def scrape_metrics(self) -> str:
        """/metrics as a monitoring system reads it, with its `metrics:read` token."""
        response = await self.get("metrics", "/metrics")
        assert response.status_code == 200, response.text
        return response.text

    async def inbox(self, who: str) -> list[dict[str, Any]]:
        response = await self.get(who, "/v1/inbox")
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def agree(self, parties: list[str], **overrides: Any) -> dict[str, Any]:
        """An agreement among the parties (terms as agreement_body), approved by every one."""
        body = agreement_body(parties, **overrides)
        created = await self.post("admin", "/v1/agreements", body)
        assert created.status_code == 201, created.text
        return await self.approve(created.json()["id"], parties)

    async def approve(self, agreement_id: str, parties: list[str]) -> dict[str, Any]:
        """Each party's sign-off of the version awaiting approval; the view after the last."""
        view: dict[str, Any] = {}
        for party in parties:
            path = f"/v1/agreements/{agreement_id}/approvals"
            response = await self.post(party, path, approval_by(party))
            assert response.status_code == 200, response.text
            view = response.json()
        return view

    async def token_for(self, agency: str, scopes: list[Scope]) -> str:
        """A token with these scopes for a new client of the agency (registered first if IMB
        does not know it): a real client, so that revocation checks find it."""
        async with self.rt.db.unit_of_work() as session:
            if not await registered(session, self.rt, [agency]):
                registration = AgencyRegistration(code=agency, name=agency, kind=AgencyKind.OTHER)
                await register_agency(session, self.rt, OPERATOR, registration)
            body = ClientRegistration(agency=agency, scopes=scopes or [Scope.INBOX_READ])
            issued = await register_client(session, self.rt, OPERATOR, body)
            await session.commit()
        grant = Grant(issued.client_id, agency, [s.value for s in scopes])
        token, _ = self.rt.tokens.issue(grant)
        return token


def risk_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "risk.changed",
        "occurred_at": datetime.now(UTC).isoformat(),
        "subject": {"nhs_number": NHS_NUMBER, "local_id": "MRN-1001"},
        "reason_for_sharing": "Risk to self has risen; partners need to adjust contact plans.",
        "purpose": "direct_care",
        "urgency": "urgent",
        "payload": {
            "previous_level": "medium",
            "current_level": "high",
            "risk_domains": ["self_harm", "self_neglect"],
            "rationale": "Stopped medication and expressed hopelessness at last visit.",
            "early_warning_indicators": ["withdrawn", "not eating"],
            "actions_taken": ["crisis team informed"],
            "review_date": (datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
        },
    }
    event.update(overrides)
    return event


def crisis_event(**overrides: Any) -> dict[str, Any]:
    """A crisis the trust's crisis team is responding to, for the partners to act on now."""
    started = datetime.now(UTC) - timedelta(minutes=20)
    event = risk_event(
        type="crisis.occurred",
        urgency="emergency",
        reason_for_sharing="Crisis in progress; partners hold information needed to keep him safe.",
        payload={
            "started_at": started.isoformat(),
            "presentation": "Found on the bridge parapet by police; now at the crisis house.",
            "immediate_risk": True,
            "services_involved": ["crisis resolution and home treatment", "police"],
            "escalation_summary": {
                "what_has_been_done": "Crisis team assessed at 02:10; staying overnight.",
                "what_has_changed": "Eviction notice served yesterday.",
                "what_is_requested": "Housing to pause the eviction; social care to visit.",
            },
        },
    )
    event.update(overrides)
    return event


def agreement_body(parties: list[str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Community mental health partnership",
        "parties": [{"agency": p, "role": "joint_controller"} for p in parties],
        "event_types": ["risk.changed", "engagement.disengaged", "crisis.occurred"],
        "purposes": ["direct_care", "safeguarding"],
        "lawful_basis": {
            "art6": "public_task",
            "art9": "health_social_care",
            "dpa_sch1_para": "2",
            "confidentiality": "implied_consent_individual_care",
        },
        "effective_from": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        "review_date": (datetime.now(UTC) + timedelta(days=365)).date().isoformat(),
    }
    body.update(overrides)
    return body


def crisis_plan(lead: str, *others: str, trigger: str = "Talks of the bridge") -> dict[str, Any]:
    """A crisis plan led by `lead`, with the other partners, as one partner proposes it."""
    return {
        "partners": [{"agency": agency, "role": "responds"} for agency in (lead, *others)],
        "lead_agency": lead,
        "triggers": [trigger],
        "escalation_routes": ["The lead's crisis team"],
        "communication_plan": "Phone the lead's crisis team first.",
        "proposed_by": {"name": "A. Patel", "role": "care coordinator"},
    }


def approval_by(agency: str, **overrides: Any) -> dict[str, Any]:
    approval: dict[str, Any] = {
        "approved_by": {"name": f"Caldicott Guardian of {agency}", "role": "Caldicott Guardian"}
    }
    approval.update(overrides)
    return approval


# An agreement basis that lets a safeguarding override set aside a refusal (docs/governance.md).
SAFEGUARDING_BASIS = {
    "art6": "public_task",
    "art9": "substantial_public_interest",
    "dpa_sch1_para": "18",
    "confidentiality": "overriding_public_interest",
}
SAFEGUARDING_OVERRIDE = {
    "reason": "safeguarding_adult_at_risk",
    "authorised_by": "Dr R. Khan, consultant psychiatrist",
    "justification": "Threats towards a neighbour; housing must know to keep staff safe.",
}


OPERATOR = Actor(agency=None, client="test")


async def build_world(rt: Runtime, api: httpx.AsyncClient) -> World:
    world = World(api=api, rt=rt)
    operator = OPERATOR
    agencies = [
        (TRUST, "Riverside Mental Health NHS Trust", AgencyKind.NHS_TRUST),
        (COUNCIL, "Riverside Adult Social Care", AgencyKind.LOCAL_AUTHORITY),
        (HOUSING, "Riverside Housing Association", AgencyKind.HOUSING),
        (GP, "Riverside Medical Practice", AgencyKind.GP_PRACTICE),
    ]
    async with rt.db.unit_of_work() as session:
        for code, name, kind in agencies:
            await register_agency(
                session, rt, operator, AgencyRegistration(code=code, name=name, kind=kind)
            )
            issued = await register_client(
                session, rt, operator, ClientRegistration(agency=code, scopes=PARTNER_SCOPES)
            )
            world.credentials[code] = (issued.client_id, issued.client_secret)
        await session.commit()
    for code, _, _ in agencies:
        world.tokens[code] = await world.token_for(code, PARTNER_SCOPES)
    world.tokens["admin"] = await world.token_for(TRUST, [Scope.ADMIN])
    world.tokens["metrics"] = await world.token_for(TRUST, [Scope.METRICS_READ])
    await world.agree([TRUST, COUNCIL, HOUSING])
    response = await world.put(TRUST, f"/v1/subjects/{NHS_NUMBER}/care-team", CARE_TEAM)
    assert response.status_code == 200, response.text
    return world


CARE_TEAM = {
    "members": [
        {
            "agency": TRUST,
            "role": "care coordinator",
            "named_lead": "A. Patel",
            "coordinator": True,
        },
        {
            "agency": COUNCIL,
            "role": "social worker",
            "named_lead": "B. Jones",
            "coordinator": False,
        },
        {
            "agency": HOUSING,
            "role": "tenancy support",
            "named_lead": "C. Smith",
            "coordinator": False,
        },
    ]
}


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 30.0
) -> T:
    """Poll until `done` holds for the probe's value, failing after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


def nhs_numbers_for_testing(count: int) -> list[str]:
    """`count` distinct valid NHS numbers from the range kept for testing (999…)."""
    numbers: list[str] = []
    serial = 0
    while len(numbers) < count:
        first_nine = f"999{serial:06d}"
        serial += 1
        check = nhs_check_digit(first_nine)
        if check is not None and len(set(first_nine)) > 1:
            numbers.append(f"{first_nine}{check}")
    return numbers
