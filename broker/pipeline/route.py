"""RouteMessages: who receives a message, the consent decision for each, and their deliveries.

Idempotent: a message already routed is not routed again, so a replayed Kafka record changes
nothing. Deliveries, their audit records and their outbox entries commit together.
"""

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.agreements.repository import versions_naming
from broker.audit.log import BROKER, AuditEvent, append
from broker.audit.log import record as audit_record
from broker.crisis_plans.repository import active_plans
from broker.crisis_plans.routing import (
    ActivePlan,
    active_plan,
    plan_activated,
    with_plan_partners,
)
from broker.crypto.envelope import Sealed, delivery_ad, message_ad, open_sealed, seal
from broker.crypto.pseudonym import canonical_json
from broker.db.bulk import RowsToInsert
from broker.db.models import AgreementVersion, AuditRecord, Delivery, Message, OutboxEntry
from broker.deliveries.minimise import minimised
from broker.logs import after_commit, get_logger
from broker.messages.submit import ACCEPTED
from broker.overrides.service import open_override
from broker.pipeline.lanes import Lane
from broker.pipeline.notices import announce
from broker.pipeline.outbox import delivery_record
from broker.pipeline.outbox import entry as outbox_entry
from broker.runtime import Runtime
from broker.subjects.repository import care_teams_of, consent_histories, to_consent_record
from broker.timeframes.assign import Assigned, Tightening, agreed_tightenings, assign, risk_level_of
from broker.timeframes.policy import Policy
from broker.timeframes.repository import current_policies
from consent.decide import decide
from consent.model import Agreement, ConsentRecord, Decision, DecisionRequest, OverrideClaim
from consent.redact import field_paths
from schemas.vocabulary import DecisionOutcome, DeliveryStatus, OverrideReason, Purpose, Urgency

ROUTED = "routed"
NO_RECIPIENTS = "no_recipients"
log = get_logger(__name__)


@dataclass(frozen=True)
class Routed:
    message_id: UUID
    permitted: int
    withheld: int


