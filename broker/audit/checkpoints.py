"""Signed checkpoints of the audit chain: (seq, head hash, time, key id) signed with Ed25519.

A checkpoint exported and kept elsewhere proves what the chain held up to its seq: anyone
changing the chain before it would have to forge the broker's signature.
"""

import base64
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.chain import canonical
from broker.db.models import AuditChainHead, AuditCheckpoint


def signed_content(seq: int, hash_: str, at: datetime, key_id: str) -> bytes:
    return canonical({"seq": seq, "hash": hash_, "at": at, "key_id": key_id})


def sign(
    key: Ed25519PrivateKey, key_id: str, seq: int, hash_: str, at: datetime
) -> AuditCheckpoint:
    signature = key.sign(signed_content(seq, hash_, at, key_id))
    return AuditCheckpoint(seq=seq, hash=hash_, at=at, key_id=key_id, signature=signature.hex())


def signature_valid(public: Ed25519PublicKey, checkpoint: AuditCheckpoint) -> bool:
    try:
        content = signed_content(checkpoint.seq, checkpoint.hash, checkpoint.at, checkpoint.key_id)
        public.verify(bytes.fromhex(checkpoint.signature), content)
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_text(public: Ed25519PublicKey) -> str:
    return base64.b64encode(public.public_bytes_raw()).decode()


def public_key_from_text(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


async def latest(session: AsyncSession) -> AuditCheckpoint | None:
    last: AuditCheckpoint | None = await session.scalar(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    )
    return last


def due(
    head: AuditChainHead,
    last: AuditCheckpoint | None,
    now: datetime,
    every_records: int,
    every_seconds: float,
) -> bool:
    """A checkpoint is due once N records or T seconds have passed since the last one."""
    if head.seq == 0 or (last is not None and last.seq >= head.seq):
        return False
    if last is None:
        return True
    return head.seq - last.seq >= every_records or now - last.at >= timedelta(seconds=every_seconds)


def as_export(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "at": checkpoint.at,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }
