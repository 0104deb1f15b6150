"""The synchronous client (httpx.Client underneath), for integration engines and scripts
that do not run an event loop. The same calls and answers as `AsyncImbClient`.

    with ImbClient("https://imb.example", client_id, client_secret) as imb:
        accepted = imb.publish(event)
        for item in imb.iter_after_seq(last_seq_recorded):
            ...
"""

import threading
import time
from collections.abc import Iterator
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


class ImbClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        timeout: float | None = 30.0,
        retries: Retries = DEFAULT_RETRIES,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
    ) -> None:
        self._credentials = (client_id, client_secret)
        self._scope = scope
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, verify=verify
        )
        self._token = Token()
        self._renewing = threading.Lock()
        self.retries = retries

    def __enter__(self) -> "ImbClient":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def send(self, call: Call[T]) -> T:
        """Run any v1 call (`adapters.imb_client.calls`); raises ImbError when refused."""
        attempts = Attempts(call, self.retries, self._token)
        while True:
            try:
                response = self._http.request(
                    **attempts.request(self._bearer(), self._http.timeout)
                )
            except httpx.TransportError:
                if (delay := attempts.wait_after(None)) is None:
                    raise
            else:
                if (delay := attempts.wait_after(response)) is None:
                    return attempts.outcome(response)  # type: ignore[no-any-return]
            time.sleep(delay)

    def _bearer(self) -> dict[str, str]:
        with self._renewing:  # threads sharing a client share its token
            if self._token.stale():
                answer = self._http.post(
                    "/oauth/token", data=token_form(self._scope), auth=self._credentials
                )
                if not answer.is_success:
                    raise error_of(answer)
                self._token.take(answer.json())
        return self._token.header()

    # The calls an EPR makes most, by name; every other is `send(calls.…)`.

    def publish(self, event: Body) -> EventAccepted:
        return self.send(calls.publish(event))

    def publish_many(self, events: list[Body]) -> list[BatchItem]:
        """Any number, 500 to a call; one result per event, in order."""
        results: list[BatchItem] = []
        for start in range(0, len(events), BATCH_SIZE):
            answer = self.send(calls.publish_batch(events[start : start + BATCH_SIZE]))
            results += [r.model_copy(update={"index": start + r.index}) for r in answer.results]
        return results

    def inbox(self, **query: Any) -> list[InboxItem]:
        """One page (`calls.inbox` takes the query: status, since, after_seq, wait…)."""
        return self.send(calls.inbox(**query)).items

    def iter_inbox(self, *, status: str | None = None, page: int = 100) -> Iterator[InboxItem]:
        cursor: str | None = None
        while True:
            answer = self.send(calls.inbox(status=status, limit=page, cursor=cursor))
            yield from answer.items
            if not (cursor := answer.next_cursor):
                return

    def iter_after_seq(self, after_seq: int, *, page: int = 100) -> Iterator[InboxItem]:
        """Every delivery with a greater seq, in seq order: how a system catches up."""
        while True:
            answer = self.send(calls.inbox(after_seq=after_seq, limit=page))
            for item in answer.items:
                yield item
                after_seq = item.seq or after_seq
            if len(answer.items) < page:
                return

    def fetch(self, delivery_id: Any) -> DeliveryContent:
        return self.send(calls.fetch(delivery_id))

    def acknowledge(self, delivery_id: Any, ack: Body) -> dict[str, Any]:
        return self.send(calls.acknowledge(delivery_id, ack))

    def event_status(self, message_id: Any) -> dict[str, Any]:
        return self.send(calls.event_status(message_id))
