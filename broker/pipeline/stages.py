"""The consumer-group stages: the router and the dispatcher, each in both lanes."""

from broker.pipeline.consume import Stage
from broker.pipeline.dispatch import make_available
from broker.pipeline.route import route_messages
from broker.settings import KafkaSettings

ROUTER = Stage(
    record_kind="event",
    id_field="message_id",
    apply=route_messages,
    topic=KafkaSettings.events_topic,
    group=KafkaSettings.router_group_for,
)
DISPATCHER = Stage(
    record_kind="delivery",
    id_field="delivery_id",
    apply=make_available,
    topic=KafkaSettings.deliveries_topic,
    group=KafkaSettings.dispatcher_group_for,
)
