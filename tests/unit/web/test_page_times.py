"""How the pages word instants and durations: one format, the partnership's zone named, the
UTC instant on hover, and durations in words rather than ISO 8601."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from broker.web.display import duration as report_duration
from broker.web.display import when
from broker.web.page_times import PAGE_ZONE, clock_time, duration, local_time, time_element
from broker.web.timeliness_chart import MIN_BAR_WIDTH, chart, rate_words

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(seconds=7.70765), "7.7 s"),
        (timedelta(milliseconds=350), "0.3 s"),
        (timedelta(0), "0 s"),
        (timedelta(seconds=3), "3 s"),
        (timedelta(seconds=42.6), "42 s"),
        (timedelta(minutes=12, seconds=59), "12 min"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(days=3, hours=4, minutes=10), "3 d 4 h"),
        (-timedelta(seconds=5), "0 s"),
    ],
)
def test_durations_read_in_words_to_a_tenth_under_ten_seconds(span: timedelta, words: str) -> None:
    assert duration(span) == words


def test_a_reports_duration_reads_from_its_seconds_and_a_missing_one_as_a_dash() -> None:
    assert report_duration({"iso": "PT7.70765S", "seconds": 7.70765}) == "7.7 s"
    assert report_duration(7505.0) == "2 h 5 min"
    assert report_duration(None) == "\N{EN DASH}"


def test_a_winter_instant_reads_in_greenwich_mean_time() -> None:
    assert local_time(datetime(2026, 11, 29, 14, 5, tzinfo=UTC), LONDON) == "29 Nov 2026, 14:05 GMT"


def test_a_summer_instant_reads_in_british_summer_time_an_hour_ahead() -> None:
    assert local_time(datetime(2026, 7, 1, 14, 5, tzinfo=UTC), LONDON) == "01 Jul 2026, 15:05 BST"


def test_when_the_clocks_go_back_the_zone_tells_the_repeated_hour_apart() -> None:
    before = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    after = before + timedelta(hours=1)  # 01:30 GMT

    assert clock_time(before, LONDON) == "01:30:00 BST"
    assert clock_time(after, LONDON) == "01:30:00 GMT"


def test_another_partnerships_zone_is_named_as_its_own() -> None:
    at = datetime(2026, 11, 29, 14, 5, tzinfo=UTC)

    assert local_time(at, ZoneInfo("America/New_York")) == "29 Nov 2026, 09:05 EST"


def test_an_instant_carries_its_utc_time_on_hover() -> None:
    at = datetime(2026, 7, 1, 14, 5, 9, tzinfo=UTC)

    html = str(time_element(at, LONDON))

    assert html == (
        '<time datetime="2026-07-01T14:05:09+00:00" title="01 Jul 2026, 14:05:09 UTC">'
        "01 Jul 2026, 15:05 BST</time>"
    )


def test_the_when_filter_uses_the_pages_zone_and_leaves_a_day_as_a_day() -> None:
    token = PAGE_ZONE.set(ZoneInfo("Australia/Sydney"))
    try:
        shown = when("2026-11-29T14:05:00+00:00")
    finally:
        PAGE_ZONE.reset(token)

    assert ">30 Nov 2026, 01:05 AEDT</time>" in shown
    assert when("2026-12-01") == "01 Dec 2026"
    assert when(None) == ""


def test_a_zero_breach_rate_still_draws_a_visible_bar_labelled_zero() -> None:
    assert rate_words(0.0) == "0 %"
    assert rate_words(None) == "none"
    assert rate_words(0.3333) == "33 %"
    assert chart([]).ticks[0].label == "0 %" and chart([]).ticks[-1].label == "100 %"
    assert MIN_BAR_WIDTH > 0
