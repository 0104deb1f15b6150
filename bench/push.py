"""P6: deliveries pushed to a record system's webhook, and the same deliveries read from an
inbox, in the same run.

Every event goes to two agencies: the council's channel is a webhook (a receiver in this
process that verifies each signature, as a record system must), housing reads its inbox with
a waiting reader (`GET /v1/inbox?after_seq=…&wait=30`). So each event gives one push and one
inbox read of the same work, and the two paths are compared under the same load.

    steady  events at a steady rate: publish→webhook-received and publish→read-from-inbox
            latencies
    burst   events published flat out in batches: deliveries a second by each path
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook

from bench.estate import Estate, fresh_database, set_up
from bench.load import Api, in_batches, routine_event, steady
from bench.measure import summary_ms
from tests.receivers import free_port
from tests.world import COUNCIL, HOUSING, TRUST

STEADY_RATE = 50.0  # events a second


@dataclass
class Arrivals:
    """Message id → when this side first had it (epoch s)."""

    at: dict[str, float] = field(default_factory=dict)
    repeats: int = 0

    def note(self, message_id: str) -> None:
        if message_id in self.at:
            self.repeats += 1
        else:
            self.at[message_id] = time.time()


class WebhookReceiver:
    """The council's record system: verifies, notes, answers 204."""

    def __init__(self, secret: str) -> None:
        self.verifier = Webhook(secret)
        self.arrivals = Arrivals()

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.text()
        event = self.verifier.verify(body, dict(request.headers))
        if event["type"] != "uk.imb.heartbeat.v1":
            self.arrivals.note(event["data"]["message_id"])
        return web.Response(status=204)


async def read_inbox(
    api: Api, auth: dict[str, str], arrivals: Arrivals, stop: asyncio.Event
) -> None:
    """Housing's record system: reads by seq, waiting for the next delivery."""
    last = 0
    while not stop.is_set():
        page = await api.get(auth, "/v1/inbox", after_seq=last, limit=500, wait=1)
        for item in page["items"]:
            arrivals.note(item["message_id"])
            last = max(last, item["seq"])


async def _until_all(arrivals: list[Arrivals], expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(len(a.at) < expected for a in arrivals):
        if time.monotonic() > deadline:
            counts = [len(a.at) for a in arrivals]
            raise TimeoutError(f"{counts} of {expected} arrived within {timeout:g} s")
        await asyncio.sleep(0.05)


async def one_run(estate: Estate, events: int, rate: float | None) -> dict[str, Any]:
    """`events` at `rate` a second (None: flat out, in batches of 100)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/imb"
    channel = estate.installation.run(
        "agency", "channel", COUNCIL, "--kind", "webhook", "--url", url
    )
    receiver = WebhookReceiver(json.loads(channel.stdout)["secret"])
    app = web.Application()
    app.router.add_post("/imb", receiver.receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    serving = estate.serve()
    inbox, stop = Arrivals(), asyncio.Event()
    try:
        async with Api(serving.base_url, 64) as api:
            trust = await api.bearer(estate.clients[TRUST])
            housing = await api.bearer(estate.clients[HOUSING])
            reading = asyncio.create_task(read_inbox(api, housing, inbox, stop))
            began = time.time()
            if rate is None:
                load = [routine_event(i) for i in range(events)]
                sent = await in_batches(api, trust, load, 100, 4)
            else:
                sent = await steady(api, trust, routine_event, rate, events / rate)
            await _until_all([receiver.arrivals, inbox], len(sent), timeout=600)
            stop.set()
            await reading
    finally:
        estate.stop()
        await runner.cleanup()
    return {
        "events": len(sent),
        "rate_per_s": rate or "flat out",
        "webhook": _side(receiver.arrivals, sent, began),
        "inbox_waiting_reader": _side(inbox, sent, began),
    }


def _side(arrivals: Arrivals, sent: dict[str, float], began: float) -> dict[str, Any]:
    latencies = [arrivals.at[m] - at for m, at in sent.items() if m in arrivals.at]
    last = max(arrivals.at.values())
    return {
        "deliveries_per_s": round(len(arrivals.at) / (last - began), 1),
        "publish_to_received_ms": summary_ms(latencies),
        "repeats": arrivals.repeats,
    }


def measure(
    kafka: str, folder: Path, database: str, admin_url: str, events: int, rate: float = STEADY_RATE
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, pace in (("steady", rate), ("burst", None)):
        with fresh_database(database, folder, admin_url) as url:
            estate = set_up(folder, url, kafka)
            results[name] = asyncio.run(one_run(estate, events, pace))
    return results
