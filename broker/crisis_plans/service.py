"""ProposeCrisisPlan, ConfirmCrisisPlan, and a partner reading the subject's plans.

A plan binds several agencies to respond to one person's crisis in an agreed way, so it is in
force only once every partner agency has confirmed it; proposing a plan is the proposing
agency's confirmation. When the last partner confirms, the plan becomes the subject's one
active plan and the one it replaces is superseded.
"""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from broker.agencies.repository import registered
from broker.audit.log import Actor, AuditEvent, append
from broker.crisis_plans.repository import (
    LoadedPlan,
    active_plan_of,
    lock_subject,
    plan_for_change,
    plans_with_partner,
)
from broker.crisis_plans.views import CONTENT_FIELDS, plan_view, sealed_content
from broker.crypto.pseudonym import canonical_json, payload_digest
from broker.db.models import CrisisPlan, CrisisPlanPartner
from broker.errors import Conflict, FieldError, InvalidInput, NotFound
from broker.runtime import Runtime
from broker.subjects.access import standing_of
from broker.subjects.repository import register_subject
from consent.redact import field_paths
from schemas.common import Person
from schemas.crisis_plans import CrisisPlanBody, CrisisPlanConfirmation
from schemas.vocabulary import CrisisPlanStatus

PROPOSED, ACTIVE, SUPERSEDED = (s.value for s in CrisisPlanStatus)


async def propose_crisis_plan(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str, body: CrisisPlanBody
) -> dict[str, Any]:
    await _check_partners(session, rt, actor, body)
    pseudonym = await register_subject(session, rt, nhs_number)
    now = rt.clock()
    loaded = _new_plan(rt, actor, pseudonym, body, now)
    session.add(loaded.plan)
    session.add_all(loaded.partners)
    detail = _plan_detail(loaded)
    append(session, AuditEvent.CRISIS_PLAN_PROPOSED, actor, now, subject=pseudonym, detail=detail)
    proposer = loaded.partner(actor.agency)
    assert proposer is not None
    _confirm(session, actor, loaded, proposer, body.proposed_by, now, implied=True)
    return plan_view(rt.keys.key_provider, loaded)


def _new_plan(
    rt: Runtime, actor: Actor, pseudonym: str, body: CrisisPlanBody, now: datetime
) -> LoadedPlan:
    assert actor.agency is not None
    assert actor.client is not None
    plan_id = uuid4()
    plan = CrisisPlan(
        id=plan_id,
        subject_pseudonym=pseudonym,
        lead_agency=body.lead_agency,
        status=PROPOSED,
        content_sealed=sealed_content(rt.keys.key_provider, plan_id, pseudonym, body),
        ack_within_seconds=_seconds(body.ack_within),
        created_at=now,
        created_by_agency=actor.agency,
        created_by_client=actor.client,
    )
    partners = [
        CrisisPlanPartner(
            plan_id=plan_id,
            agency_code=p.agency,
            role=p.role,
            ack_within_seconds=_seconds(p.ack_within),
        )
        for p in sorted(body.partners, key=lambda p: p.agency)
    ]
    return LoadedPlan(plan, partners)


async def confirm_crisis_plan(
    session: AsyncSession,
    rt: Runtime,
    actor: Actor,
    nhs_number: str,
    plan_id: UUID,
    confirmation: CrisisPlanConfirmation,
) -> dict[str, Any]:
    """The actor's agency confirms the plan; the last partner's confirmation activates it."""
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    loaded = (
        await plan_for_change(session, plan_id) if await lock_subject(session, pseudonym) else None
    )
    partner = loaded.partner(actor.agency) if loaded else None
    if loaded is None or partner is None or loaded.plan.subject_pseudonym != pseudonym:
        raise NotFound(f"no crisis plan {plan_id}")
    if loaded.plan.status != PROPOSED:
        raise Conflict(f"crisis plan {plan_id} is {loaded.plan.status}; it takes no confirmations")
    if partner.confirmed_at is not None:
        raise Conflict(f"{actor.agency} has already confirmed crisis plan {plan_id}")
    await _still_proposable(session, loaded.plan, pseudonym)
    now = rt.clock()
    _confirm(session, actor, loaded, partner, confirmation.confirmed_by, now, implied=False)
    if all(p.confirmed_at is not None for p in loaded.partners):
        await _activate(session, actor, loaded.plan, now)
    return plan_view(rt.keys.key_provider, loaded)


async def _still_proposable(session: AsyncSession, plan: CrisisPlan, pseudonym: str) -> None:
    """A plan may come into force only while its proposer could still propose it: one proposed
    for a person nobody worked with must not, once others care for them, supersede their plan."""
    proposer = await standing_of(session, plan.created_by_agency, pseudonym, admin=False)
    if not proposer.may_propose_crisis_plan():
        raise Conflict(
            f"the person's care has changed since {plan.created_by_agency} proposed this plan: "
            "their care team or crisis plan partners must propose it again"
        )


