"""Key sets that clients publish at an address of their own (RFC 7591 `jwks_uri`).

A client that publishes its keys can roll them without asking the partnership's operators:
IMB fetches the set when it first needs it and keeps it for `ttl` seconds, and fetches it again
sooner when an assertion names a key it has not seen (at most once every `refetch_seconds`, so
a stream of bogus key ids cannot make IMB hammer the client's server).
"""

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.jwk import KeySet

from broker.auth.keys import public_key_set_problems, public_keys

MAX_BYTES = 64 * 1024


class KeySetUnavailable(Exception):
    """The set could not be fetched or is not a usable set of public keys."""


@dataclass(frozen=True)
class _Fetched:
    at: float
    keys: KeySet
    kids: frozenset[str]


class RemoteKeySets:
    def __init__(
        self,
        ttl: float = 300.0,
        refetch_seconds: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl, self._refetch, self._timeout, self._clock = ttl, refetch_seconds, timeout, clock
        self._fetched: dict[str, _Fetched] = {}
        self._looked_again: dict[str, float] = {}
        self._failed: dict[str, tuple[float, KeySetUnavailable]] = {}

    async def key_set(self, url: str, kid: str | None) -> KeySet:
        now = self._clock()
        cached = self._fetched.get(url)
        if cached is not None and self._will_do(cached, kid, url, now):
            return cached.keys
        failed = self._failed.get(url)
        if failed is not None and now - failed[0] < self._refetch:
            raise failed[1]  # a server that just failed is not asked again at once
        try:
            fetched = await self._fetch(url, now)
        except KeySetUnavailable as exc:
            self._failed[url] = (now, exc)
            raise
        self._failed.pop(url, None)
        self._fetched[url] = fetched
        return fetched.keys

    def _will_do(self, cached: _Fetched, kid: str | None, url: str, now: float) -> bool:
        if now - cached.at >= self._ttl:
            return False
        return kid is None or kid in cached.kids or not self._may_look_again(url, now)

    def _may_look_again(self, url: str, now: float) -> bool:
        """For a key id not seen: at most once every `refetch_seconds` per address."""
        last = self._looked_again.get(url)
        if last is not None and now - last < self._refetch:
            return False
        self._looked_again[url] = now
        return True

    async def _fetch(self, url: str, now: float) -> _Fetched:
        document = await _download(url, self._timeout)
        problems = public_key_set_problems(document)
        if problems or not document.get("keys"):
            raise KeySetUnavailable("the published key set holds no usable public key")
        kids = frozenset(str(k["kid"]) for k in document["keys"] if k.get("kid"))
        return _Fetched(at=now, keys=public_keys(document), kids=kids)


async def _download(url: str, seconds: float) -> dict[str, Any]:
    """The document at `url`: within `seconds` in all, and read no further than MAX_BYTES."""
    try:
        async with asyncio.timeout(seconds), httpx.AsyncClient(follow_redirects=False) as http:
            body = await _capped_body(http, url)
    except (httpx.HTTPError, TimeoutError) as exc:
        raise KeySetUnavailable(f"the key set could not be fetched: {type(exc).__name__}") from exc
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise KeySetUnavailable("the key set is not JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetUnavailable("the key set is not a JSON Web Key Set")
    return document


async def _capped_body(http: httpx.AsyncClient, url: str) -> bytes:
    async with http.stream("GET", url, headers={"Accept": "application/json"}) as response:
        if response.status_code != 200:
            raise KeySetUnavailable(f"the key set address answered {response.status_code}")
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise KeySetUnavailable(f"the key set is larger than {MAX_BYTES} bytes")
        return body
