"""The partnership's set-up, each step through the use case the API or the CLI calls: agencies
and their machine clients, duty teams, people's log-ins, sharing agreements approved by every
party, care teams, a recorded refusal and a crisis plan confirmed by every partner."""

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.clients import register_client
from broker.agencies.duty_teams import set_duty_team
from broker.agencies.service import register_agency
from broker.agreements.service import approve_agreement, create_agreement
from broker.audit.log import Actor
from broker.crisis_plans.service import confirm_crisis_plan, propose_crisis_plan
from broker.db.models import Agency
from broker.demo.cast import Cast, DemoAgency
from broker.runtime import Runtime
from broker.subjects.consents import record_consent
from broker.subjects.teams import set_care_team
from broker.users.roles import UserRole
from broker.users.service import create_user
from schemas.admin import AgencyRegistration, ClientRegistration
from schemas.agreements import AgreementApproval, AgreementBody
from schemas.care_team import CareTeam
from schemas.consents import ConsentBody
from schemas.crisis_plans import CrisisPlanBody, CrisisPlanConfirmation
from schemas.escalations import DutyTeamBody
from schemas.vocabulary import Scope

DEMO = Actor(agency=None, client="imb-demo")
CLIENT_SCOPES = [
    Scope.EVENTS_PUBLISH,
    Scope.INBOX_READ,
    Scope.INBOX_ACK,
    Scope.CONSENT_MANAGE,
    Scope.AUDIT_READ,
    Scope.AGREEMENTS_MANAGE,
]
# Two log-ins for every agency, and the trust's auditor and administrator.
AGENCY_ROLES = (UserRole.IG_LEAD, UserRole.DUTY)
TRUST_ONLY_ROLES = (UserRole.AUDITOR, UserRole.ADMIN)
DIRECT_CARE_BASIS = {
    "art6": "public_task",
    "art9": "health_social_care",
    "dpa_sch1_para": "2",
    "confidentiality": "implied_consent_individual_care",
}
# A basis that lets a safeguarding override set aside a refusal (docs/governance.md).
SAFEGUARDING_BASIS = {
    "art6": "public_task",
    "art9": "substantial_public_interest",
    "dpa_sch1_para": "18",
    "confidentiality": "overriding_public_interest",
}


@dataclass(frozen=True)
class Login:
    username: str
    agency: str
    role: UserRole
    password: str


@dataclass
class Seeded:
    """What the newcomer is told once: credentials are not kept anywhere readable."""

    clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # code: (id, secret)
    logins: list[Login] = field(default_factory=list)
    agreements: list[str] = field(default_factory=list)

    def actor(self, agency: DemoAgency) -> Actor:
        """The agency's own machine client, as the author of what its system would send."""
        return Actor(agency=agency.code, client=self.clients[agency.code][0])


async def agency_codes(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Agency.code))).all())


async def seed_agencies(session: AsyncSession, rt: Runtime, cast: Cast, seeded: Seeded) -> None:
    for agency in cast.agencies:
        body = AgencyRegistration(code=agency.code, name=agency.name, kind=agency.kind)
        await register_agency(session, rt, DEMO, body)
        issued = await register_client(
            session, rt, DEMO, ClientRegistration(agency=agency.code, scopes=CLIENT_SCOPES)
        )
        assert issued.client_secret is not None
        seeded.clients[agency.code] = (issued.client_id, issued.client_secret)
        mailbox = f"duty.{agency.code.lower()}@example.org"
        team = DutyTeamBody(name=f"{agency.name} duty team", email=mailbox)
        await set_duty_team(session, rt, DEMO, agency.code, team)


async def seed_logins(session: AsyncSession, rt: Runtime, cast: Cast, seeded: Seeded) -> None:
    wanted = [(a.code, role) for a in cast.agencies for role in AGENCY_ROLES]
    wanted += [(cast.trust.code, role) for role in TRUST_ONLY_ROLES]
    for agency, role in wanted:
        login = Login(f"{role.value.replace('_', '.')}.{agency.lower()}", agency, role, _password())
        await create_user(
            session,
            rt,
            DEMO,
            username=login.username,
            agency=agency,
            role=login.role.value,
            password=login.password,
        )
        seeded.logins.append(login)


def _password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, about 120 bits


async def seed_agreements(session: AsyncSession, rt: Runtime, cast: Cast, seeded: Seeded) -> None:
    everyone = list(cast.agencies)
    await _agree(session, rt, seeded, everyone, _direct_care_terms(rt, cast))
    safeguarding = [cast.trust, cast.council, cast.housing]
    await _agree(session, rt, seeded, safeguarding, _safeguarding_terms(rt, safeguarding))


