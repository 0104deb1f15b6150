"""A real HTTP receiver on a loopback port, standing in for an agency's record system: it
records every request and answers each with the next status of its script."""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # how the receiver answered it
    at: float = field(default_factory=time.monotonic)  # when it arrived

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers 200 unless `script` says otherwise (one status per request, in order)."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    answer_after: float = 0.0  # seconds: a slow record system
    answered_at: list[float] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = self.script.pop(0) if self.script else 200
        self.received.append(Received(headers, body, status))
        await asyncio.sleep(self.answer_after)
        self.answered_at.append(time.monotonic())
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def until(self, count: int, timeout: float = 30.0) -> list[Received]:
        """The requests once `count` have arrived; fails after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:  # noqa: ASYNC110 (the receiver runs apart)
                await asyncio.sleep(0.02)
        return self.received


def free_port() -> int:
    """A loopback port nobody listens on (yet): a receiver that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def receiving(
    receiver: Receiver, path: str = "/imb", port: int = 0
) -> AsyncIterator[Receiver]:
    """The receiver served on 127.0.0.1 (at a free port unless given) until the block ends."""
    async with serving(receiver, port) as base_url:
        receiver.url = f"{base_url}{path}"
        yield receiver


@asynccontextmanager
async def serving(app: Any, port: int = 0) -> AsyncIterator[str]:
    """Any ASGI app served over real HTTP on 127.0.0.1 until the block ends: its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    running = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn only sets a flag)
        await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await running
