"""Kafka topics and the embedded development broker."""