async def _agree(
    session: AsyncSession,
    rt: Runtime,
    seeded: Seeded,
    parties: list[DemoAgency],
    terms: AgreementBody,
) -> None:
    """Proposed by the first party, then signed off by each: the last puts it in force."""
    created = await create_agreement(session, rt, seeded.actor(parties[0]), terms, any_party=False)
    for party in parties:
        approval = AgreementApproval.model_validate(
            {"approved_by": {"name": party.signatory, "role": "Caldicott Guardian"}}
        )
        await approve_agreement(
            session, rt, seeded.actor(party), UUID(str(created["id"])), approval
        )
    seeded.agreements.append(terms.title)


def _dates(rt: Runtime) -> dict[str, str]:
    now = rt.clock()
    return {
        "effective_from": (now - timedelta(days=1)).isoformat(),
        "review_date": (now + timedelta(days=365)).date().isoformat(),
    }


def _direct_care_terms(rt: Runtime, cast: Cast) -> AgreementBody:
    return AgreementBody.model_validate(
        {
            "title": "Wyvern Vale community mental health information sharing agreement",
            "parties": [{"agency": a.code, "role": "joint_controller"} for a in cast.agencies],
            "event_types": ["risk.changed", "engagement.disengaged", "crisis.occurred"],
            "purposes": ["direct_care", "safeguarding"],
            "lawful_basis": DIRECT_CARE_BASIS,
            **_dates(rt),
        }
    )


def _safeguarding_terms(rt: Runtime, parties: list[DemoAgency]) -> AgreementBody:
    return AgreementBody.model_validate(
        {
            "title": "Wyvern Vale safeguarding adults protocol",
            "parties": [{"agency": a.code, "role": "joint_controller"} for a in parties],
            "event_types": ["risk.changed", "crisis.occurred"],
            "purposes": ["safeguarding"],
            "lawful_basis": SAFEGUARDING_BASIS,
            **_dates(rt),
        }
    )


async def seed_care(session: AsyncSession, rt: Runtime, cast: Cast, seeded: Seeded) -> None:
    """Both people's care teams, coordinated by the trust; the first person's refusal that
    housing hear about changes in their risk; and the first person's crisis plan."""
    first, second = cast.people
    trust = seeded.actor(cast.trust)
    await set_care_team(session, rt, trust, first, _care_team(list(cast.agencies)))
    await set_care_team(session, rt, trust, second, _care_team([cast.trust, cast.council, cast.gp]))
    await record_consent(session, rt, trust, first, _housing_refusal(cast))
    await _crisis_plan(session, rt, cast, seeded, first)


def _care_team(members: list[DemoAgency]) -> CareTeam:
    return CareTeam.model_validate(
        {
            "members": [
                {
                    "agency": a.code,
                    "role": a.care_role,
                    "named_lead": a.lead,
                    "coordinator": index == 0,
                }
                for index, a in enumerate(members)
            ]
        }
    )


def _housing_refusal(cast: Cast) -> ConsentBody:
    return ConsentBody.model_validate(
        {
            "state": "refused",
            "scope": {"recipients": [cast.housing.code], "event_types": ["risk.changed"]},
            "recorded_by": {"name": cast.trust.lead, "role": cast.trust.care_role},
            "evidence": "Asked at review that his landlord not be told about his mental health.",
        }
    )


async def _crisis_plan(
    session: AsyncSession, rt: Runtime, cast: Cast, seeded: Seeded, nhs_number: str
) -> None:
    body = CrisisPlanBody.model_validate(_crisis_plan_terms(cast))
    plan: dict[str, Any] = await propose_crisis_plan(
        session, rt, seeded.actor(cast.trust), nhs_number, body
    )
    for partner in (cast.council, cast.housing, cast.gp):
        confirmation = CrisisPlanConfirmation.model_validate(
            {"confirmed_by": {"name": partner.lead, "role": partner.care_role}}
        )
        await confirm_crisis_plan(
            session, rt, seeded.actor(partner), nhs_number, UUID(str(plan["id"])), confirmation
        )


def _crisis_plan_terms(cast: Cast) -> dict[str, Any]:
    return {
        "partners": [
            {"agency": cast.trust.code, "role": "crisis resolution and home treatment"},
            {"agency": cast.council.code, "role": "approved mental health professional"},
            {"agency": cast.housing.code, "role": "pauses enforcement, checks on the tenancy"},
            {"agency": cast.gp.code, "role": "reviews medication"},
        ],
        "lead_agency": cast.trust.code,
        "ack_within": "PT15M",
        "triggers": ["Talks of the river bridge", "Stops answering the door to staff"],
        "escalation_routes": [
            {"step": "in hours", "contact": "Trust crisis team, 01632 960100"},
            {"step": "out of hours", "contact": "Council emergency duty team, 01632 960200"},
        ],
        "communication_plan": "The trust's crisis team phones each partner's duty team first.",
        "proposed_by": {"name": cast.trust.lead, "role": cast.trust.care_role},
    }
