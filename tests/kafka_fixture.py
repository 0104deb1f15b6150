"""The session's Kafka-protocol broker: IMB_TEST_KAFKA_BOOTSTRAP_SERVERS, or an embedded one."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from broker.kafka.embedded import EmbeddedKafka


def start_test_kafka() -> Iterator[str]:
    configured = os.environ.get("IMB_TEST_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="imb-kafka-") as folder:
        broker = EmbeddedKafka(log_path=Path(folder) / "tansu.log")
        yield broker.start()
        broker.stop()
