"""Refuse request bodies over the limit before any handler sees them (413)."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.api.problems import problem
from broker.errors import PayloadTooLarge


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        body, too_large = await self._read(receive)
        if too_large:
            await _send_413(scope, receive, send, self.max_bytes)
            return
        await self.app(scope, _replay(body), send)

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send_413(scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
    error = PayloadTooLarge(f"request bodies are limited to {max_bytes} bytes")
    response = problem(
        error.status,
        error.title,
        error.detail,
        error.slug,
        scope.get("path", ""),
        headers={"connection": "close"},
    )
    await response(scope, receive, send)
