"""The session's Kafka-protocol broker: IMB_TEST_KAFKA_BOOTSTRAP_SERVERS, or an embedded one.

Timings measured on the embedded broker (Tansu 0.6, aiokafka 0.12, 2 cores), to size waits,
with session_timeout_ms=2000 and heartbeat_interval_ms=500 (the settings tests use):
- it answers Kafka requests ~30 ms after launch;
- a group's first member is held max(1 s, session timeout / 2) before it is assigned: 1.0 s;
- a second member joining: both assigned after 2.0 s; a member leaving: 1.5 s;
- Tansu numbers a group's first generation 0 and aiokafka sends LeaveGroup only above 0, so a
  member of a first generation that stops stays in the group until its session expires: its
  replacement is assigned after ~4 s.
With Apache Kafka's defaults (10 s / 3 s) the same steps take 5 s, 8 s and 8 s on Tansu. Apache
Kafka refuses session timeouts under 6 s unless its group.min.session.timeout.ms is lowered.
"""

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
    with (
        tempfile.TemporaryDirectory(prefix="imb-kafka-") as folder,
        EmbeddedKafka(log_path=Path(folder) / "tansu.log") as kafka,
    ):
        yield kafka.bootstrap_servers
