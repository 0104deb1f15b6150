"""Kafka topics, and the embedded Kafka-protocol broker for development and tests.

KafkaSetupError
├── EmbeddedKafkaUnavailable   no broker binary, or it did not start and answer in time
├── KafkaUnreachable           no broker answered at the bootstrap servers in time
└── TopicCreationFailed        an invalid topic name or count, or the cluster refused a topic

Both are `RuntimeError`s, so the `imb` command reports them as one line and exits non-zero.
"""


class KafkaSetupError(RuntimeError):
    pass


class EmbeddedKafkaUnavailable(KafkaSetupError):
    pass


class KafkaUnreachable(KafkaSetupError):
    pass


class TopicCreationFailed(KafkaSetupError):
    pass
