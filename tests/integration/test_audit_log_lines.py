"""What the operator's log says about the audit chain: each signed checkpoint, and each
verification's outcome (an error when the chain is broken, so that an alert hears of it),
whether the chainer, an API caller or `imb audit verify` ran it."""

import argparse
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest

from broker.audit.commands import run_audit
from broker.audit.verify import chain_status
from broker.audit.worker import chain_pending, verify_if_due
from broker.runtime import Runtime
from schemas.vocabulary import Scope
from tests.captured_logs import captured_logs, log_lines
from tests.integration.audit_records import record_of, tamper
from tests.world import NHS_NUMBER, TRUST, World, risk_event

BROKEN_AT = 2
PERSONAL = [NHS_NUMBER, "MRN-1001", risk_event()["payload"]["rationale"]]
VERIFY = argparse.Namespace(action="verify", against=None, progress=False)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    with captured_logs() as out:
        yield out


async def _trail_of_an_event(world: World) -> None:
    """An event about a person published, and the trail so far chained."""
    answer = await world.publish(TRUST)
    assert answer.status_code == 202, answer.text
    await chain_pending(world.rt)


async def _break_the_chain(rt: Runtime) -> int:
    record = await record_of(rt, BROKEN_AT)
    await tamper(rt, f"UPDATE audit_records SET event = 'x' WHERE id = {record}")
    return record


def _assert_nothing_personal(out: io.StringIO) -> None:
    for text in PERSONAL:
        assert text not in out.getvalue(), text


async def test_a_signed_checkpoint_is_logged_with_its_seq_and_key(
    world: World, log_output: io.StringIO
) -> None:
    await _trail_of_an_event(world)

    [line] = log_lines(log_output, "audit.checkpointed")
    async with world.rt.db.unit_of_work() as session:
        status = await chain_status(session)
    assert status.last_checkpoint is not None
    assert line["seq"] == status.last_checkpoint.seq == status.head_seq
    assert line["key_id"] == world.rt.keys.audit_key_id
    _assert_nothing_personal(log_output)


async def test_a_scheduled_verification_of_an_intact_chain_is_logged_as_verified(
    world: World, log_output: io.StringIO
) -> None:
    await _trail_of_an_event(world)
    rt, start = world.rt, world.rt.clock()
    rt.clock = lambda: start + timedelta(seconds=rt.settings.audit.verify_seconds)

    report = await verify_if_due(rt, since=start)

    assert report is not None and report.ok
    [line] = log_lines(log_output, "audit.verified")
    assert line["level"] == "info"
    assert line["records_checked"] == report.records_checked > 0
    assert log_lines(log_output, "audit.verification_failed") == []
    _assert_nothing_personal(log_output)


async def test_a_verification_of_a_tampered_chain_is_logged_as_an_error_naming_the_link(
    world: World, log_output: io.StringIO
) -> None:
    await _trail_of_an_event(world)
    await _break_the_chain(world.rt)
    world.tokens["regulator"] = await world.token_for("CQC", [Scope.AUDIT_READ, Scope.AUDIT_ALL])

    answer = await world.get("regulator", "/v1/audit/verify")

    assert answer.status_code == 200 and answer.json()["ok"] is False
    [line] = log_lines(log_output, "audit.verification_failed")
    assert line["level"] == "error"
    assert line["first_bad_seq"] == BROKEN_AT
    assert line["problem"] == "record does not match its link"
    assert line["records_checked"] == answer.json()["records_checked"]
    assert log_lines(log_output, "audit.verified") == []
    _assert_nothing_personal(log_output)


async def test_imb_audit_verify_logs_its_outcome_and_still_prints_and_fails_as_before(
    world: World, log_output: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    await _trail_of_an_event(world)

    intact = await run_audit(world.rt, VERIFY)
    printed = capsys.readouterr().out
    record = await _break_the_chain(world.rt)
    broken = await run_audit(world.rt, VERIFY)

    assert intact is None and printed.startswith("audit chain intact")
    assert broken == f"audit chain broken at seq {BROKEN_AT} (record {record}): " + (
        "record does not match its link"
    )
    assert capsys.readouterr().out == ""
    [verified] = log_lines(log_output, "audit.verified")
    [failed] = log_lines(log_output, "audit.verification_failed")
    assert f"{verified['records_checked']} records checked" in printed
    assert (failed["level"], failed["first_bad_seq"]) == ("error", BROKEN_AT)
    _assert_nothing_personal(log_output)