class BatchReads:
    """What routing reads, read in bulk once per consumed batch.

    Safe because one batch is one transaction: every message in it is decided on the same
    view of agreements, care teams and consents, as if all were routed at the same moment.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._agreements: dict[str, list[Agreement]] = {}
        self._timeframes: dict[tuple[UUID, int], list[dict[str, Any]]] = {}
        self.care_teams: dict[str, list[str]] = defaultdict(list)
        self.consents: dict[str, list[ConsentRecord]] = defaultdict(list)
        self.crisis_plans: dict[str, ActivePlan] = {}
        self.policies: list[Policy] = []
        # What routing writes, inserted together at the end of the batch.
        self.rows = RowsToInsert(Delivery, AuditRecord, OutboxEntry)

    async def load_policies(self) -> None:
        self.policies = await current_policies(self.session)

    async def load_subjects(self, pseudonyms: set[str]) -> None:
        for subject, agency in await care_teams_of(self.session, pseudonyms):
            self.care_teams[subject].append(agency)
        for row in await consent_histories(self.session, pseudonyms):
            self.consents[row.subject_pseudonym].append(to_consent_record(row))
        for loaded in await active_plans(self.session, pseudonyms):
            self.crisis_plans[loaded.plan.subject_pseudonym] = active_plan(loaded)

    async def agreed_timeframes(self, version: tuple[UUID, int]) -> list[dict[str, Any]]:
        """An agreement version's `timeframes` terms, read once per batch: the session's
        identity map holds rows only weakly, so it is no cache."""
        if version not in self._timeframes:
            row = await self.session.get(AgreementVersion, version)
            self._timeframes[version] = (row.terms.get("timeframes") or []) if row else []
        return self._timeframes[version]

    async def agreements_of(self, agency: str) -> list[Agreement]:
        if agency not in self._agreements:
            self._agreements[agency] = await versions_naming(self.session, agency)
        return self._agreements[agency]


async def route_messages(session: AsyncSession, rt: Runtime, message_ids: list[UUID]) -> None:
    """Route the accepted messages among these; any already routed are left as they are.

    Each person's messages are decided in the order they were accepted, lanes or not: an
    earlier message about the same person still waiting in another lane (or in a later
    record of this one) is routed here first, so an urgent event never overtakes one about
    its own person, and the lane it was waiting in later finds it done.
    """
    messages = await _unrouted_with_predecessors(session, message_ids)
    reads = BatchReads(session)
    await reads.load_policies()
    await reads.load_subjects({m.subject_pseudonym for m in messages})
    for message in messages:
        await route_message(session, rt, message, reads)
    await reads.rows.insert(session)
    await announce(session, (Lane(message.lane) for message in messages))


async def _unrouted_with_predecessors(
    session: AsyncSession, message_ids: list[UUID]
) -> list[Message]:
    batch = select(Message.subject_pseudonym, Message.received_at).where(
        Message.id.in_(message_ids), Message.status == ACCEPTED
    )
    subjects = batch.with_only_columns(Message.subject_pseudonym).scalar_subquery()
    latest = batch.with_only_columns(func.max(Message.received_at)).scalar_subquery()
    statement = (
        select(Message)
        .where(
            Message.status == ACCEPTED,
            or_(
                Message.id.in_(message_ids),
                and_(Message.subject_pseudonym.in_(subjects), Message.received_at <= latest),
            ),
        )
        # Locked in one order by every router, so two routers never wait on each other.
        .order_by(Message.id)
        .with_for_update(of=Message)
    )
    messages = list((await session.scalars(statement)).all())
    return sorted(messages, key=lambda m: (m.received_at, m.id))


async def route_message(
    session: AsyncSession, rt: Runtime, message: Message, reads: BatchReads
) -> Routed:
    plan = plan_activated(message.type, reads.crisis_plans.get(message.subject_pseudonym))
    recipients = recipients_of(message, reads.care_teams[message.subject_pseudonym], plan)
    now = rt.clock()
    if not recipients:
        _record_unroutable(session, message, now)
        after_commit(session, log, "event.unroutable", message_id=str(message.id))
        return Routed(message.id, 0, 0)
    decided = await decide_and_record(session, rt, message, recipients, reads, plan)
    message.status, message.routed_at = ROUTED, now
    permitted = sum(decision.permitted for _, decision in decided.values())
    routed = Routed(message.id, permitted, len(decided) - permitted)
    after_commit(
        session,
        log,
        "event.routed",
        message_id=str(message.id),
        event_type=message.type,
        deliveries=routed.permitted,
        withheld=routed.withheld,
    )
    return routed


async def decide_and_record(
    session: AsyncSession,
    rt: Runtime,
    message: Message,
    recipients: list[str],
    reads: BatchReads,
    plan: ActivePlan | None,
    replaying: Mapping[str, UUID] | None = None,
) -> dict[str, tuple[UUID, Decision]]:
    """Decide each recipient now and write its delivery (with its audit record, and its outbox
    entry if permitted); `replaying`: per recipient, the delivery a replay's replaces."""
    now = rt.clock()
    consents = reads.consents[message.subject_pseudonym]
    agreements = await reads.agreements_of(message.sender_agency)
    content = _open_content(rt, message)
    base = _request_for(message, content, now)
    decisions = {r: decide(_to(base, r), agreements, consents) for r in recipients}
    decided = {}
    for recipient, decision in decisions.items():
        in_plan = plan if plan is not None and recipient in plan.partners else None
        planned = in_plan.tightenings_for(recipient) if in_plan else []
        timing = await _timeframe(reads, message, content, decision, now, planned)
        replay_of = (replaying or {}).get(recipient)
        delivery_id = _create_delivery(
            reads.rows, rt, message, recipient, decision, content, timing, in_plan, replay_of
        )
        decided[recipient] = (delivery_id, decision)
        if not decision.permitted:
            _log_withheld(session, message, delivery_id, recipient, decision)
        if decision.outcome is DecisionOutcome.PERMIT_OVERRIDE:
            # The review item refers to the delivery: its row goes in first.
            await reads.rows.insert(session)
            claim = content["override"]
            open_override(session, rt, message, delivery_id, recipient, decision, claim)
    return decided


def recipients_of(
    message: Message, care_team: list[str], plan: ActivePlan | None = None
) -> list[str]:
    """The explicit recipients, else the subject's care team minus the sender; with the
    partners of the crisis plan the message activates first, its lead agency first of all."""
    if message.explicit_recipients is not None:
        recipients = list(message.explicit_recipients)
    else:
        recipients = sorted(agency for agency in care_team if agency != message.sender_agency)
    return with_plan_partners(recipients, plan, message.sender_agency) if plan else recipients


def _request_for(message: Message, content: dict[str, Any], now: datetime) -> DecisionRequest:
    """The decision request for every recipient of the message (recipient left blank)."""
    return DecisionRequest(
        sender=message.sender_agency,
        recipient="",
        event_type=message.type,
        purpose=Purpose(message.purpose),
        at=now,  # the agreements and consents in force at the moment of routing
        urgency=Urgency(message.urgency),
        override=override_claim(content.get("override")),
        payload_paths=field_paths(content["payload"]),
    )


def _to(request: DecisionRequest, recipient: str) -> DecisionRequest:
    return replace(request, recipient=recipient)


