"""A delivery's escalation route and the breach it chases. Pure: no I/O.

The route is read from the timeframe kept on the delivery when it was routed, never from the
current policy table: a policy changed since must not change what happens to this delivery.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from broker.db.models import Delivery
from schemas.vocabulary import BreachKind, DeliveryStatus, EscalationStep

_DURATION = TypeAdapter(timedelta)


@dataclass(frozen=True, slots=True)
class Route:
    steps: tuple[EscalationStep, ...]
    interval: timedelta  # how long each step waits for an acknowledgement before the next

    @classmethod
    def of(cls, timeframe: Mapping[str, Any] | None) -> "Route":
        if not timeframe:
            return cls((), timedelta(0))
        steps = tuple(EscalationStep(step) for step in timeframe.get("escalation") or ())
        interval = timeframe.get("escalation_interval") or timeframe["ack_within"]
        return cls(steps, _DURATION.validate_python(interval))

    def step(self, index: int) -> EscalationStep | None:
        return self.steps[index] if 0 <= index < len(self.steps) else None

    def next_due(self, steps_done: int, now: datetime) -> datetime | None:
        """When the step after the first `steps_done` is due; None once none is left."""
        return now + self.interval if steps_done < len(self.steps) else None


@dataclass(frozen=True, slots=True)
class Breach:
    kind: BreachKind
    deadline: datetime
    detected_at: datetime

    @property
    def late_seconds(self) -> float:
        return max((self.detected_at - self.deadline).total_seconds(), 0.0)


def latest_breach(delivery: Delivery) -> Breach:
    """The breach a route step chases: a missed acknowledgement once there is one."""
    if delivery.ack_breached_at is not None and delivery.ack_by is not None:
        return Breach(BreachKind.ACKNOWLEDGEMENT, delivery.ack_by, delivery.ack_breached_at)
    assert delivery.deliver_by is not None
    assert delivery.delivery_breached_at is not None
    return Breach(BreachKind.DELIVERY, delivery.deliver_by, delivery.delivery_breached_at)


def progress_of(delivery: Delivery) -> DeliveryStatus:
    """How far the delivery got, whatever its status says since it expired."""
    if delivery.acknowledged_at is not None:
        return DeliveryStatus.ACKNOWLEDGED
    if delivery.received_at is not None:
        return DeliveryStatus.RECEIVED
    if delivery.delivered_at is not None:
        return DeliveryStatus.DELIVERED
    return DeliveryStatus.PENDING
