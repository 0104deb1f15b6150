"""The audit page's timeliness chart: one horizontal bar per agency and event type, its
deadline breach rate, drawn as SVG by the template from these numbers (no script, no style
attribute, so the CSP stays as it is)."""

from dataclasses import dataclass

from broker.reports.timeliness import TimelinessRow

LABEL_WIDTH = 210  # room for "HOU01 · engagement.disengaged" left of the bars
BAR_WIDTH = 300  # a breach rate of 100 %
BAR_HEIGHT = 20
BAR_GAP = 8
# A bar of 0 % still shows as a sliver with its outline, so "no breaches" reads as a
# measured zero rather than a missing row.
MIN_BAR_WIDTH = 3
TOP = 48  # the chart's own title and the name of the label column
BOTTOM = 48  # the axis, its tick labels and its name
RIGHT = 90  # the rate written after the longest bar
TICKS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    width: int
    rate: str
    measured: bool  # False when no delivery was permitted, so there is no rate


@dataclass(frozen=True)
class Tick:
    x: int
    label: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int
    height: int
    axis_y: int  # where the bars end and the axis runs
    left: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT
    bar_width: int = BAR_WIDTH


def rate_words(rate: float | None) -> str:
    """'0 %', '33 %', or 'none' when no delivery was permitted."""
    return "none" if rate is None else f"{rate * 100:.0f} %"


def _bar(row: TimelinessRow, index: int) -> Bar:
    rate = row.breach_rate
    return Bar(
        label=f"{row.agency} · {row.event_type}",
        y=TOP + index * (BAR_HEIGHT + BAR_GAP),
        width=max(round(BAR_WIDTH * (rate or 0)), MIN_BAR_WIDTH),
        rate=rate_words(rate),
        measured=rate is not None,
    )


def chart(rows: list[TimelinessRow]) -> Chart:
    bars = [_bar(row, index) for index, row in enumerate(rows)]
    axis_y = TOP + len(bars) * (BAR_HEIGHT + BAR_GAP)
    ticks = [Tick(LABEL_WIDTH + BAR_WIDTH * share // 100, f"{share} %") for share in TICKS]
    return Chart(
        bars=bars,
        ticks=ticks,
        width=LABEL_WIDTH + BAR_WIDTH + RIGHT,
        height=axis_y + BOTTOM,
        axis_y=axis_y,
    )


def summary(rows: list[TimelinessRow]) -> str:
    """The chart in one sentence, for a screen reader: 'HOU01 · risk.changed: 0 % of 3
    permitted deliveries breached a deadline; …'."""
    parts = [
        f"{row.agency} · {row.event_type}: {rate_words(row.breach_rate)} of {row.permitted} "
        f"permitted deliver{'y' if row.permitted == 1 else 'ies'} breached a deadline"
        for row in rows
    ]
    return "; ".join(parts) + "."
