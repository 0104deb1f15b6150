"""The chainer links every committed audit record; checkpoints are signed; the API verifies."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from broker.audit.prune import PruneRefused, prune_before
from broker.audit.verify import chain_status, verify_chain
from broker.audit.worker import chain_pending, run_chainer, verify_if_due
from broker.db.engine import is_sqlite
from broker.db.models import AuditRecord
from broker.runtime import Runtime
from schemas.vocabulary import Scope
from tests.integration.audit_records import (
    chained,
    record_of,
    tamper,
    write_record_numbered,
    write_records,
)
from tests.world import TRUST, World, eventually


async def test_the_trail_is_chained_and_verifies_through_the_api(world: World) -> None:
    rt = world.rt
    world.tokens["regulator"] = await world.token_for("CQC", [Scope.AUDIT_READ, Scope.AUDIT_ALL])
    await chain_pending(rt)
    await write_records(rt, 2)  # committed, not yet chained: reported, not an error
    response = await world.get("regulator", "/v1/audit/verify")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True and report["first_bad"] is None
    assert report["unchained"] == 2
    assert report["checkpoints_checked"] == 1
    chained_before = report["records_checked"]
    assert report["last_checkpoint"]["seq"] == chained_before > 0

    await chain_pending(rt)
    report = (await world.get("regulator", "/v1/audit/verify")).json()
    assert (report["ok"], report["unchained"]) == (True, 0)
    # The two records, and the first verification's own record of itself.
    assert report["records_checked"] == chained_before + 3
    async with rt.db.unit_of_work() as session:
        status = await chain_status(session)
        verified = [
            (v.actor_agency, v.detail["ok"], v.detail["records_checked"])
            for v in await session.scalars(
                select(AuditRecord).where(AuditRecord.event == "audit.verified")
            )
        ]
    assert status.head_seq == chained_before + 3 and status.unchained == 1
    assert verified == [
        ("CQC", True, chained_before),
        ("CQC", True, chained_before + 3),
    ]


async def test_an_agency_auditor_learns_whether_the_chain_is_intact_but_no_counts(
    world: World,
) -> None:
    await chain_pending(world.rt)
    await write_records(world.rt, 2)

    report = (await world.get(TRUST, "/v1/audit/verify")).json()

    assert report["ok"] is True and report["first_bad"] is None
    assert set(report) == {"ok", "last_checkpoint", "first_bad"}
    assert set(report["last_checkpoint"]) == {"at"}


async def test_a_record_that_commits_late_is_chained_by_the_window_or_the_sweep(
    runtime: Runtime,
) -> None:
    await chained(runtime, 1)
    first = await record_of(runtime, 1)
    await write_record_numbered(runtime, first + 100)
    await chain_pending(runtime, sweep=False)
    # A transaction that took an id before the chained one commits only now.
    await write_record_numbered(runtime, first + 50)
    runtime.settings.audit.late_window = 10  # too narrow to reach back 50 ids
    assert (await chain_pending(runtime, sweep=False)).linked == 0
    async with runtime.db.unit_of_work() as session:
        assert (await chain_status(session, late_window=100)).unchained == 1
    runtime.settings.audit.late_window = 100
    assert (await chain_pending(runtime, sweep=False)).linked == 1

    await write_record_numbered(runtime, first + 20)
    runtime.settings.audit.late_window = 10
    assert (await chain_pending(runtime, sweep=False)).linked == 0
    assert (await chain_pending(runtime, sweep=True)).linked == 1
    async with runtime.db.unit_of_work() as session:
        report = await verify_chain(session, runtime.keys)
    assert report.ok and report.records_checked == 4 and report.unchained == 0
    assert [await record_of(runtime, seq) for seq in (2, 3, 4)] == [
        first + 100,
        first + 50,
        first + 20,
    ]


async def test_the_running_chainer_sweeps_up_a_record_beyond_its_window(
    runtime: Runtime,
) -> None:
    settings = runtime.settings.audit
    settings.poll_seconds, settings.late_window, settings.sweep_seconds = 0.05, 10, 0.5
    settings.verify_seconds = 0.2
    await chained(runtime, 1)
    first = await record_of(runtime, 1)
    stop = asyncio.Event()
    chainer = asyncio.create_task(run_chainer(runtime, stop))
    try:
        await write_record_numbered(runtime, first + 100)
        await eventually(lambda: _chained_ids(runtime), lambda ids: first + 100 in ids, 5)
        await write_record_numbered(runtime, first + 50)  # committed late, below the window
        await eventually(lambda: _chained_ids(runtime), lambda ids: first + 50 in ids, 5)
        # And on its schedule it verifies the whole chain, as the broker.
        verified = await eventually(lambda: _verified_by_broker(runtime), bool, timeout=5)
    finally:
        stop.set()
        await chainer
    assert verified[0] is True


def _gauge(scraped: str, name: str) -> float:
    (value,) = [line.split()[1] for line in scraped.splitlines() if line.startswith(name + " ")]
    return float(value)


async def _verified_by_broker(rt: Runtime) -> list[bool]:
    async with rt.db.unit_of_work() as session:
        records = await session.scalars(
            select(AuditRecord).where(
                AuditRecord.event == "audit.verified", AuditRecord.actor_client.is_(None)
            )
        )
        return [bool(r.detail["ok"]) for r in records]


async def test_a_scheduled_verification_and_the_metrics_tell_whether_the_chain_is_intact(
    world: World,
) -> None:
    rt = world.rt
    rt.settings.audit.verify_seconds = 3600
    assert "imb_audit_chain_intact -1.0" in await world.scrape_metrics()
    start = rt.clock()
    await chained(rt, 3)
    rt.clock = lambda: start + timedelta(seconds=3599)
    assert await verify_if_due(rt, since=start) is None
    rt.clock = lambda: start + timedelta(seconds=3600)
    assert (await verify_if_due(rt, since=start)).ok  # type: ignore[union-attr]
    assert await verify_if_due(rt, since=start) is None  # an hour from this one, now
    scraped = await world.scrape_metrics()
    assert "imb_audit_chain_intact 1.0" in scraped
    assert "imb_audit_unchained_records 1.0" in scraped  # the verification's own record
    verified_at = (start + timedelta(seconds=3600)).timestamp()
    assert _gauge(scraped, "imb_audit_chain_last_verified_timestamp_seconds") == verified_at

    record = await record_of(rt, 2)
    await tamper(rt, f"UPDATE audit_records SET event = 'x' WHERE id = {record}")
    rt.clock = lambda: start + timedelta(seconds=7200)
    assert not (await verify_if_due(rt, since=start)).ok  # type: ignore[union-attr]
    assert "imb_audit_chain_intact 0.0" in await world.scrape_metrics()


async def _chained_ids(rt: Runtime) -> set[int]:
    async with rt.db.engine.connect() as connection:
        return set((await connection.scalars(text("SELECT record_id FROM audit_chain"))).all())


async def test_verifying_needs_the_audit_scope(world: World) -> None:
    token = await world.token_for(TRUST, [])
    response = await world.api.get("/v1/audit/verify", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403


async def test_a_checkpoint_every_n_records(runtime: Runtime) -> None:
    runtime.settings.audit.checkpoint_records = 3
    await chained(runtime, 2)  # the first checkpoint: none before it
    await chained(runtime, 2)  # 2 since then: not yet
    await chained(runtime, 1)  # 3 since then
    async with runtime.db.engine.connect() as connection:
        seqs = (await connection.scalars(text("SELECT seq FROM audit_checkpoints"))).all()
    assert sorted(seqs) == [2, 5]


async def test_a_checkpoint_every_t_seconds_even_when_few_records_came(
    runtime: Runtime,
) -> None:
    runtime.settings.audit.checkpoint_seconds = 60
    start = runtime.clock()
    runtime.clock = lambda: start
    await chained(runtime, 2)  # the first checkpoint
    runtime.clock = lambda: start + timedelta(seconds=59)
    await chained(runtime, 1)  # a record, but neither 1000 records nor 60 s since
    runtime.clock = lambda: start + timedelta(seconds=60)
    await chained(runtime, 1)
    async with runtime.db.engine.connect() as connection:
        seqs = (await connection.scalars(text("SELECT seq FROM audit_checkpoints"))).all()
    assert sorted(seqs) == [2, 4]


async def test_postgresql_refuses_update_and_delete_of_the_trail(runtime: Runtime) -> None:
    if is_sqlite(runtime.settings.resolved_database_url):
        pytest.skip("the trigger is PostgreSQL's")
    await chained(runtime, 1)
    record = await record_of(runtime, 1)
    for statement in (
        f"UPDATE audit_records SET event = 'x' WHERE id = {record}",
        f"DELETE FROM audit_records WHERE id = {record}",
        "UPDATE audit_chain SET hash = 'x' WHERE seq = 1",
        "DELETE FROM audit_chain WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with runtime.db.engine.begin() as connection:
                await connection.execute(text(statement))
    async with runtime.db.engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM audit_chain")) == 1


async def test_prune_keeps_retention_and_cuts_only_at_a_checkpoint(runtime: Runtime) -> None:
    await chained(runtime, 5)  # checkpoint at seq 5
    await chained(runtime, 3)  # seqs 6-8 not yet under a checkpoint
    now = runtime.clock()
    async with runtime.db.unit_of_work() as session:
        with pytest.raises(PruneRefused, match="kept 2922 days"):
            await prune_before(session, now, now, runtime.settings.audit.retention_days)
    async with runtime.db.engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM audit_chain")) == 8

    later = now + timedelta(days=3000)
    async with runtime.db.unit_of_work() as session:
        pruned = await prune_before(session, now + timedelta(days=1), later, 2922)
        await session.commit()
    assert (pruned.from_seq, pruned.through_seq, pruned.records) == (1, 5, 5)
    await chain_pending(runtime)  # links the audit.pruned record
    async with runtime.db.unit_of_work() as session:
        report = await verify_chain(session, runtime.keys)
        trail = (await session.scalars(select(AuditRecord.event))).all()
    assert report.ok and report.records_checked == 4 and report.unchained == 0
    assert trail.count("audit.pruned") == 1 and len(trail) == 4
