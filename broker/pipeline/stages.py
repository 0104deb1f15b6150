"""The consumer-group stages: the router and the dispatcher."""

from broker.pipeline.consume import Stage
from broker.pipeline.dispatch import make_available
from broker.pipeline.route import route_messages

ROUTER = Stage(record_kind="event", id_field="message_id", apply=route_messages)
DISPATCHER = Stage(record_kind="delivery", id_field="delivery_id", apply=make_available)