async def crisis_plans_for(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str
) -> list[dict[str, Any]]:
    """The subject's plans that the agency is a partner of, newest first; each read is audited."""
    assert actor.agency is not None
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    plans = await plans_with_partner(session, pseudonym, actor.agency)
    return [_viewed(session, rt, actor, loaded) for loaded in plans]


async def crisis_plan_for(
    session: AsyncSession, rt: Runtime, actor: Actor, nhs_number: str, plan_id: UUID
) -> dict[str, Any]:
    """One plan, for its partners only: to anyone else it does not exist."""
    assert actor.agency is not None
    pseudonym = rt.pseudonymiser.pseudonym(nhs_number)
    plans = await plans_with_partner(session, pseudonym, actor.agency, plan_id)
    if not plans:
        raise NotFound(f"no crisis plan {plan_id}")
    return _viewed(session, rt, actor, plans[0])


def _viewed(session: AsyncSession, rt: Runtime, actor: Actor, loaded: LoadedPlan) -> dict[str, Any]:
    """The plan's unsealed view, and a `payload.viewed` record of who read which parts."""
    view = plan_view(rt.keys.key_provider, loaded)
    content = {key: view[key] for key in CONTENT_FIELDS if key in view}
    append(
        session,
        AuditEvent.PAYLOAD_VIEWED,
        actor,
        rt.clock(),
        subject=loaded.plan.subject_pseudonym,
        payload_digest=payload_digest(rt.keys.digest_key, canonical_json(content)),
        detail={
            "recipient": actor.agency,
            "crisis_plan_id": str(loaded.plan.id),
            "fields": sorted(field_paths(content)),
            "redacted": [],
        },
    )
    return view


async def _check_partners(
    session: AsyncSession, rt: Runtime, actor: Actor, body: CrisisPlanBody
) -> None:
    codes = [p.agency for p in body.partners]
    known = await registered(session, rt, codes)
    errors = [
        FieldError(("body", "partners", index, "agency"), f"unknown agency {code}")
        for index, code in enumerate(codes)
        if code not in known
    ]
    if actor.agency not in codes:
        message = f"{actor.agency} proposes the plan, so it must be one of its partners"
        errors.append(FieldError(("body", "partners"), message))
    if errors:
        raise InvalidInput("the plan's partners are not valid", errors)


def _confirm(
    session: AsyncSession,
    actor: Actor,
    loaded: LoadedPlan,
    partner: CrisisPlanPartner,
    person: Person,
    now: datetime,
    *,
    implied: bool,
) -> None:
    partner.confirmed_at, partner.confirmed_by = now, person.model_dump()
    partner.confirmed_by_client = actor.client
    detail = {
        "crisis_plan_id": str(loaded.plan.id),
        "agency": partner.agency_code,
        "confirmed_by": partner.confirmed_by,
        "implied_by_proposal": implied,
        "awaiting": [p.agency_code for p in loaded.partners if p.confirmed_at is None],
    }
    subject = loaded.plan.subject_pseudonym
    append(session, AuditEvent.CRISIS_PLAN_CONFIRMED, actor, now, subject=subject, detail=detail)


async def _activate(session: AsyncSession, actor: Actor, plan: CrisisPlan, now: datetime) -> None:
    previous = await active_plan_of(session, plan.subject_pseudonym)
    if previous is not None:
        _supersede(session, actor, previous, plan, now)
    plan.status, plan.activated_at = ACTIVE, now
    detail = {
        "crisis_plan_id": str(plan.id),
        "lead_agency": plan.lead_agency,
        "supersedes": str(previous.id) if previous else None,
    }
    subject = plan.subject_pseudonym
    append(session, AuditEvent.CRISIS_PLAN_ACTIVATED, actor, now, subject=subject, detail=detail)


def _supersede(
    session: AsyncSession, actor: Actor, previous: CrisisPlan, plan: CrisisPlan, now: datetime
) -> None:
    previous.status, previous.ended_at = SUPERSEDED, now
    detail = {"crisis_plan_id": str(previous.id), "superseded_by": str(plan.id)}
    subject = plan.subject_pseudonym
    append(session, AuditEvent.CRISIS_PLAN_SUPERSEDED, actor, now, subject=subject, detail=detail)


def _plan_detail(loaded: LoadedPlan) -> dict[str, Any]:
    """The plan's shape for the audit trail; its content describes the person, so stays out."""
    plan, partners = loaded.plan, loaded.partners
    return {
        "crisis_plan_id": str(plan.id),
        "lead_agency": plan.lead_agency,
        "partners": [
            {"agency": p.agency_code, "role": p.role, "ack_within_seconds": p.ack_within_seconds}
            for p in partners
        ],
        "ack_within_seconds": plan.ack_within_seconds,
    }


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None
