"""The pipeline: how an accepted event becomes deliveries in its recipients' inboxes.

Read the modules in the order an event walks through them:

- ``lanes``: urgent and emergency events and every crisis travel in the urgent lane, with
  topics, consumer groups and relay of their own, and go first where work is shared.
- ``outbox``: the API writes the message and an outbox entry in one transaction (several
  publishes together: broker/messages/group_commit.py), so Kafka is told only what the
  database holds.
- ``relay``: publishes committed outbox entries to Kafka and marks them published.
- ``consume``: a consumer-group loop — a batch of records, one database transaction,
  then the offsets, so a crash replays a batch rather than losing it.
- ``route``: who receives the message and the consent decision for each; writes the
  deliveries and their outbox entries.
- ``dispatch``: makes permitted deliveries available in their recipients' inboxes.
- ``stages``: the router and the dispatcher as consumer-group stages.
- ``transport``: Kafka producers and consumers, topics.
- ``recovery``: re-announces unfinished work after the Kafka broker lost its records.

The rules themselves (consent, agreements, timeframes, crisis plans, audit) stay in their
feature folders; this package only moves work between them. Every stage is idempotent, so
at-least-once delivery from Kafka changes nothing twice. CONTRIBUTING.md and
docs/performance.md describe each hop and its cost.
"""
