"""The audit chain's gauges on /metrics, read from the database when scraped, so an alert on
a broken or stale chain fires whichever process serves the scrape."""

from sqlalchemy.ext.asyncio import AsyncSession

from broker.audit.verification import last_verification
from broker.audit.verify import chain_status
from broker.metrics import Metrics

NEVER = -1


async def refresh_audit_gauges(session: AsyncSession, metrics: Metrics) -> None:
    verified = await last_verification(session)
    status = await chain_status(session)
    metrics.audit_chain_intact.set(NEVER if verified is None else int(verified.ok))
    metrics.audit_chain_verified_at.set(verified.at.timestamp() if verified else 0)
    checkpoint = status.last_checkpoint
    metrics.audit_checkpoint_at.set(checkpoint.at.timestamp() if checkpoint else 0)
    metrics.audit_unchained.set(status.unchained)
