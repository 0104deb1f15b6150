"""Instants and calendar dates on the wire: always with a UTC offset, always in a sane range.

Everything IMB records about a person happens within living memory or a plausible planning
horizon, so the wire accepts 1900-01-01 to 2199-12-31 and nothing else. Bounding the range
also keeps every later calculation (a deadline added to an instant, an offset converted to
UTC) inside what the database and Python's datetime can hold: `0001-01-01T00:00:00+14:00`
cannot even be converted to UTC.
"""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
RANGE_TEXT = "between 1900-01-01 and 2199-12-31"


def within_range(value: datetime) -> datetime:
    # The year is checked before any conversion, which could itself overflow at the extremes.
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError(f"must be {RANGE_TEXT}")
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be {RANGE_TEXT} in UTC")
    return value


def date_within_range(value: date) -> date:
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError(f"must be {RANGE_TEXT}")
    return value


Instant = Annotated[
    AwareDatetime,
    AfterValidator(within_range),
    Field(
        description=f"RFC 3339 date-time with a UTC offset (Z or ±hh:mm), {RANGE_TEXT}",
        examples=["2026-11-22T10:00:00Z"],
    ),
]
CalendarDate = Annotated[
    date,
    AfterValidator(date_within_range),
    Field(description=f"ISO 8601 calendar date, {RANGE_TEXT}", examples=["2027-05-01"]),
]
