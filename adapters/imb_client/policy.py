"""What both clients share: the OAuth2 token, when to retry, and the errors. No I/O here."""

import email.utils
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.imb_client.calls import Call

# Statuses that say the broker did not (or may not have) processed the request.
NOT_PROCESSED = {429}  # refused before any work: always safe to send again
UNAVAILABLE = {502, 503, 504}  # safe to send again only if the call is idempotent
RENEW_EARLY_SECONDS = 60  # a token is renewed this long before it expires, never in flight


class ImbError(Exception):
    """The broker refused a call: its status and problem details (RFC 9457)."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


def error_of(response: httpx.Response) -> ImbError:
    try:
        problem = response.json()
    except ValueError:  # a proxy's HTML page, say
        problem = {"title": response.reason_phrase, "detail": response.text[:200]}
    return ImbError(response.status_code, problem if isinstance(problem, dict) else {})


@dataclass
class Token:
    value: str | None = None
    expires: float = 0.0  # time.monotonic()

    def stale(self) -> bool:
        return self.value is None or time.monotonic() > self.expires - RENEW_EARLY_SECONDS

    def take(self, answer: dict[str, Any]) -> None:
        self.value = str(answer["access_token"])
        self.expires = time.monotonic() + float(answer["expires_in"])

    def forget(self) -> None:
        self.value = None

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"}


def token_form(scope: str | None) -> dict[str, str]:
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    return form


@dataclass(frozen=True)
class Retries:
    """How a failed call is sent again: capped exponential backoff with jitter, or as long as
    the broker's `Retry-After` asks, at most `attempts` times more."""

    attempts: int = 5
    first_seconds: float = 0.5
    longest_seconds: float = 30.0
    # A Retry-After longer than this is not waited out: the call fails and says so.
    longest_asked_seconds: float = 300.0

    def delay(self, retried: int, call: Call[Any], response: httpx.Response | None) -> float | None:
        """Seconds to wait before sending `call` again, or None to give up. `response` None:
        the exchange failed without an answer (the outcome is unknown)."""
        if retried >= self.attempts:
            return None
        status = response.status_code if response is not None else None
        if status not in NOT_PROCESSED and not (
            call.idempotent and (status is None or status in UNAVAILABLE)
        ):
            return None
        asked = retry_after(response.headers.get("retry-after")) if response is not None else None
        if asked is not None:
            return asked if asked <= self.longest_asked_seconds else None
        ceiling = min(self.longest_seconds, self.first_seconds * 2.0**retried)
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)


DEFAULT_RETRIES = Retries()


def retry_after(header: str | None) -> float | None:
    """`Retry-After` in seconds: given as seconds or as an HTTP date."""
    if not header:
        return None
    if header.strip().isdigit():
        return float(header)
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


class Attempts:
    """One call's attempts, without I/O: each client sends, and asks this what follows from
    the answer (or from an exchange that failed without one)."""

    def __init__(self, call: Call[Any], retries: Retries, token: Token) -> None:
        self.call = call
        self._retries = retries
        self._token = token
        self._retried = 0
        self._renewed = False

    def request(self, headers: dict[str, str], http: httpx.Timeout) -> dict[str, Any]:
        """The arguments of `httpx` `request` for the next attempt."""
        call = self.call
        timeout = timeout_for(call, http.read) or http
        return {"method": call.method, "url": call.path, "headers": headers, "timeout": timeout} | (
            request_options(call)
        )

    def wait_after(self, response: httpx.Response | None) -> float | None:
        """Seconds to wait before the next attempt (0: at once, with a fresh token), or None
        when this answer stands: `outcome` then gives it, or the exchange's error is raised."""
        if response is not None and response.status_code == 401 and not self._renewed:
            self._renewed = True  # revoked or expired early: one fresh token, then give up
            self._token.forget()
            return 0.0
        if response is not None and response.is_success:
            return None
        delay = self._retries.delay(self._retried, self.call, response)
        if delay is not None:
            self._retried += 1
        return delay

    def outcome(self, response: httpx.Response) -> Any:
        """The parsed answer, or the broker's refusal raised as ImbError."""
        if not response.is_success:
            raise error_of(response)
        return answer_of(self.call, response)


def timeout_for(call: Call[Any], read: float | None) -> httpx.Timeout | None:
    """A waiting read is answered only after its wait: the read timeout stretches by it."""
    if not call.holds_for or read is None:
        return None
    return httpx.Timeout(read + call.holds_for)


def request_options(call: Call[Any]) -> dict[str, Any]:
    options: dict[str, Any] = {"params": call.params or None}
    if call.body is not None:
        options["json"] = call.body
    return options


def answer_of(call: Call[Any], response: httpx.Response) -> Any:
    return call.parse(response.text if call.text else response.json())
