"""An EPR-side receiver of IMB's webhook pushes: verify, record once, answer at once,
acknowledge after.

What a record system's integration does with each push:

1. verify the Standard Webhooks signature before reading a byte (`verify_webhook`): a wrong
   or stale signature is answered 401, and IMB retries it, so a rotated secret is no outage;
2. record the delivery **once per delivery id**: IMB repeats a push it is not sure arrived,
   with the same `webhook-id`, so a repeat is answered 2xx and changes nothing;
3. answer 2xx at once (that is IMB's transport receipt) and do the slow work after;
4. acknowledge the delivery to IMB (`POST /v1/inbox/{id}/ack`) once it is in the record:
   that is what stops IMB escalating it to a duty team;
5. watch the seqs: on a gap (or a heartbeat naming a seq not yet seen) catch up from the
   inbox with `iter_after_seq`, after the last seq up to which nothing is missing.

Run it (the secret comes from the environment, never from code):

    IMB_WEBHOOK_SECRET=whsec_… IMB_URL=https://imb.example IMB_CLIENT_ID=… \\
    IMB_CLIENT_SECRET=… uvicorn adapters.examples.webhook_receiver:app --port 8443 \\
        --ssl-certfile … --ssl-keyfile …
"""

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.imb_client import (
    AsyncImbClient,
    PushedEvent,
    WebhookVerificationError,
    verify_webhook,
)

log = logging.getLogger(__name__)
RECORDED = {
    "outcome": "accepted",
    "note": "recorded in the record system",
    "acknowledged_by": {"name": "Record system integration", "role": "system"},
}


class Record:
    """The record system, as far as this example needs one: deliveries by id, and the last
    seq seen. SQLite so that a repeat is refused by the primary key, as a real EPR would."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS deliveries (id TEXT PRIMARY KEY, seq INTEGER, body TEXT)"
        )
        self._db.commit()

    def add(self, event: PushedEvent) -> bool:
        """Whether it is new: a repeated push records nothing."""
        with self._db:
            added = self._db.execute(
                "INSERT OR IGNORE INTO deliveries (id, seq, body) VALUES (?, ?, ?)",
                (event.id, event.seq, repr(event.data)),
            )
        return added.rowcount == 1

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM deliveries").fetchone()[0])

    def last_seq(self) -> int:
        found = self._db.execute("SELECT max(seq) FROM deliveries").fetchone()[0]
        return int(found or 0)

    def contiguous(self) -> int:
        """The highest seq n such that 1…n are all recorded: everything after it may still
        be missing, and is read from the inbox with `after_seq=n`."""
        seen = 0
        for (seq,) in self._db.execute(
            "SELECT seq FROM deliveries WHERE seq IS NOT NULL ORDER BY seq"
        ):
            if seq != seen + 1:
                break
            seen = seq
        return seen


def create_receiver(
    secrets: list[str], record: Record, imb: AsyncImbClient | None = None
) -> Starlette:
    """The receiver app. With `imb`, each new delivery is acknowledged after the answer."""
    acknowledging: set[asyncio.Task[None]] = set()

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            event = verify_webhook(request.headers, body, secrets)
        except WebhookVerificationError:
            return Response(status_code=401)
        if event.is_heartbeat:
            behind = (event.seq or 0) > record.contiguous()
        else:
            if record.add(event) and imb is not None:
                _start(acknowledging, _acknowledge(imb, event.id))
            behind = (event.seq or 0) > record.contiguous() + 1  # a gap before this one
        if behind and imb is not None:
            _start(acknowledging, _catch_up(imb, record))
        return Response(status_code=204)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.gather(*acknowledging, return_exceptions=True)

    return Starlette(
        routes=[Route("/imb/deliveries", receive, methods=["POST"])], lifespan=lifespan
    )


def _start(tasks: set[asyncio.Task[None]], work: Any) -> None:
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _acknowledge(imb: AsyncImbClient, delivery_id: str) -> None:
    try:
        await imb.acknowledge(delivery_id, RECORDED)
    except Exception:  # IMB escalates what is never acknowledged: someone will look
        log.exception("acknowledging delivery %s failed", delivery_id)


async def _catch_up(imb: AsyncImbClient, record: Record) -> None:
    """A gap in the seqs, or a heartbeat naming a seq not seen: read what was missed from the
    inbox. What was recorded already is recorded once (and acknowledged once)."""
    async for item in imb.iter_after_seq(record.contiguous()):
        content = await imb.fetch(item.delivery_id)
        pushed = PushedEvent(str(item.delivery_id), item.type, "", content.model_dump(mode="json"))
        if record.add(pushed):
            await _acknowledge(imb, str(item.delivery_id))


def _from_environment() -> Starlette:
    imb = AsyncImbClient(
        os.environ["IMB_URL"], os.environ["IMB_CLIENT_ID"], os.environ["IMB_CLIENT_SECRET"]
    )
    secrets = [s for s in os.environ["IMB_WEBHOOK_SECRET"].split(",") if s]
    record = Record(Path(os.environ.get("EPR_RECORD", "epr-record.sqlite3")))
    return create_receiver(secrets, record, imb)


def __getattr__(name: str) -> Starlette:
    # `uvicorn adapters.examples.webhook_receiver:app` builds it from the environment; importing
    # the module (as the tests do) needs none of it.
    if name == "app":
        return _from_environment()
    raise AttributeError(name)
