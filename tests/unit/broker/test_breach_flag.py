"""The sender's breach flag: a deadline passed before the step it is for."""

from datetime import UTC, datetime, timedelta

from broker.db.models import Delivery
from broker.messages.views import breached

NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def _delivery(**fields: object) -> Delivery:
    return Delivery(**fields)


def test_no_deadlines_is_never_a_breach() -> None:
    assert not breached(_delivery(), NOW)


def test_undelivered_past_deliver_by_is_a_breach() -> None:
    assert breached(_delivery(deliver_by=NOW - timedelta(seconds=1)), NOW)
    assert not breached(_delivery(deliver_by=NOW + timedelta(seconds=1)), NOW)


def test_delivered_in_time_but_unacknowledged_past_ack_by_is_a_breach() -> None:
    delivered = {"deliver_by": NOW - timedelta(hours=1), "delivered_at": NOW - timedelta(hours=2)}
    assert not breached(_delivery(**delivered, ack_by=NOW + timedelta(minutes=5)), NOW)
    assert breached(_delivery(**delivered, ack_by=NOW - timedelta(minutes=5)), NOW)
    in_time = {**delivered, "ack_by": NOW, "acknowledged_at": NOW - timedelta(minutes=5)}
    assert not breached(_delivery(**in_time), NOW)


def test_a_late_step_stays_a_breach_once_done() -> None:
    late_ack = {"ack_by": NOW - timedelta(minutes=5), "acknowledged_at": NOW}
    late_delivery = {"deliver_by": NOW - timedelta(minutes=5), "delivered_at": NOW}
    assert breached(_delivery(**late_ack), NOW)
    assert breached(_delivery(**late_delivery), NOW)
    assert breached(_delivery(ack_breached_at=NOW - timedelta(hours=1)), NOW)
