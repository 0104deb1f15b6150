"""Durations as a person says them: in e-mails, on the pages and in the command's tables."""

from datetime import timedelta

# Under ten seconds a tenth matters (a delivery in 0.4 s against 7.7 s); beyond, it is noise.
TENTHS_BELOW_SECONDS = 10


def spoken(span: timedelta) -> str:
    """'40 s', '12 min', '2 h 5 min', '3 d 4 h': rounded down, never negative."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def duration(span: timedelta | float) -> str:
    """'0.4 s', '7.7 s', '42 s', '12 min', '2 h 5 min', '3 d 4 h'; never ISO 8601."""
    seconds = span.total_seconds() if isinstance(span, timedelta) else float(span)
    seconds = max(seconds, 0.0)
    if seconds < TENTHS_BELOW_SECONDS:
        return f"{seconds:.1f} s".replace(".0 s", " s")
    return spoken(timedelta(seconds=seconds))
