"""How values from the use cases read on a page."""

from datetime import date, datetime, timedelta
from typing import Any

from broker.web import page_times

REVIEW_WARNING_DAYS = 30


def when(value: str | datetime | date | None) -> str:
    """An instant as `<time>` in the page's zone ('25 Nov 2026, 01:21 GMT', the UTC instant on
    hover), a day as '25 Nov 2026', nothing as ''."""
    if value is None or value == "":
        return ""
    value = page_times.parsed(value)
    if isinstance(value, datetime):
        return page_times.time_element(page_times.aware(value), page_times.PAGE_ZONE.get())
    return value.strftime("%d %b %Y")


def clock(value: datetime) -> str:
    """A time of day in the page's zone ('14:05:09 GMT'), with the UTC instant on hover."""
    instant = page_times.aware(value)
    zone = page_times.PAGE_ZONE.get()
    return page_times.time_element(instant, zone, page_times.clock_time(instant, zone))


def duration(value: Any) -> str:
    """A report's duration ({"iso", "seconds"}, seconds or a timedelta) in words; a dash for
    none."""
    if isinstance(value, dict):
        value = value.get("seconds")
    if not isinstance(value, int | float | timedelta):
        return "\N{EN DASH}"
    return page_times.duration(value)


def person(value: Any) -> str:
    """A named person ({name, role}) as 'name (role)'; free text as it is."""
    if isinstance(value, dict):
        if "person" in value and isinstance(value["person"], dict):
            return person(value["person"])
        name, role = value.get("name"), value.get("role")
        if name:
            return f"{name} ({role})" if role else str(name)
        return str(value.get("client") or "unknown")
    return str(value) if value else "unknown"


def review_flag(review_date: str | None, today: date) -> str | None:
    """A warning when the agreement's review is due within 30 days or has passed."""
    if not review_date:
        return None
    days = (date.fromisoformat(review_date[:10]) - today).days
    if days < 0:
        return "review overdue"
    if days == 0:
        return "review due today"
    if days <= REVIEW_WARNING_DAYS:
        return f"review due in {days} day{'s' if days != 1 else ''}"
    return None


def pending_approvals(agreement: dict[str, Any]) -> list[str]:
    """The agencies still to approve; from the use case when it says, else from the parties
    of a draft."""
    if "pending_approvals" in agreement:
        return list(agreement["pending_approvals"])
    if agreement.get("status") != "draft":
        return []
    return sorted(p["agency"] for p in agreement.get("parties", []) if not p.get("approved_at"))


def for_page(agreement: dict[str, Any], today: date) -> dict[str, Any]:
    return {
        **agreement,
        "review_flag": review_flag(agreement.get("review_date"), today),
        "pending": pending_approvals(agreement),
    }
