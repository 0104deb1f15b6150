"""Prometheus metrics, on a registry per runtime so that several can live in one process."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# Acknowledgements take minutes to days: buckets around the default timeframe policy's deadlines.
_ACK_BUCKETS = (30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_accepted = Counter(
            "imb_events_accepted", "Events accepted", ["type"], registry=self.registry
        )
        self.deliveries_decided = Counter(
            "imb_deliveries_decided", "Delivery decisions", ["decision"], registry=self.registry
        )
        self.deliveries_delivered = Counter(
            "imb_deliveries_delivered", "Deliveries made available", registry=self.registry
        )
        self.acknowledgements = Counter(
            "imb_acknowledgements", "Acknowledgements", ["outcome"], registry=self.registry
        )
        self.publish_to_inbox_seconds = Histogram(
            "imb_publish_to_inbox_seconds",
            "From acceptance of an event to its delivery being available in an inbox",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "imb_http_requests", "HTTP requests", ["method", "status"], registry=self.registry
        )
        self.outbox_published = Counter(
            "imb_outbox_published", "Records published to Kafka", ["topic"], registry=self.registry
        )
        self.deadline_breaches = Counter(
            "imb_deadline_breaches",
            "Deadlines missed, counted once each by the monitor that detected them",
            ["kind", "event_type"],
            registry=self.registry,
        )
        self.escalations_opened = Counter(
            "imb_escalations_opened",
            "Steps of escalation routes run: duty-team and coordinator items, sender reports",
            ["route"],
            registry=self.registry,
        )

        self.acknowledgement_seconds = Histogram(
            "imb_acknowledgement_seconds",
            "From a delivery being made available to its business acknowledgement",
            ["event_type"],
            buckets=_ACK_BUCKETS,
            registry=self.registry,
        )
        # State, not events: refreshed from the database when /metrics is read, so every
        # process reports the same figures whichever of them did the work.
        self.deliveries = Gauge(
            "imb_deliveries", "Deliveries by status", ["status"], registry=self.registry
        )
        self.escalations_open = Gauge(
            "imb_escalations_open",
            "Open escalations by the agency whose duty team holds them",
            ["agency"],
            registry=self.registry,
        )

        self.audit_chain_intact = Gauge(
            "imb_audit_chain_intact",
            "The last verification of the audit chain: 1 intact, 0 broken, -1 never verified",
            registry=self.registry,
        )
        self.audit_chain_verified_at = Gauge(
            "imb_audit_chain_last_verified_timestamp_seconds",
            "When the audit chain was last verified (0: never)",
            registry=self.registry,
        )
        self.audit_checkpoint_at = Gauge(
            "imb_audit_last_checkpoint_timestamp_seconds",
            "When the last signed checkpoint of the audit chain was written (0: none yet)",
            registry=self.registry,
        )
        self.audit_unchained = Gauge(
            "imb_audit_unchained_records",
            "Recent audit records not yet linked into the chain",
            registry=self.registry,
        )

        self.rate_limited = Counter(
            "imb_rate_limited",
            "Calls refused for going over a rate limit, by limit",
            ["limit"],
            registry=self.registry,
        )
        self.rate_limit_store_errors = Counter(
            "imb_rate_limit_store_errors",
            "Calls let through because the rate-limit store could not be reached",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
