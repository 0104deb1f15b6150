"""What must hold after every scenario, read from the database, the council's inbox over HTTP
and housing's webhook receiver:

- every event answered 202 was routed, and each of its deliveries is either delivered (once:
  one row, one `delivery.delivered`, listed once in the inbox, one webhook-id recorded by the
  receiver however often it was sent) or withheld with a reason; none is lost;
- every deadline that passed unmet has its escalation, and no route step is opened twice;
- the audit chain verifies, and each delivery's trail holds what happened to it;
- every worker process is alive and its heartbeat renewed after the faults ended.
"""

import asyncio
import collections
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from broker.db.models import AuditChainLink, AuditRecord, Delivery, Escalation, Message
from tests.faults.cluster import IMB, ROLES, Cluster
from tests.faults.load import Load
from tests.receivers import Receiver
from tests.world import COUNCIL, HOUSING

HEARTBEAT = "uk.imb.heartbeat.v1"
# A deadline is counted only once it is this far behind: the monitor scans every few seconds.
ESCALATION_SLACK = timedelta(seconds=15)


@dataclass
class Figures:
    accepted: int = 0
    expected: int = 0  # deliveries permitted
    delivered: int = 0
    withheld: int = 0
    duplicated: int = 0
    lost: int = 0
    escalations_expected: int = 0
    escalations_raised: int = 0
    chain_verified: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return not self.problems


