"""Arrivals: telling waiting inbox readers that a delivery became available to their agency.

`GET /v1/inbox?wait=S` answers at once when the page has items; when it is empty, the request
waits here (holding no database connection) until the dispatcher makes a delivery available
to the caller's agency, or the wait ends, and then reads again. So an integrator waiting for
its next delivery costs one request instead of a poll loop, and hears of it at once.

Across processes the dispatcher's transaction sends `NOTIFY imb_inbox, '<agency>'`, which
PostgreSQL delivers only if it commits; every `imb serve` process listens
(`broker.pipeline.notices`). SQLite runs in one process, so the dispatcher tells this
process's waiters itself once its transaction has committed.
"""

import asyncio
import contextlib
from collections.abc import Iterable, Iterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CHANNEL = "imb_inbox"
AFTER_COMMIT = "imb_arrivals_after_commit"


class Arrivals:
    """One signal per agency that has a reader waiting; at most `limit` readers waiting per
    agency in a process, so a client cannot park an unbounded number of requests in it."""

    def __init__(self, limit: int = 100) -> None:
        self.limit = limit
        self._signals: dict[str, asyncio.Event] = {}
        self._watching: dict[str, int] = {}

    def tell(self, agencies: Iterable[str]) -> None:
        for agency in agencies:
            signal = self._signals.pop(agency, None)
            if signal is not None:
                signal.set()

    def may_wait(self, agency: str) -> bool:
        return self._watching.get(agency, 0) < self.limit

    @contextlib.contextmanager
    def watch(self, agency: str) -> Iterator["Watch"]:
        """Watch for arrivals from before the caller first reads, so that a delivery arriving
        between that read and the wait is not missed."""
        self._watching[agency] = self._watching.get(agency, 0) + 1
        try:
            yield Watch(self, agency)
        finally:
            self._watching[agency] -= 1
            if not self._watching[agency]:
                del self._watching[agency]
                self._signals.pop(agency, None)

    def _armed(self, agency: str) -> asyncio.Event:
        return self._signals.setdefault(agency, asyncio.Event())


class Watch:
    def __init__(self, arrivals: Arrivals, agency: str) -> None:
        self._arrivals = arrivals
        self._agency = agency
        self._signal = arrivals._armed(agency)

    async def arrival(self, seconds: float) -> bool:
        """Until a delivery arrives (True; watching on for the next) or `seconds` pass."""
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._signal.wait()
        except TimeoutError:
            return False
        self._signal = self._arrivals._armed(self._agency)
        return True


async def announce(session: AsyncSession, agencies: Iterable[str]) -> None:
    """Tell readers waiting for these agencies, once this transaction commits."""
    recipients = sorted(set(agencies))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        for agency in recipients:
            await session.execute(
                text("SELECT pg_notify(:channel, :agency)"),
                {"channel": CHANNEL, "agency": agency},
            )
    else:
        session.info.setdefault(AFTER_COMMIT, set()).update(recipients)


def told_after_commit(session: AsyncSession) -> set[str]:
    """The agencies a committed transaction must still tell in this process (SQLite)."""
    agencies: set[str] = set()
    with contextlib.suppress(KeyError):
        agencies = session.info.pop(AFTER_COMMIT)
    return agencies
