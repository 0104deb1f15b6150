"""How long the relay's sweep waits before announcing unfinished work again, each time."""

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from broker.pipeline.recovery import MAX_BACKOFF, wait_before_next

FIVE_MINUTES = timedelta(minutes=5)


def test_the_wait_doubles_each_time_until_an_hour() -> None:
    waits = [wait_before_next(FIVE_MINUTES, times) for times in range(1, 7)]

    assert waits == [timedelta(minutes=m) for m in (10, 20, 40, 60, 60, 60)]


def test_a_row_stuck_for_days_waits_an_hour_and_never_overflows() -> None:
    assert wait_before_next(FIVE_MINUTES, 10**9) == MAX_BACKOFF


def test_a_setting_longer_than_the_cap_is_never_shortened() -> None:
    a_day = timedelta(days=1)

    assert wait_before_next(a_day, 1) == a_day


@given(
    older_than=st.integers(min_value=1, max_value=86400).map(lambda s: timedelta(seconds=s)),
    times=st.integers(min_value=1, max_value=10**6),
)
def test_each_wait_is_at_least_the_setting_and_at_most_the_cap(
    older_than: timedelta, times: int
) -> None:
    wait = wait_before_next(older_than, times)

    assert older_than <= wait <= max(MAX_BACKOFF, older_than)
    assert wait_before_next(older_than, times + 1) >= wait
