"""Durations as a person says them, in e-mails and on the duty console."""

from datetime import timedelta


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
