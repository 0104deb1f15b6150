"""Everything a request handler or worker needs, built once per process from the settings."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from broker.auth.remote_keys import RemoteKeySets
from broker.auth.revocation import ClientStatus
from broker.auth.tokens import TokenService
from broker.clock import Clock, utc_now
from broker.crypto.keys import KeyMaterial, ensure_key_material
from broker.crypto.pseudonym import Pseudonymiser
from broker.db.engine import Database
from broker.deliveries.arrivals import Arrivals
from broker.metrics import Metrics
from broker.pipeline.lanes import UrgentFirst, Wakeups
from broker.ratelimits.agencies import AgencyLimits
from broker.ratelimits.limiter import Limiter, storage_for
from broker.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    keys: KeyMaterial
    tokens: TokenService
    pseudonymiser: Pseudonymiser
    metrics: Metrics
    # Calls counted against rate limits (in memory, or in Redis for every process together),
    # and each agency's own limits, re-read at most every ten seconds.
    limiter: Limiter
    agency_limits: AgencyLimits
    clock: Clock = utc_now
    # Set after a commit that wrote to a lane's outbox, so an in-process relay publishes at once.
    wakeups: Wakeups = field(default_factory=Wakeups)
    # Urgent database work first: routine batches in this process wait their turn.
    urgent_first: UrgentFirst = field(default_factory=UrgentFirst)
    # Inbox readers waiting for a delivery (`GET /v1/inbox?wait=`), told when one arrives.
    arrivals: Arrivals = field(default_factory=Arrivals)
    # Answers whether Kafka is reachable; None where this process does not use Kafka.
    kafka_ready: Callable[[], Awaitable[bool]] | None = None
    # Subjects and agencies are never deleted, so once seen they need no second look-up.
    known_subjects: set[str] = field(default_factory=set)
    known_agencies: set[str] = field(default_factory=set)
    # Each token's client re-read at most once a second: revocation bites on every process.
    client_status: ClientStatus = field(default_factory=ClientStatus)
    # Key sets that private_key_jwt clients publish at their jwks_uri, fetched when needed.
    remote_keys: RemoteKeySets = field(default_factory=RemoteKeySets)
    # Whether /metrics answers only a `metrics:read` token; `imb serve` decides by its address.
    metrics_need_token: bool = True

    async def close(self) -> None:
        await self.db.dispose()


def build_runtime(settings: Settings, clock: Clock = utc_now) -> Runtime:
    keys = ensure_key_material(settings.resolved_keys_dir)
    tokens = TokenService(
        keys.token_signing_key,
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        lifetime=timedelta(seconds=settings.auth.token_lifetime_seconds),
        clock=clock,
    )
    metrics = Metrics()
    return Runtime(
        settings=settings,
        db=Database(settings.resolved_database_url),
        keys=keys,
        tokens=tokens,
        pseudonymiser=Pseudonymiser(keys.pseudonym_key),
        metrics=metrics,
        clock=clock,
        limiter=Limiter(storage_for(settings.rate_limit.storage_url), metrics),
        agency_limits=AgencyLimits(settings.rate_limit),
        arrivals=Arrivals(settings.inbox.waiting_per_agency),
    )
