"""`imb audit verify | export-checkpoints | prune | rotate-signing-key`: the audit chain from
the command line."""

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from broker.audit import checkpoints
from broker.audit.chain import canonical
from broker.audit.log import Actor
from broker.audit.prune import PruneRefused, prune_before
from broker.audit.verification import log_verification_outcome, record_verification
from broker.audit.verify import check_against, verify_chain
from broker.console import progress, wants_progress
from broker.crypto.keys import audit_key_id, rotate_audit_signing_key
from broker.db.models import AuditChainLink, AuditCheckpoint
from broker.runtime import Runtime

OPERATOR = Actor(agency=None, client="imb-cli")
PROGRESS_HELP = "show progress on standard error even when it is not a terminal"


def add_audit_commands(commands: Any) -> None:
    audit = commands.add_parser("audit", help="verify, export and prune the audit chain")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="check every link and signed checkpoint")
    verify.add_argument(
        "--against", type=Path, help="also check against checkpoints exported earlier"
    )
    verify.add_argument("--progress", action="store_true", help=PROGRESS_HELP)
    export = actions.add_parser(
        "export-checkpoints", help="the signed checkpoints and public key, as JSON lines"
    )
    export.add_argument("--out", type=Path, help="a file to write (default standard output)")
    export.add_argument("--progress", action="store_true", help=PROGRESS_HELP)
    prune = actions.add_parser(
        "prune", help="delete records past retention, up to a checkpoint before DATE"
    )
    prune.add_argument("--before", required=True, type=date.fromisoformat, metavar="DATE")
    prune.add_argument("--progress", action="store_true", help=PROGRESS_HELP)
    actions.add_parser(
        "rotate-signing-key",
        help="a new checkpoint signing key; the old public key is kept to verify older ones",
    )


async def run_audit(rt: Runtime, args: argparse.Namespace) -> str | None:
    """Does the action; returns a one-line failure for the operator, or None."""
    shown = wants_progress(getattr(args, "progress", False))
    if args.action == "verify":
        return await _verify(rt, args.against, shown)
    if args.action == "export-checkpoints":
        with progress(shown, "exporting signed checkpoints"):
            lines = await _export(rt)
        if args.out is None:
            sys.stdout.write(lines)
        else:
            args.out.write_text(lines)
        return None
    if args.action == "rotate-signing-key":
        retired, current = rotate_audit_signing_key(rt.settings.resolved_keys_dir)
        # Running processes sign with the old key until restarted; both keys verify.
        print(json.dumps({"retired_key_id": retired, "key_id": current}))
        return None
    before = datetime.combine(args.before, datetime.min.time(), tzinfo=UTC)
    async with rt.db.unit_of_work() as session:
        try:
            with progress(shown, f"pruning audit records before {args.before}"):
                pruned = await prune_before(
                    session, before, rt.clock(), rt.settings.audit.retention_days, OPERATOR
                )
                await session.commit()
        except PruneRefused as exc:
            return str(exc)
    print(json.dumps({"pruned_records": pruned.records, "through_seq": pruned.through_seq}))
    return None


async def _verify(rt: Runtime, against: Path | None, shown: bool) -> str | None:
    try:
        exported = _read_export(against) if against else None
    except (ValueError, KeyError, TypeError) as exc:
        return f"{against}: not an export of audit checkpoints ({exc})"
    async with rt.db.unit_of_work() as session:
        links = await session.scalar(select(func.count()).select_from(AuditChainLink)) or 0
        with progress(shown, "verifying the audit chain", total=links) as checked:
            report = await verify_chain(session, rt.keys, checked=checked)
        if exported is not None:
            public_keys, items = exported
            stored = {c.seq: c for c in (await session.scalars(select(AuditCheckpoint))).all()}
            check_against(items, public_keys, stored, report)
        record_verification(session, OPERATOR, rt.clock(), report)
        await session.commit()
    log_verification_outcome(report)
    if not report.ok:
        return report.one_line()
    print(report.one_line())
    return None


async def _export(rt: Runtime) -> str:
    # Every key, current and retired, so the file verifies on its own after a rotation.
    lines = [
        json.dumps({"public_key": checkpoints.public_key_text(public), "key_id": key_id})
        for key_id, public in sorted(rt.keys.audit_verify_keys.items())
    ]
    async with rt.db.unit_of_work() as session:
        stored = await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
        lines += [canonical(checkpoints.as_export(c)).decode() for c in stored.all()]
    return "".join(line + "\n" for line in lines)


def _read_export(path: Path) -> tuple[dict[str, Ed25519PublicKey], list[dict[str, Any]]]:
    """The exported public keys by the id each one's own bytes give, and the checkpoints."""
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    keys = [
        checkpoints.public_key_from_text(str(i["public_key"])) for i in items if "public_key" in i
    ]
    if not keys:
        raise ValueError(f"{path} holds no public key line")
    by_id = {audit_key_id(public): public for public in keys}
    return by_id, [item for item in items if "public_key" not in item]
