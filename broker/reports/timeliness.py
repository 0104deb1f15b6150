"""The timeliness report: per recipient agency and event type, how fast deliveries went.

Over the deliveries decided (created) in [start, end): how many, how many were withheld and
why, delivered, acknowledged, declined and why, the median and 90th percentile times to
receipt and to acknowledgement, and the deadline breaches with their rate among the permitted
deliveries. Percentiles are computed here, in Python, over the rows of each group, so SQLite
and PostgreSQL give the same answer.

Who sees what: an agency sees the rows of deliveries it received or sent; ``everything``
(an administrator) sees every agency's. No payload, NHS number or pseudonym is read.
"""

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.export_csv import spreadsheet_safe
from broker.db.models import Agency, Delivery, Message
from broker.errors import FieldError, InvalidInput
from broker.reports.percentiles import Spread, spread
from broker.timeframes.policy import iso_duration
from schemas.vocabulary import DeliveryStatus

DECLINED = "declined"
_REACHED = {DeliveryStatus.DELIVERED, DeliveryStatus.RECEIVED, DeliveryStatus.ACKNOWLEDGED}


@dataclass
class _Group:
    deliveries: int = 0
    withheld: Counter[str] = field(default_factory=Counter)
    delivered: int = 0
    acknowledged: int = 0
    declined: Counter[str] = field(default_factory=Counter)
    to_receipt: list[timedelta] = field(default_factory=list)
    to_ack: list[timedelta] = field(default_factory=list)
    breaches: int = 0


@dataclass(frozen=True)
class TimelinessRow:
    agency: str
    event_type: str
    deliveries: int
    withheld: dict[str, int]
    delivered: int
    acknowledged: int
    declined: dict[str, int]
    to_receipt: Spread
    to_ack: Spread
    breaches: int

    @property
    def permitted(self) -> int:
        return self.deliveries - sum(self.withheld.values())

    @property
    def breach_rate(self) -> float | None:
        return round(self.breaches / self.permitted, 4) if self.permitted else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "event_type": self.event_type,
            "deliveries": self.deliveries,
            "withheld": sum(self.withheld.values()),
            "withheld_by_reason": dict(sorted(self.withheld.items())),
            "delivered": self.delivered,
            "acknowledged": self.acknowledged,
            "declined": sum(self.declined.values()),
            "declined_by_reason": dict(sorted(self.declined.items())),
            "time_to_receipt": _spread(self.to_receipt),
            "time_to_acknowledgement": _spread(self.to_ack),
            "breaches": self.breaches,
            "breach_rate": self.breach_rate,
        }


def _spread(value: Spread) -> dict[str, Any]:
    def one(d: timedelta | None) -> dict[str, Any] | None:
        return None if d is None else {"iso": iso_duration(d), "seconds": d.total_seconds()}

    return {"count": value.count, "median": one(value.median), "p90": one(value.p90)}


async def timeliness(
    session: AsyncSession,
    viewer: str,
    everything: bool,
    start: datetime,
    end: datetime,
    agency: str | None = None,
) -> list[TimelinessRow]:
    """The report's rows, ordered by recipient agency then event type."""
    if end <= start:
        raise InvalidInput(
            "the report's range is empty", [FieldError(("query", "to"), "must be after from")]
        )
    if agency is not None and await session.get(Agency, agency) is None:
        raise InvalidInput(
            "no such agency", [FieldError(("query", "agency"), f"unknown agency {agency}")]
        )
    query = (
        select(Delivery, Message.type)
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.created_at >= start, Delivery.created_at < end)
    )
    if not everything:
        query = query.where(
            or_(Delivery.recipient_agency == viewer, Message.sender_agency == viewer)
        )
    if agency is not None:
        query = query.where(Delivery.recipient_agency == agency)
    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
    result = await session.stream(query.execution_options(yield_per=500))
    async for delivery, event_type in result:
        _count(groups[(delivery.recipient_agency, event_type)], delivery)
    return [_row(key, groups[key]) for key in sorted(groups)]


def _count(group: _Group, delivery: Delivery) -> None:
    group.deliveries += 1
    if delivery.status == DeliveryStatus.WITHHELD:
        group.withheld[str((delivery.decision_detail or {}).get("reason") or "unknown")] += 1
        return
    if delivery.delivered_at is not None or delivery.status in _REACHED:
        group.delivered += 1
    if delivery.acknowledged_at is not None:
        if delivery.ack_outcome == DECLINED:
            group.declined[delivery.ack_reason_code or "unstated"] += 1
        else:
            group.acknowledged += 1
        group.to_ack.append(delivery.acknowledged_at - delivery.created_at)
    if delivery.received_at is not None:
        group.to_receipt.append(delivery.received_at - delivery.created_at)
    if delivery.delivery_breached_at is not None or delivery.ack_breached_at is not None:
        group.breaches += 1


def _row(key: tuple[str, str], group: _Group) -> TimelinessRow:
    return TimelinessRow(
        agency=key[0],
        event_type=key[1],
        deliveries=group.deliveries,
        withheld=dict(group.withheld),
        delivered=group.delivered,
        acknowledged=group.acknowledged,
        declined=dict(group.declined),
        to_receipt=spread(group.to_receipt),
        to_ack=spread(group.to_ack),
        breaches=group.breaches,
    )


CSV_COLUMNS = (
    "agency",
    "event_type",
    "deliveries",
    "withheld",
    "delivered",
    "acknowledged",
    "declined",
    "receipt_median_seconds",
    "receipt_p90_seconds",
    "ack_median_seconds",
    "ack_p90_seconds",
    "breaches",
    "breach_rate",
)


def csv_cells(row: TimelinessRow) -> list[str]:
    """One spreadsheet row; a text cell a spreadsheet would read as a formula is quoted."""

    def seconds(d: timedelta | None) -> str:
        return "" if d is None else f"{d.total_seconds():g}"

    values: Iterable[object] = (
        row.agency,
        row.event_type,
        row.deliveries,
        sum(row.withheld.values()),
        row.delivered,
        row.acknowledged,
        sum(row.declined.values()),
        seconds(row.to_receipt.median),
        seconds(row.to_receipt.p90),
        seconds(row.to_ack.median),
        seconds(row.to_ack.p90),
        row.breaches,
        "" if row.breach_rate is None else f"{row.breach_rate:g}",
    )
    return [spreadsheet_safe(str(value)) for value in values]


def csv_text(rows: Iterable[TimelinessRow]) -> str:
    """The report as a CSV document, header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_cells(row) for row in rows)
    return out.getvalue()
