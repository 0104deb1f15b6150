"""Request bodies: refused over the size limit (413) or when they do not arrive in time (408),
before any handler sees them."""

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.api.problems import answer_at, instance_of, problem_body
from broker.errors import BrokerError, PayloadTooLarge, RequestTimeout


class ClientGone(Exception):
    """The client disconnected before its body was whole."""


class BodyLimit:
    """Reads the whole body first, within `max_bytes` and `timeout` seconds, so that a client
    announcing a long body and sending a few bytes cannot hold a connection and a handler."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        timeout: float,
        larger: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        # Paths whose bodies may be larger (a batch of events), by exact path.
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _announces_body(scope):
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        try:
            body = await self._read(receive, limit)
        except BrokerError as refusal:
            await _refuse(scope, receive, send, refusal)
            return
        except ClientGone:
            return  # a body cut short by a disconnect must never reach a handler as whole
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, limit: int) -> bytes:
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        raise ClientGone
                    if _add(chunks, message, limit):
                        break
        except TimeoutError:
            raise RequestTimeout(
                f"the request body did not arrive within {self.timeout:g} s"
            ) from None
        return b"".join(chunks)


def _add(chunks: list[bytes], message: Message, limit: int) -> bool:
    """Keep the chunk; whether it was the last."""
    chunks.append(message.get("body", b""))
    if sum(map(len, chunks)) > limit:
        raise PayloadTooLarge(f"request bodies here are limited to {limit} bytes")
    return not message.get("more_body", False)


def _announces_body(scope: Scope) -> bool:
    names = {name.lower() for name, _ in scope.get("headers", [])}
    return b"content-length" in names or b"transfer-encoding" in names


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the connection's own messages (a disconnect, when it comes)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _refuse(scope: Scope, receive: Receive, send: Send, error: BrokerError) -> None:
    # The rest of the body is never read, so the connection cannot carry another request.
    body = problem_body(error.status, error.title, error.detail, error.slug, instance_of(scope))
    response = answer_at(scope.get("path", ""), body, headers={"connection": "close"})
    await response(scope, receive, send)
