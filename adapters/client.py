"""A small Python client for EPR integrators: token handling and the v1 calls.

async with ImbClient("https://imb.example", client_id, client_secret) as imb:
    accepted = await imb.publish(event)
    results = await imb.publish_many(events)  # any number, 500 to a call
    for item in (await imb.inbox(status="delivered", wait=30))["items"]:
        delivery = await imb.fetch(item["delivery_id"])
        await imb.acknowledge(item["delivery_id"], {"outcome": "accepted", ...})
"""

import asyncio
import time
from types import TracebackType
from typing import Any

import httpx

BATCH_SIZE = 500  # the most events POST /v1/events:batch takes in one call


class ImbError(Exception):
    """A problem-details answer from the broker."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


class ImbClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._credentials = (client_id, client_secret)
        self._scope = scope
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._token: str | None = None
        self._token_expires = 0.0
        self._renewing = asyncio.Lock()

    async def __aenter__(self) -> "ImbClient":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def _bearer(self) -> dict[str, str]:
        # One renewal at a time: calls made together share the token one of them fetched,
        # rather than each asking the token endpoint (which limits how often a client may).
        async with self._renewing:
            if self._stale():
                await self._renew()
        return {"Authorization": f"Bearer {self._token}"}

    def _stale(self) -> bool:
        # Renew a minute early so a token never expires in flight.
        return self._token is None or time.monotonic() > self._token_expires - 60

    async def _renew(self) -> None:
        data = {"grant_type": "client_credentials"}
        if self._scope:
            data["scope"] = self._scope
        response = await self._http.post("/oauth/token", data=data, auth=self._credentials)
        response.raise_for_status()
        body = response.json()
        self._token = body["access_token"]
        self._token_expires = time.monotonic() + body["expires_in"]

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, headers=await self._bearer(), **kwargs)
        if response.status_code >= 400:
            raise ImbError(response.status_code, response.json())
        return response.json()

    async def publish(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/v1/events", json=event)
        return result

    async def publish_many(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Publish events through POST /v1/events:batch, 500 to a call; one result per event,
        in order, each `accepted`, `replayed` or `refused` with its problem details. A call
        refused whole (429, say) raises ImbError, and the events from that call on were not
        sent: publishing them again is safe, as each event's id makes it idempotent."""
        results: list[dict[str, Any]] = []
        for start in range(0, len(events), BATCH_SIZE):
            chunk = events[start : start + BATCH_SIZE]
            answer = await self._call("POST", "/v1/events:batch", json={"events": chunk})
            results.extend({**r, "index": start + r["index"]} for r in answer["results"])
        return results

    async def event_status(self, message_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/events/{message_id}")
        return result

    async def inbox(
        self,
        status: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        *,
        since: str | None = None,
        after_seq: int | None = None,
        wait: float | None = None,
    ) -> dict[str, Any]:
        """A page of the inbox. With `wait` (seconds, at most 30) an empty page is answered
        only when a delivery arrives or the wait ends; with `after_seq`, only deliveries whose
        `seq` is greater, in seq order (the way to catch up); with `since` (an ISO 8601 moment
        with its offset), only those made available after it."""
        wanted: dict[str, object] = {"status": status, "limit": limit, "cursor": cursor}
        wanted |= {"since": since}
        wanted |= {"after_seq": after_seq, "wait": wait}
        params = {k: v for k, v in wanted.items() if v is not None}
        read = self._http.timeout.read  # None: no read timeout at all
        timeout = None if read is None else read + (wait or 0.0)
        result: dict[str, Any] = await self._call(
            "GET", "/v1/inbox", params=params, timeout=timeout
        )
        return result

    async def fetch(self, delivery_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/inbox/{delivery_id}")
        return result

    async def acknowledge(self, delivery_id: str, ack: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", f"/v1/inbox/{delivery_id}/ack", json=ack)
        return result

    async def set_care_team(self, nhs_number: str, members: list[dict[str, Any]]) -> Any:
        return await self._call(
            "PUT", f"/v1/subjects/{nhs_number}/care-team", json={"members": members}
        )

    async def record_consent(self, nhs_number: str, record: dict[str, Any]) -> Any:
        return await self._call("POST", f"/v1/subjects/{nhs_number}/consents", json=record)

    async def create_agreement(self, agreement: dict[str, Any]) -> Any:
        return await self._call("POST", "/v1/agreements", json=agreement)

    async def audit_trail(self, message_id: str) -> Any:
        return await self._call("GET", f"/v1/audit/messages/{message_id}")

    async def timeframes(self) -> Any:
        return await self._call("GET", "/v1/timeframes")

    async def set_timeframes(self, policies: list[dict[str, Any]]) -> Any:
        """Replace the whole deadline policy (needs the `admin` scope)."""
        return await self._call("PUT", "/v1/timeframes", json={"policies": policies})

    async def escalations(self, status: str | None = None) -> dict[str, Any]:
        params = {"status": status} if status else {}
        result: dict[str, Any] = await self._call("GET", "/v1/escalations", params=params)
        return result

    async def acknowledge_escalation(self, escalation_id: str, ack: dict[str, Any]) -> Any:
        return await self._call("POST", f"/v1/escalations/{escalation_id}/ack", json=ack)
