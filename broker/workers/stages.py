"""The consumer-group stages: the router and the dispatcher."""

from broker.deliveries.dispatch import make_available
from broker.routing import route_messages
from broker.workers.consumers import Stage

ROUTER = Stage(record_kind="event", id_field="message_id", apply=route_messages)
DISPATCHER = Stage(record_kind="delivery", id_field="delivery_id", apply=make_available)
