"""Telling an outage (the database or Kafka cannot be reached now) from a fault in IMB.

An outage passes by itself: an API request answers 503 with Retry-After, and a worker tries
again. A fault does not: an IntegrityError, a statement PostgreSQL rejects, a bug, each is a
500 logged with its frames. Only the error's type and its code (PostgreSQL's SQLSTATE,
SQLite's result code) decide: never its message, which may quote data.
"""

import sqlite3
from collections.abc import Iterator

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    KafkaUnavailableError,
    NoBrokersAvailable,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from broker.db.reachability import DatabaseUnreachable
from broker.errors import ServiceUnavailable

DATABASE_UNREACHABLE = "database unreachable"
KAFKA_UNREACHABLE = "Kafka unreachable"
CONNECTION_FAILED = "connection refused, lost or timed out"
# How long a client is asked to wait: about the time a restarted PostgreSQL or a failover takes.
RETRY_AFTER_SECONDS = 5

# SQLSTATE class 08 (connection exception); 57P01-57P03, the server shutting down, crashed or
# starting up; 53300, too many connections.
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
_KAFKA_ERRORS = (KafkaConnectionError, KafkaTimeoutError, KafkaUnavailableError, NoBrokersAvailable)


def outage_of(error: BaseException) -> str | None:
    """Which service could not be reached, in a few words, or None for any other failure."""
    for cause in _causes(error):
        reason = _outage(cause)
        if reason is not None:
            return reason
    return None


def unavailable(reason: str) -> ServiceUnavailable:
    """The 503 an API request answers for an outage."""
    return ServiceUnavailable(
        f"{reason}; nothing was written, try again later",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _outage(error: BaseException) -> str | None:
    if isinstance(error, DatabaseUnreachable | PoolTimeout):
        return DATABASE_UNREACHABLE
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return DATABASE_UNREACHABLE
    if str(getattr(error, "sqlstate", "") or "").startswith(_UNREACHABLE_SQLSTATES):
        return DATABASE_UNREACHABLE
    # SQLite cannot open the file when its folder is gone or unreadable (a volume not mounted).
    if getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_CANTOPEN:
        return DATABASE_UNREACHABLE
    if isinstance(error, _KAFKA_ERRORS):
        return KAFKA_UNREACHABLE
    if isinstance(error, ConnectionError | TimeoutError):
        return CONNECTION_FAILED
    return None


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver's error SQLAlchemy wraps, and what each was raised from."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [getattr(current, "orig", None), current.__cause__]
