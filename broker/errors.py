"""The broker's errors. Each maps to one HTTP problem type in `broker.api.problems`.

BrokerError
├── InvalidInput        422  the request is well-formed JSON but breaks a rule
├── NotFound            404  absent, or belongs to another agency (never say which)
├── Conflict            409  idempotency clash, second acknowledgement
├── Unauthenticated     401  missing, bad or expired credentials
├── Forbidden           403  authenticated, but without the scope
├── RequestTimeout      408  the body did not arrive in time
├── PayloadTooLarge     413
├── TooManyRequests     429  over a rate limit, or locked out after failed sign-ins
└── ServiceUnavailable  503  the database cannot be reached now; try again after Retry-After
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    loc: tuple[str | int, ...]
    msg: str


@dataclass
class BrokerError(Exception):
    detail: str
    status = 500
    title = "Internal error"
    slug = "internal"

    def __str__(self) -> str:
        return self.detail


@dataclass
class InvalidInput(BrokerError):
    errors: Sequence[FieldError] = field(default_factory=tuple)
    status = 422
    title = "Unprocessable request"
    slug = "invalid-input"


@dataclass
class NotFound(BrokerError):
    status = 404
    title = "Not found"
    slug = "not-found"


@dataclass
class Conflict(BrokerError):
    status = 409
    title = "Conflict"
    slug = "conflict"


@dataclass
class Unauthenticated(BrokerError):
    status = 401
    title = "Unauthenticated"
    slug = "unauthenticated"


@dataclass
class Forbidden(BrokerError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


@dataclass
class NotAcceptable(BrokerError):
    status = 406
    title = "Not acceptable"
    slug = "not-acceptable"


@dataclass
class PayloadTooLarge(BrokerError):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


@dataclass
class RequestTimeout(BrokerError):
    status = 408
    title = "Request timeout"
    slug = "request-timeout"


@dataclass
class TooManyRequests(BrokerError):
    """Over a rate limit; `headers` carry Retry-After and the RateLimit fields."""

    headers: Mapping[str, str] = field(default_factory=dict)
    status = 429
    title = "Too many requests"
    slug = "too-many-requests"


@dataclass
class ServiceUnavailable(BrokerError):
    """A service IMB needs (its database) cannot be reached now; `headers` carry Retry-After.
    Nothing was written: the transaction never committed."""

    headers: Mapping[str, str] = field(default_factory=dict)
    status = 503
    title = "Service unavailable"
    slug = "unavailable"
