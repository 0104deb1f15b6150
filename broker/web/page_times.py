"""Instants and durations as the pages show them: one format on every page, in the
partnership's zone and named, with the UTC instant a hover away; durations in words.

The zone is a setting (`IMB_WEB__TIME_ZONE`); `WebRoute` puts it in `PAGE_ZONE` for the
request, so every template filter reads the same zone without each page passing it on.
"""

from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

# The pages word durations as the command's tables and the e-mails do.
from broker.timeframes.spoken import duration as duration

DEFAULT_ZONE = "Europe/London"
# A ZoneInfo is immutable, so one default shared by every context is safe.
PAGE_ZONE: ContextVar[ZoneInfo] = ContextVar("page_zone", default=ZoneInfo(DEFAULT_ZONE))  # noqa: B039


def local_time(value: datetime, zone: ZoneInfo) -> str:
    """'29 Nov 2026, 14:05 GMT': the zone's abbreviation says whether summer time applies."""
    return value.astimezone(zone).strftime("%d %b %Y, %H:%M %Z")


def clock_time(value: datetime, zone: ZoneInfo) -> str:
    """'14:05:09 GMT', for 'as at' on a page that updates itself."""
    return value.astimezone(zone).strftime("%H:%M:%S %Z")


def utc_time(value: datetime) -> str:
    """'29 Nov 2026, 14:05:09 UTC': the instant itself, to the second."""
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M:%S UTC")


def time_element(value: datetime, zone: ZoneInfo, words: str | None = None) -> Markup:
    """`<time>` with the machine-readable instant, the UTC instant on hover, and `words` (the
    local time unless given) as its text."""
    shown = local_time(value, zone) if words is None else words
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        value.astimezone(UTC).isoformat(), utc_time(value), shown
    )


def parsed(value: str | datetime | date) -> datetime | date:
    """An instant or a day from the use cases, which give some as RFC 3339 text."""
    if isinstance(value, str):
        return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value


def aware(value: datetime) -> datetime:
    """The database gives SQLite's instants back without a zone; they were stored as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
