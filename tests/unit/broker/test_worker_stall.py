"""When a worker loop counts as stalled: failing on every attempt for longer than the limit, the
clock starting again after a run that returned or lasted a few seconds."""

import asyncio

import pytest

from broker.workers.stall import STEADY_RUN_SECONDS, FailingSince, LoopStalled
from broker.workers.supervisor import supervise


def test_a_loop_failing_on_every_attempt_is_stalled_only_past_the_limit() -> None:
    failing = FailingSince(limit=10)

    within = failing.failed(began=100, ended=101)
    past = failing.failed(began=109, ended=111)

    assert (within, failing.stalled(within)) == (1, False)
    assert (past, failing.stalled(past)) == (11, True)


def test_a_run_that_lasted_a_few_seconds_before_failing_starts_the_clock_again() -> None:
    failing = FailingSince(limit=10)
    failing.failed(began=100, ended=101)

    steady = failing.failed(began=102, ended=102 + STEADY_RUN_SECONDS)
    next_quick_failure = failing.failed(began=108, ended=109)

    assert steady == 0
    assert next_quick_failure == 109 - (102 + STEADY_RUN_SECONDS)
    assert not failing.stalled(next_quick_failure)


def test_a_run_that_returned_starts_the_clock_again() -> None:
    failing = FailingSince(limit=10)
    failing.failed(began=100, ended=101)

    failing.succeeded()
    after = failing.failed(began=200, ended=201)

    assert after == 1


def test_a_limit_of_zero_never_gives_up() -> None:
    failing = FailingSince(limit=0)

    forever = failing.failed(began=0, ended=86400)

    assert not failing.stalled(forever)


async def test_supervise_gives_up_with_the_loop_the_time_and_the_error_type_only() -> None:
    async def refused() -> None:
        raise ConnectionRefusedError("[Errno 111] Connect call failed ('10.0.0.7', 5432)")

    with pytest.raises(LoopStalled) as stalled:
        await supervise("relay-urgent", refused, asyncio.Event(), stall_after=1)

    line = str(stalled.value)
    assert line.startswith("worker loop relay-urgent has failed on every attempt for ")
    assert "(last: ConnectionRefusedError, connection refused, lost or timed out)" in line
    assert "10.0.0.7" not in line
