from datetime import timedelta

import pytest

from broker.reports.percentiles import percentile, spread

MINUTE = timedelta(minutes=1)


def test_no_durations_have_no_median() -> None:
    assert spread([]).median is None and spread([]).p90 is None


def test_one_duration_is_its_own_median_and_p90() -> None:
    assert spread([5 * MINUTE]) == spread([5 * MINUTE]).__class__(1, 5 * MINUTE, 5 * MINUTE)


def test_the_median_of_an_even_count_lies_between_the_middle_two() -> None:
    assert percentile([4 * MINUTE, 1 * MINUTE, 3 * MINUTE, 2 * MINUTE], 0.5) == 2.5 * MINUTE


def test_p90_interpolates_like_percentile_cont() -> None:
    # percentile_cont(0.9) over 1..10 minutes is 9.1 minutes.
    durations = [n * MINUTE for n in range(10, 0, -1)]
    assert percentile(durations, 0.9) == timedelta(minutes=9, seconds=6)
    assert spread(durations).median == 5.5 * MINUTE


def test_a_fraction_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        percentile([MINUTE], 1.5)
