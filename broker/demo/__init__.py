"""`imb demo`: a fictional partnership seeded through the real use cases, so that a newcomer
sees IMB with agencies, agreements, people and events that were routed, delivered, withheld,
overridden and escalated, every step audited as real use would be."""
