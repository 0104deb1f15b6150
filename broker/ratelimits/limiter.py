"""Counting calls against limits with the `limits` package, and refusing the one over.

Counts live in memory (each process alone) or in Redis (every process together) as
IMB_RATE_LIMIT... says. A refusal is a 429 problem carrying `Retry-After` and the IETF httpapi
draft's `RateLimit-Policy` and `RateLimit` fields, raised before anything is read or written.
If the store cannot be reached, the call is let through and the failure logged and counted: a
crisis alert must not wait on a counter (the limits are defence in depth, not the gate).
"""

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from broker.errors import TooManyRequests
from broker.metrics import Metrics

log = logging.getLogger("imb.ratelimits")
STORE_TIMEOUT = 0.5


@dataclass(frozen=True)
class Limit:
    """A named rate: `name` is the policy's name in the RateLimit fields."""

    name: str
    rate: RateLimitItem

    @classmethod
    def of(cls, name: str, text: str) -> "Limit":
        return cls(name, parse(text))

    @property
    def policy(self) -> str:
        return f'"{self.name}";q={self.rate.amount};w={self.rate.get_expiry()}'


def storage_for(url: str | None) -> Storage:
    if not url:
        return MemoryStorage()
    scheme, _, rest = url.partition("://")
    # Short timeouts: a store that has gone quiet must cost a call half a second, not hang it.
    storage = storage_from_string(
        f"async+{scheme}://{rest}",
        implementation="redispy",
        socket_timeout=STORE_TIMEOUT,
        socket_connect_timeout=STORE_TIMEOUT,
    )
    assert isinstance(storage, Storage)
    return storage


class Limiter:
    def __init__(self, storage: Storage, metrics: Metrics) -> None:
        self._strategy = SlidingWindowCounterRateLimiter(storage)
        self._metrics = metrics

    async def charge(self, limit: Limit, *key: str, cost: int = 1) -> None:
        """Count one call (or `cost` of them) by `key` against the limit; raise
        TooManyRequests over it."""
        try:
            refusal = await self._over(limit, key, cost)
        except Exception as exc:  # the store's client raises its own kinds; all mean "down"
            log.warning("rate limit store unreachable (%s); call let through", type(exc).__name__)
            self._metrics.rate_limit_store_errors.inc()
            return
        if refusal is not None:
            self._metrics.rate_limited.labels(limit.name).inc()
            raise refusal

    async def _over(self, limit: Limit, key: tuple[str, ...], cost: int) -> TooManyRequests | None:
        if await self._strategy.hit(limit.rate, limit.name, *key, cost=cost):
            return None
        stats = await self._strategy.get_window_stats(limit.rate, limit.name, *key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return TooManyRequests(
            f"too many calls: the limit is {limit.rate.amount} per "
            f"{limit.rate.get_expiry()} s; try again in {wait} s",
            headers={
                "Retry-After": str(wait),
                "RateLimit-Policy": limit.policy,
                "RateLimit": f'"{limit.name}";r={stats.remaining};t={wait}',
            },
        )
