"""Verifying the audit chain: every link recomputed, every checkpoint's signature checked.

`verify_chain` streams the links in seq order in batches (never the whole log in memory) with
their records, and reports the first problem found. What each check detects:

- a changed record, or two links' records swapped: the recomputed hash differs;
- a deleted record: its link finds no record; a deleted link: a gap in the seqs;
- a forged record with a forged link appended: the chain runs past `audit_chain_head`;
- a truncation: the chain ends before the head, or before a signed checkpoint;
- a rewritten chain (hashes recomputed by someone without the signing key): a checkpoint's
  (seq, hash) no longer matches the chain, or a checkpoint's signature does not verify.

After a prune the earliest remaining link does not start at seq 1. Its previous hash is
trusted only when a signed checkpoint at the seq just before vouches for it: prune cuts only
at checkpoints and never deletes them (see `broker.audit.prune`).

`chain_status` is the cheap summary (head, last checkpoint, records not yet chained).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit import checkpoints as signed
from broker.audit.chain import (
    GENESIS,
    HEAD_ID,
    LATE_WINDOW,
    link_hash,
    recent_floor,
    record_fields,
    unchained,
)
from broker.crypto.keys import KeyMaterial
from broker.db.models import AuditChainHead, AuditChainLink, AuditCheckpoint, AuditRecord

BATCH = 1000


@dataclass(frozen=True)
class Problem:
    seq: int | None
    record_id: int | None
    problem: str


@dataclass(frozen=True)
class CheckpointRef:
    seq: int
    at: datetime


@dataclass
class VerifyReport:
    ok: bool = True
    records_checked: int = 0
    checkpoints_checked: int = 0
    last_checkpoint: CheckpointRef | None = None
    unchained: int = 0
    first_bad: Problem | None = None

    def fail(self, seq: int | None, record_id: int | None, problem: str) -> None:
        if self.first_bad is None:
            self.ok = False
            self.first_bad = Problem(seq, record_id, problem)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def outcome_only(self) -> dict[str, Any]:
        """Intact or not, and what broke, without the counts and sequence numbers that
        measure every agency's activity: the view of an auditor who sees one agency."""
        last, bad = self.last_checkpoint, self.first_bad
        return {
            "ok": self.ok,
            "last_checkpoint": {"at": last.at.isoformat()} if last else None,
            "first_bad": {"problem": bad.problem} if bad else None,
        }

    def one_line(self) -> str:
        if self.first_bad is None:
            return f"audit chain intact: {self.records_checked} records checked"
        bad = self.first_bad
        return f"audit chain broken at seq {bad.seq} (record {bad.record_id}): {bad.problem}"


@dataclass(frozen=True)
class ChainStatus:
    head_seq: int
    last_checkpoint: CheckpointRef | None
    unchained: int


@dataclass
class _Walk:
    """The running state of a walk along the chain; pure, fed one link at a time."""

    checkpoints: dict[int, AuditCheckpoint]
    report: VerifyReport
    seq: int | None = None
    hash: str | None = None
    seen_checkpoints: set[int] = field(default_factory=set)

    def start(self, first_seq: int) -> str | None:
        if first_seq == 1:
            return GENESIS
        vouching = self.checkpoints.get(first_seq - 1)
        if vouching is None:
            return None
        self.seen_checkpoints.add(vouching.seq)
        return vouching.hash

    def step(self, link: AuditChainLink, record: AuditRecord | None) -> None:
        if self.seq is None:
            self.hash = self.start(link.seq)
            if self.hash is None:
                self.report.fail(link.seq, link.record_id, "earliest link not vouched for")
                return
        elif link.seq != self.seq + 1:
            self.report.fail(self.seq + 1, None, "link missing")
            return
        self.seq = link.seq
        if link.prev_hash != self.hash:
            self.report.fail(link.seq, link.record_id, "previous hash does not match")
            return
        if record is None:
            self.report.fail(link.seq, link.record_id, "record missing")
            return
        computed = link_hash(record_fields(record), link.prev_hash)
        if computed != link.hash:
            self.report.fail(link.seq, link.record_id, "record does not match its link")
            return
        self.hash = computed
        self.report.records_checked += 1
        checkpoint = self.checkpoints.get(link.seq)
        if checkpoint is not None:
            self.seen_checkpoints.add(checkpoint.seq)
            if checkpoint.hash != computed:
                self.report.fail(link.seq, link.record_id, "chain differs from its checkpoint")

    def finish(self, head: AuditChainHead | None) -> None:
        end_seq, end_hash = (self.seq or 0), (self.hash or GENESIS)
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
        if end_seq > head_seq:
            self.report.fail(head_seq + 1, None, "links beyond the chain head")
        elif end_seq < head_seq:
            self.report.fail(end_seq + 1, None, "chain truncated before its head")
        elif end_hash != head_hash:
            self.report.fail(end_seq, None, "chain end differs from its head")
        for seq in sorted(set(self.checkpoints) - self.seen_checkpoints):
            if seq > end_seq:
                self.report.fail(seq, None, "chain truncated before a checkpoint")


