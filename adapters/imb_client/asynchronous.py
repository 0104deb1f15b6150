"""The asynchronous client (httpx.AsyncClient underneath).

async with AsyncImbClient("https://imb.example", client_id, client_secret) as imb:
    accepted = await imb.publish(event)
    async for item in imb.iter_after_seq(last_seq_recorded):
        delivery = await imb.fetch(item.delivery_id)
        ...
    page = await imb.send(calls.escalations(status="open"))  # any v1 call
"""

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx

from adapters.imb_client import calls
from adapters.imb_client.calls import Body, Call
from adapters.imb_client.policy import (
    DEFAULT_RETRIES,
    Attempts,
    Retries,
    Token,
    error_of,
    token_form,
)
from schemas.responses import BatchItem, DeliveryContent, EventAccepted, InboxItem

T = TypeVar("T")
BATCH_SIZE = 500  # the most events POST /v1/events:batch takes


class AsyncImbClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        timeout: float | None = 30.0,
        retries: Retries = DEFAULT_RETRIES,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str = True,
    ) -> None:
        self._credentials = (client_id, client_secret)
        self._scope = scope
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport, verify=verify
        )
        self._token = Token()
        self._renewing = asyncio.Lock()
        self.retries = retries

    async def __aenter__(self) -> "AsyncImbClient":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Run any v1 call (`adapters.imb_client.calls`); raises ImbError when refused."""
        attempts = Attempts(call, self.retries, self._token)
        while True:
            try:
                response = await self._http.request(
                    **attempts.request(await self._bearer(), self._http.timeout)
                )
            except httpx.TransportError:
                if (delay := attempts.wait_after(None)) is None:
                    raise
            else:
                if (delay := attempts.wait_after(response)) is None:
                    return attempts.outcome(response)  # type: ignore[no-any-return]
            await asyncio.sleep(delay)

    async def _bearer(self) -> dict[str, str]:
        # One renewal at a time: calls made together share the token one of them fetched.
        async with self._renewing:
            if self._token.stale():
                answer = await self._http.post(
                    "/oauth/token", data=token_form(self._scope), auth=self._credentials
                )
                if not answer.is_success:
                    raise error_of(answer)
                self._token.take(answer.json())
        return self._token.header()

    # The calls an EPR makes most, by name; every other is `send(calls.…)`.

    async def publish(self, event: Body) -> EventAccepted:
        return await self.send(calls.publish(event))

    async def publish_many(self, events: list[Body]) -> list[BatchItem]:
        """Any number, 500 to a call; one result per event, in order (`accepted`,
        `replayed` or `refused` with its problem). Each event's id makes a resend safe."""
        results: list[BatchItem] = []
        for start in range(0, len(events), BATCH_SIZE):
            answer = await self.send(calls.publish_batch(events[start : start + BATCH_SIZE]))
            results += [r.model_copy(update={"index": start + r.index}) for r in answer.results]
        return results

    async def inbox(self, **query: Any) -> list[InboxItem]:
        """One page (`calls.inbox` takes the query: status, since, after_seq, wait…)."""
        return (await self.send(calls.inbox(**query))).items

    async def iter_inbox(
        self, *, status: str | None = None, page: int = 100
    ) -> AsyncIterator[InboxItem]:
        """Every delivery in the inbox, page by page (urgent first, then the newest)."""
        cursor: str | None = None
        while True:
            answer = await self.send(calls.inbox(status=status, limit=page, cursor=cursor))
            for item in answer.items:
                yield item
            if not (cursor := answer.next_cursor):
                return

    async def iter_after_seq(self, after_seq: int, *, page: int = 100) -> AsyncIterator[InboxItem]:
        """Every delivery with a greater seq, in seq order: how a system catches up."""
        while True:
            answer = await self.send(calls.inbox(after_seq=after_seq, limit=page))
            for item in answer.items:
                yield item
                after_seq = item.seq or after_seq
            if len(answer.items) < page:
                return

    async def fetch(self, delivery_id: Any) -> DeliveryContent:
        return await self.send(calls.fetch(delivery_id))

    async def acknowledge(self, delivery_id: Any, ack: Body) -> dict[str, Any]:
        return await self.send(calls.acknowledge(delivery_id, ack))

    async def event_status(self, message_id: Any) -> dict[str, Any]:
        return await self.send(calls.event_status(message_id))
