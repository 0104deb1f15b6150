"""`imb audit`: verify against exported checkpoints, tampering named, prune refused early."""

import asyncio
import json
from pathlib import Path

from broker.audit.worker import chain_pending
from broker.runtime import build_runtime
from broker.settings import Settings
from tests.e2e.processes import ImbInstallation
from tests.integration.audit_records import record_of, tamper, write_records


def test_verify_export_and_prune(installation: ImbInstallation, tmp_path: Path) -> None:
    async def chain_then_tamper_later() -> int:
        rt = build_runtime(
            Settings(data_dir=installation.data_dir, database_url=installation.database_url)
        )
        try:
            await write_records(rt, 3)
            await chain_pending(rt)
            return await record_of(rt, 2)
        finally:
            await rt.close()

    async def chain_more() -> None:
        rt = build_runtime(
            Settings(data_dir=installation.data_dir, database_url=installation.database_url)
        )
        rt.settings.audit.checkpoint_records = 3  # a checkpoint signed with the new key
        try:
            await write_records(rt, 3)
            await chain_pending(rt)
        finally:
            await rt.close()

    record = asyncio.run(chain_then_tamper_later())
    exported = tmp_path / "checkpoints.jsonl"
    installation.run("audit", "export-checkpoints", "--out", str(exported))
    assert '"public_key"' in exported.read_text() and '"seq":3' in exported.read_text()
    assert "intact" in installation.run("audit", "verify", "--against", str(exported)).stdout

    # After a rotation, checkpoints signed with either key verify, from the database and
    # from the file exported before.
    rotated = json.loads(installation.run("audit", "rotate-signing-key").stdout)
    assert rotated["key_id"] != rotated["retired_key_id"]
    asyncio.run(chain_more())
    report = installation.run("audit", "verify", "--against", str(exported)).stdout
    # 3 + the first verification's own audit.verified record + 3.
    assert "intact: 7 records checked" in report
    again = tmp_path / "again.jsonl"
    installation.run("audit", "export-checkpoints", "--out", str(again))
    lines = [json.loads(line) for line in again.read_text().splitlines()]
    assert {k["key_id"] for k in lines if "public_key" in k} == set(rotated.values())
    assert [c["key_id"] for c in lines if "signature" in c] == list(rotated.values())

    async def change_a_record() -> None:
        rt = build_runtime(
            Settings(data_dir=installation.data_dir, database_url=installation.database_url)
        )
        try:
            await tamper(rt, f"UPDATE audit_records SET event = 'x' WHERE id = {record}")
        finally:
            await rt.close()

    asyncio.run(change_a_record())
    broken = installation.run("audit", "verify", check=False)
    assert broken.returncode != 0
    *logged, message = broken.stderr.strip().splitlines()
    assert message == (
        f"imb: audit chain broken at seq 2 (record {record}): record does not match its link"
    )
    [failed] = [line for line in logged if "audit.verification_failed" in line]
    assert "[error" in failed and "first_bad_seq=2" in failed

    refused = installation.run("audit", "prune", "--before", "2026-01-01", check=False)
    assert refused.returncode != 0 and "kept 2922 days" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