def check_signatures(
    public_keys: Mapping[str, Ed25519PublicKey],
    checkpoints: Iterable[AuditCheckpoint],
    report: VerifyReport,
) -> None:
    """Each checkpoint against the key its id names, current or retired."""
    for checkpoint in checkpoints:
        report.checkpoints_checked += 1
        if not _signed_by_known_key(public_keys, checkpoint):
            report.fail(checkpoint.seq, None, "checkpoint signature does not verify")
        report.last_checkpoint = CheckpointRef(checkpoint.seq, checkpoint.at)


def _signed_by_known_key(
    public_keys: Mapping[str, Ed25519PublicKey], checkpoint: AuditCheckpoint
) -> bool:
    public = public_keys.get(checkpoint.key_id)
    return public is not None and signed.signature_valid(public, checkpoint)


def _forget(session: AsyncSession, *rows: object) -> None:
    # Streaming: rows already checked leave the session's identity map.
    for row in rows:
        if row is not None:
            session.expunge(row)


async def verify_chain(
    session: AsyncSession,
    keys: KeyMaterial,
    *,
    batch: int = BATCH,
    checked: Callable[[int], None] = lambda links: None,
) -> VerifyReport:
    """The whole chain checked against its checkpoints and head; see the module docstring.
    `checked` hears how many links have been checked after each batch, to show progress.

    Read-only: the caller's session is left as it was, apart from rows it loads.
    """
    report = VerifyReport()
    all_checkpoints = (
        await session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
    ).all()
    check_signatures(keys.audit_verify_keys, all_checkpoints, report)
    walk = _Walk({c.seq: c for c in all_checkpoints}, report)
    after, done = 0, 0
    while report.first_bad is None:
        rows = (
            await session.execute(
                select(AuditChainLink, AuditRecord)
                .outerjoin(AuditRecord, AuditRecord.id == AuditChainLink.record_id)
                .where(AuditChainLink.seq > after)
                .order_by(AuditChainLink.seq)
                .limit(batch)
            )
        ).all()
        for link, record in rows:
            walk.step(link, record)
            if report.first_bad is not None:
                break
            _forget(session, link, record)
        done += len(rows)
        checked(done)
        if len(rows) < batch:
            break
        after = rows[-1][0].seq
    if report.first_bad is None:
        walk.finish(await session.get(AuditChainHead, HEAD_ID))
    report.unchained = await _unchained_count(session)
    return report


def check_against(
    exported: Iterable[dict[str, Any]],
    public_keys: Mapping[str, Ed25519PublicKey],
    stored: dict[int, AuditCheckpoint],
    report: VerifyReport,
) -> None:
    """Checkpoints kept elsewhere: each must verify and still be in the database unchanged."""
    for item in exported:
        copy = AuditCheckpoint(
            seq=int(item["seq"]),
            hash=str(item["hash"]),
            at=datetime.fromisoformat(str(item["at"])),
            key_id=str(item["key_id"]),
            signature=str(item["signature"]),
        )
        if not _signed_by_known_key(public_keys, copy):
            report.fail(copy.seq, None, "exported checkpoint signature does not verify")
        else:
            here = stored.get(copy.seq)
            if here is None or here.hash != copy.hash:
                report.fail(copy.seq, None, "database no longer matches an exported checkpoint")


async def chain_status(session: AsyncSession, late_window: int = LATE_WINDOW) -> ChainStatus:
    """Cheap: the head's seq, the last checkpoint's seq and time, and the records not yet
    chained among the recent ids the chainer searches on every pass."""
    head = await session.get(AuditChainHead, HEAD_ID)
    last = await signed.latest(session)
    return ChainStatus(
        head_seq=head.seq if head else 0,
        last_checkpoint=CheckpointRef(last.seq, last.at) if last else None,
        unchained=await _unchained_count(session, await recent_floor(session, late_window)),
    )


async def _unchained_count(session: AsyncSession, above: int = 0) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.id > above, unchained())
        )
        or 0
    )
