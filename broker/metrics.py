"""Prometheus metrics, on a registry per runtime so that several can live in one process."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


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

    def render(self) -> bytes:
        return generate_latest(self.registry)
