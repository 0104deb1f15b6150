"""Each kind of tampering with the audit tables is found by verification, at the right link."""

import json
from typing import Any

import pytest
from sqlalchemy import select

from broker.audit.chain import GENESIS, canonical, link_hash, record_fields
from broker.audit.checkpoints import as_export
from broker.audit.verify import check_against, verify_chain
from broker.db.models import AuditChainLink, AuditCheckpoint, AuditRecord
from broker.runtime import Runtime
from tests.integration.audit_records import chained, record_of, tamper


async def _verify(rt: Runtime) -> Any:
    async with rt.db.unit_of_work() as session:
        return await verify_chain(session, rt.keys)


async def _checkpointed_log(rt: Runtime) -> None:
    """Seqs 1-5 under the first checkpoint, 6-8 chained after it."""
    await chained(rt, 5)
    await chained(rt, 3)
    report = await _verify(rt)
    assert report.ok and report.records_checked == 8
    assert report.last_checkpoint is not None and report.last_checkpoint.seq == 5


async def test_a_changed_record_is_found(runtime: Runtime) -> None:
    await _checkpointed_log(runtime)
    record = await record_of(runtime, 3)
    await tamper(runtime, f"UPDATE audit_records SET actor_client = 'x' WHERE id = {record}")
    report = await _verify(runtime)
    assert not report.ok
    assert (report.first_bad.seq, report.first_bad.record_id) == (3, record)


async def test_a_deleted_record_is_found(runtime: Runtime) -> None:
    await _checkpointed_log(runtime)
    record = await record_of(runtime, 4)
    await tamper(
        runtime,
        f"DELETE FROM audit_records WHERE id = {record}",
        "DELETE FROM audit_chain WHERE seq = 4",
    )
    report = await _verify(runtime)
    assert not report.ok and report.first_bad.seq == 4
    assert report.first_bad.problem == "link missing"


async def test_a_reordering_is_found(runtime: Runtime) -> None:
    await _checkpointed_log(runtime)
    second, third = await record_of(runtime, 2), await record_of(runtime, 3)
    await tamper(
        runtime,
        "UPDATE audit_chain SET record_id = -1 WHERE seq = 2",
        f"UPDATE audit_chain SET record_id = {second} WHERE seq = 3",
        f"UPDATE audit_chain SET record_id = {third} WHERE seq = 2",
    )
    report = await _verify(runtime)
    assert not report.ok and report.first_bad.seq == 2


async def test_an_inserted_record_is_found(runtime: Runtime) -> None:
    """A forged record with a correctly computed link appended: the head does not move."""
    await _checkpointed_log(runtime)
    async with runtime.db.unit_of_work() as session:
        from broker.audit.chain import link_hash
        from broker.db.models import AuditChainHead

        head = await session.get(AuditChainHead, 1)
        assert head is not None
        forged = {
            "id": 999,
            "recorded_at": "2026-01-01T00:00:00+00:00",
            "event": "event.received",
            "message_id": None,
            "delivery_id": None,
            "actor_agency": None,
            "actor_client": None,
            "subject_pseudonym": None,
            "payload_digest": None,
            "detail": {},
        }
        digest = link_hash(forged, head.hash)
        prev = head.hash
    await tamper(
        runtime,
        "INSERT INTO audit_records (id, recorded_at, event, detail) "
        "VALUES (999, '2026-01-01 00:00:00+00:00', 'event.received', '{}')",
        f"INSERT INTO audit_chain (seq, record_id, prev_hash, hash) "
        f"VALUES (9, 999, '{prev}', '{digest}')",
    )
    report = await _verify(runtime)
    assert not report.ok and report.first_bad.seq == 9
    assert report.first_bad.problem == "links beyond the chain head"


@pytest.mark.parametrize("cut_after", [6, 3])
async def test_a_truncation_is_found(runtime: Runtime, cut_after: int) -> None:
    """After the last checkpoint the head catches it; before it, the checkpoint does."""
    await _checkpointed_log(runtime)
    await tamper(
        runtime,
        "DELETE FROM audit_records WHERE id IN "
        f"(SELECT record_id FROM audit_chain WHERE seq > {cut_after})",
        f"DELETE FROM audit_chain WHERE seq > {cut_after}",
        f"UPDATE audit_chain_head SET seq = {cut_after}, hash = "
        f"(SELECT hash FROM audit_chain WHERE seq = {cut_after})"
        if cut_after == 3
        else "SELECT 1",
    )
    report = await _verify(runtime)
    assert not report.ok
    assert report.first_bad.seq == (7 if cut_after == 6 else 5)


async def test_a_checkpoint_kept_elsewhere_catches_a_rewritten_chain(runtime: Runtime) -> None:
    """A record changed, every later link and the head recomputed, the checkpoints removed:
    the database is consistent again, and only the exported copy knows better."""
    await _checkpointed_log(runtime)
    async with runtime.db.unit_of_work() as session:
        kept = [
            json.loads(canonical(as_export(c)))
            for c in (await session.scalars(select(AuditCheckpoint))).all()
        ]
    record = await record_of(runtime, 3)
    await tamper(runtime, f"UPDATE audit_records SET actor_client = 'x' WHERE id = {record}")
    rewrites, prev = ["DELETE FROM audit_checkpoints"], GENESIS
    async with runtime.db.unit_of_work() as session:
        rows = await session.execute(
            select(AuditChainLink.seq, AuditRecord)
            .join(AuditRecord, AuditRecord.id == AuditChainLink.record_id)
            .order_by(AuditChainLink.seq)
        )
        for seq, row in rows.all():
            digest = link_hash(record_fields(row), prev)
            rewrites.append(
                f"UPDATE audit_chain SET prev_hash = '{prev}', hash = '{digest}' WHERE seq = {seq}"
            )
            prev = digest
    rewrites.append(f"UPDATE audit_chain_head SET hash = '{prev}'")
    await tamper(runtime, *rewrites)
    async with runtime.db.unit_of_work() as session:
        report = await verify_chain(session, runtime.keys)
        assert report.ok  # nothing inside the database shows it
        stored = {c.seq: c for c in (await session.scalars(select(AuditCheckpoint))).all()}
    check_against(kept, runtime.keys.audit_verify_keys, stored, report)
    assert not report.ok and report.first_bad is not None
    assert report.first_bad.problem == "database no longer matches an exported checkpoint"


async def test_a_checkpoint_naming_a_key_the_broker_never_had_is_found(runtime: Runtime) -> None:
    await _checkpointed_log(runtime)
    await tamper(runtime, "UPDATE audit_checkpoints SET key_id = 'ffffffffffffffff' WHERE seq = 5")
    report = await _verify(runtime)
    assert not report.ok
    assert (report.first_bad.seq, report.first_bad.problem) == (
        5,
        "checkpoint signature does not verify",
    )