def override_claim(value: dict[str, Any] | None) -> OverrideClaim | None:
    if value is None:
        return None
    return OverrideClaim(
        reason=OverrideReason(value["reason"]),
        authorised_by=str(value["authorised_by"]),
        justification=str(value["justification"]),
    )


async def _timeframe(
    reads: BatchReads,
    message: Message,
    content: dict[str, Any],
    decision: Decision,
    now: datetime,
    planned: list[Tightening],
) -> Assigned | None:
    """The deadlines of a permitted delivery; a withheld one has none to keep."""
    if not decision.permitted:
        return None
    risk_level = risk_level_of(message.type, content["payload"])
    tightenings: list[Tightening] = list(planned)
    if decision.agreement_id is not None and decision.agreement_version is not None:
        key = (UUID(decision.agreement_id), decision.agreement_version)
        tightenings += agreed_tightenings(
            f"agreement:{decision.agreement_id}/v{decision.agreement_version}",
            await reads.agreed_timeframes(key),
            message.type,
            message.urgency,
            risk_level,
        )
    return assign(reads.policies, message.type, message.urgency, risk_level, now, tightenings)


def _open_content(rt: Runtime, message: Message) -> dict[str, Any]:
    sealed = Sealed.from_bytes(message.content_sealed)
    opened: dict[str, Any] = json.loads(
        open_sealed(rt.keys.key_provider, sealed, message_ad(message.id))
    )
    return opened


def _create_delivery(
    rows: RowsToInsert,
    rt: Runtime,
    message: Message,
    recipient: str,
    decision: Decision,
    content: dict[str, Any],
    timing: Assigned | None,
    plan: ActivePlan | None = None,
    replay_of: UUID | None = None,
) -> UUID:
    """The delivery's row, its audit record and (if permitted) its outbox entry, as rows."""
    now, delivery_id = rt.clock(), uuid4()
    status = DeliveryStatus.PENDING if decision.permitted else DeliveryStatus.WITHHELD
    deadlines = timing.deadlines if timing else None
    rows.add(
        Delivery,
        {
            "id": delivery_id,
            "message_id": message.id,
            "recipient_agency": recipient,
            "status": status.value,
            "decision": decision.outcome.value,
            "decision_detail": decision.to_dict(),
            "created_at": now,
            "deliver_by": deadlines.deliver_by if deadlines else None,
            "ack_by": deadlines.ack_by if deadlines else None,
            "timeframe": timing.record if timing else None,
            "crisis_plan_id": plan.id if plan else None,
            "escalation_step": 0,
            "lane": message.lane,
            "replay_of": replay_of,
        },
    )
    detail = {
        "recipient": recipient,
        "status": status.value,
        **decision.to_dict(),
        **_deadlines_detail(timing),
        **({"crisis_plan_id": str(plan.id)} if plan else {}),
    }
    rows.add(
        AuditRecord,
        audit_record(
            AuditEvent.DELIVERY_DECIDED,
            BROKER,
            now,
            message_id=message.id,
            delivery_id=delivery_id,
            subject=message.subject_pseudonym,
            detail=detail,
        ),
    )
    rt.metrics.deliveries_decided.labels(decision.outcome.value).inc()
    if decision.permitted:
        plaintext = canonical_json(minimised(content, decision.obligations))
        sealed = seal(rt.keys.key_provider, plaintext, delivery_ad(message.id, recipient))
        record = delivery_record(delivery_id, recipient, message, sealed)
        lane = Lane(message.lane)
        topic = rt.settings.kafka.deliveries_topic(lane)
        rows.add(OutboxEntry, outbox_entry(lane, topic, recipient, record, now))
    return delivery_id


def _log_withheld(
    session: AsyncSession, message: Message, delivery_id: UUID, recipient: str, decision: Decision
) -> None:
    reason = decision.reason.value if decision.reason else None
    after_commit(
        session,
        log,
        "delivery.withheld",
        message_id=str(message.id),
        delivery_id=str(delivery_id),
        recipient=recipient,
        reason=reason,
    )


def _deadlines_detail(timing: Assigned | None) -> dict[str, Any]:
    if timing is None:
        return {}
    return {
        "deliver_by": timing.deadlines.deliver_by.isoformat(),
        "ack_by": timing.deadlines.ack_by.isoformat(),
        "timeframe": timing.record,
    }


def _record_unroutable(session: AsyncSession, message: Message, now: datetime) -> None:
    message.status, message.routed_at = NO_RECIPIENTS, now
    append(
        session,
        AuditEvent.EVENT_UNROUTABLE,
        BROKER,
        now,
        message_id=message.id,
        subject=message.subject_pseudonym,
        detail={"reason": "no_recipients"},
    )