async def check(
    cluster: Cluster, load: Load, council_token: str, receiver: Receiver, faults_ended: float
) -> Figures:
    figures = Figures(accepted=len(load.accepted))
    engine = create_async_engine(cluster.database.url)
    try:
        async with engine.connect() as db:
            messages = {
                m.id: m
                for m in (await db.execute(select(Message))).all()  # type: ignore[misc]
            }
            deliveries = (
                await db.execute(select(Delivery).where(Delivery.replay_of.is_(None)))
            ).all()
            audit = (
                await db.execute(
                    select(AuditRecord.event, AuditRecord.delivery_id, AuditRecord.detail)
                )
            ).all()
            escalations = (await db.execute(select(Escalation.delivery_id, Escalation.step))).all()
            unchained = (
                await db.execute(
                    select(func.count())
                    .select_from(AuditRecord)
                    .where(AuditRecord.id.not_in(select(AuditChainLink.record_id)))
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    _routed(figures, load, messages)
    by_message = collections.defaultdict(list)
    for delivery in deliveries:
        by_message[delivery.message_id].append(delivery)
    _delivered_once(figures, load, by_message, audit)
    to_council = {str(d.id) for d in deliveries if d.recipient_agency == COUNCIL and d.delivered_at}
    await _listed_once(figures, cluster, council_token, to_council)
    _pushed_once(figures, deliveries, receiver)
    _escalated(figures, deliveries, escalations, audit)
    _trails(figures, deliveries, audit)
    figures.chain_verified = _chain_verifies(figures, cluster) and unchained == 0
    if unchained:
        figures.problems.append(f"{unchained} audit records were never linked into the chain")
    await _alive_and_beating(figures, cluster, faults_ended)
    return figures


def _routed(figures: Figures, load: Load, messages: dict[Any, Any]) -> None:
    """Every event answered 202 is stored; every stored one (a 202 lost with a killed API
    included) is routed."""
    if not load.accepted:
        figures.problems.append("no event was accepted: the load never ran")
    figures.problems.extend(load.problems)
    for event_id, message_id in load.accepted.items():
        if UUID(message_id) not in messages:
            figures.problems.append(f"event {event_id} was answered 202 and is not stored")
    for message in messages.values():
        if message.status != "routed":
            figures.problems.append(f"message {message.id} is still {message.status}")


def _delivered_once(
    figures: Figures, load: Load, by_message: dict[Any, list[Any]], audit: list[Any]
) -> None:
    delivered_records = collections.Counter(
        r.delivery_id for r in audit if r.event == "delivery.delivered"
    )
    for message_id in load.accepted.values():
        for delivery in by_message.get(UUID(message_id), []):
            if delivery.status == "withheld":
                figures.withheld += 1
                if not (delivery.decision_detail or {}).get("reason"):
                    figures.problems.append(f"delivery {delivery.id} withheld without a reason")
                continue
            figures.expected += 1
            # Delivered is made available in the recipient's inbox, whatever came after
            # (received, acknowledged, or expired: its acknowledgement deadline passed).
            if delivery.delivered_at is not None:
                figures.delivered += 1
            else:
                figures.lost += 1
                figures.problems.append(f"delivery {delivery.id} is {delivery.status}")
            if delivered_records[delivery.id] > 1:
                figures.duplicated += 1
                figures.problems.append(f"delivery {delivery.id} delivered more than once")


async def _listed_once(figures: Figures, cluster: Cluster, token: str, available: set[str]) -> None:
    """The council's whole inbox, page by page: each delivery made available listed once."""
    seen: collections.Counter[str] = collections.Counter()
    cursor: str | None = None
    async with httpx.AsyncClient(base_url=cluster.base_url, timeout=30) as api:
        while True:
            params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = await api.get(
                "/v1/inbox", params=params, headers={"Authorization": f"Bearer {token}"}
            )
            if page.status_code != 200:
                figures.problems.append(f"the council's inbox answered {page.status_code}")
                return
            body = page.json()
            seen.update(item["delivery_id"] for item in body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                break
    twice = [delivery for delivery, count in seen.items() if count > 1]
    figures.duplicated += len(twice)
    figures.problems.extend(f"delivery {d} listed {seen[d]} times" for d in twice)
    for missing in sorted(available - set(seen)):
        figures.problems.append(f"delivery {missing} is not in the council's inbox")


def _pushed_once(figures: Figures, deliveries: list[Any], receiver: Receiver) -> None:
    """Every delivery made available to housing reached its receiver (a push dead-lettered
    while it was down is redriven once it is back), and the receiver was sent nothing else.
    It may be sent a webhook-id again (a retry after a lost answer); it records it once."""
    recorded = {
        r.headers.get("webhook-id")
        for r in receiver.received
        if r.status < 300 and r.json().get("type") != HEARTBEAT  # heartbeats carry no delivery
    }
    housing = {str(d.id) for d in deliveries if d.recipient_agency == HOUSING}
    made_available = {
        str(d.id)
        for d in deliveries
        if d.recipient_agency == HOUSING and d.delivered_at is not None
    }
    for missing in sorted(made_available - recorded):
        figures.problems.append(f"delivery {missing} never reached housing's receiver")
    for foreign in sorted(recorded - housing - {None}):
        figures.problems.append(f"housing's receiver was sent {foreign}, no delivery of its own")


def _escalated(
    figures: Figures, deliveries: list[Any], escalations: list[Any], audit: list[Any]
) -> None:
    now = datetime.now(UTC)
    raised = {row.delivery_id for row in escalations}
    # (delivery, step) is unique in the escalations table, so the audit is where a step
    # opened twice would show.
    opened = collections.Counter(
        (r.delivery_id, (r.detail or {}).get("step"))
        for r in audit
        if r.event == "escalation.opened"
    )
    for delivery in deliveries:
        if delivery.status == "withheld" or not _breached(delivery, now):
            continue
        figures.escalations_expected += 1
        if delivery.id in raised:
            figures.escalations_raised += 1
        else:
            figures.problems.append(f"delivery {delivery.id} breached and was never escalated")
    for (delivery_id, step), count in opened.items():
        if count > 1:
            figures.problems.append(f"delivery {delivery_id} step {step} opened {count} times")
    if len(opened) != len(escalations):
        figures.problems.append(
            f"{len(escalations)} escalations but {len(opened)} escalation.opened records"
        )


def _breached(delivery: Any, now: datetime) -> bool:
    def late(deadline: datetime | None, met_at: datetime | None) -> bool:
        if deadline is None:
            return False
        deadline = deadline.replace(tzinfo=deadline.tzinfo or UTC)
        met = met_at.replace(tzinfo=met_at.tzinfo or UTC) if met_at else None
        return deadline < now - ESCALATION_SLACK and (met is None or met > deadline)

    return late(delivery.deliver_by, delivery.delivered_at) or late(
        delivery.ack_by, delivery.acknowledged_at
    )


def _trails(figures: Figures, deliveries: list[Any], audit: list[Any]) -> None:
    trail: dict[Any, set[str]] = collections.defaultdict(set)
    for record in audit:
        if record.delivery_id is not None:
            trail[record.delivery_id].add(record.event)
    for delivery in deliveries:
        wanted = {"delivery.decided"}
        if delivery.delivered_at is not None:
            wanted.add("delivery.delivered")
        if delivery.received_at is not None:
            wanted.add("delivery.received")
        if delivery.acknowledged_at is not None:
            wanted.add("delivery.acknowledged")
        missing = wanted - trail[delivery.id]
        if missing:
            figures.problems.append(f"delivery {delivery.id}'s trail lacks {sorted(missing)}")


def _chain_verifies(figures: Figures, cluster: Cluster) -> bool:
    done = subprocess.run(
        [IMB, "audit", "verify"], env=cluster.env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        figures.problems.append(f"imb audit verify: {done.stderr.strip() or done.stdout.strip()}")
    return done.returncode == 0


async def _alive_and_beating(figures: Figures, cluster: Cluster, faults_ended: float) -> None:
    for role, code in cluster.exits().items():
        if code is not None:
            figures.problems.append(f"{role} exited with {code} and was not restarted")
    for role in ROLES:
        beat = cluster.heartbeat(role)
        for _ in range(30):  # a beat every 5 s: up to 15 s for the first after the faults
            if beat.exists() and beat.stat().st_mtime > faults_ended:
                break
            await asyncio.sleep(0.5)
        else:
            figures.problems.append(f"{role}'s heartbeat has not moved since the faults ended")
