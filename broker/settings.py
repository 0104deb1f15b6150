"""All configuration, from the environment (prefix IMB_, nested sections joined by __)."""

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from broker.pipeline.lanes import URGENT_FIRST, Lane
from schemas.admin import Rate


class KafkaSettings(BaseModel):
    topic_prefix: str = ""
    partitions: int = Field(default=6, ge=1, le=1000)
    # Of the topics IMB creates itself: agencies' own topics as their channel first needs
    # them, and any pipeline topic still missing. 3 on a production cluster.
    replication_factor: int = Field(default=1, ge=1, le=10)
    # Of the same topics: how many replicas must hold a record before an acks=all produce
    # succeeds. 2 with replication 3 keeps writing through the loss of one broker and never
    # acknowledges a record that only one broker holds. Unset: the cluster's default.
    min_insync_replicas: int | None = Field(default=None, ge=1, le=10)
    router_group: str = "imb-router"
    dispatcher_group: str = "imb-dispatcher"
    # Some Kafka-protocol brokers hold a new group member for half the session timeout, so
    # tests and local runs may want it short; Apache Kafka's default of 10 s suits production.
    session_timeout_ms: int = Field(default=10000, ge=1000, le=300000)
    heartbeat_interval_ms: int = Field(default=3000, ge=100, le=60000)

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> "KafkaSettings":
        if self.min_insync_replicas is not None and (
            self.min_insync_replicas > self.replication_factor
        ):
            raise ValueError(
                f"min_insync_replicas ({self.min_insync_replicas}) exceeds replication_factor "
                f"({self.replication_factor}): Kafka would refuse every write"
            )
        return self

    def topic_configs(self) -> dict[str, str]:
        """The topic-level configuration of each topic IMB creates."""
        if self.min_insync_replicas is None:
            return {}
        return {"min.insync.replicas": str(self.min_insync_replicas)}

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    # Routine traffic keeps the topics and groups IMB has always used; urgent traffic has its
    # own, so that no urgent record is ever behind a routine one in a partition or a group.
    def agency_topic(self, agency: str) -> str:
        """A `kafka` channel's topic: the agency's own, its records sealed to it."""
        return self.topic(f"imb.agency.{agency}.v1")

    def events_topic(self, lane: Lane) -> str:
        return self.topic("imb.events.v1" if lane is Lane.ROUTINE else "imb.events.urgent.v1")

    def deliveries_topic(self, lane: Lane) -> str:
        return self.topic(
            "imb.deliveries.v1" if lane is Lane.ROUTINE else "imb.deliveries.urgent.v1"
        )

    def router_group_for(self, lane: Lane) -> str:
        return self.router_group if lane is Lane.ROUTINE else f"{self.router_group}-urgent"

    def dispatcher_group_for(self, lane: Lane) -> str:
        return self.dispatcher_group if lane is Lane.ROUTINE else f"{self.dispatcher_group}-urgent"

    def pipeline_topics(self) -> dict[str, int]:
        """Every topic the pipeline uses, with its partition count."""
        return {
            topic: self.partitions
            for lane in URGENT_FIRST
            for topic in (self.events_topic(lane), self.deliveries_topic(lane))
        }


class AuthSettings(BaseModel):
    issuer: str = "urn:imb:broker"
    audience: str = "urn:imb:api"
    token_lifetime_seconds: int = Field(default=900, ge=30, le=86400)
    # Client secrets are for development; production clients prove themselves with a private
    # key (private_key_jwt) or a certificate (tls_client_auth), and this turns secrets off.
    allow_client_secret: bool = True
    # The longest a private_key_jwt assertion may live (SMART Backend Services: five minutes).
    assertion_max_lifetime_seconds: int = Field(default=300, ge=10, le=3600)


class WorkerSettings(BaseModel):
    relay_batch_size: int = Field(default=500, ge=1, le=10000)
    relay_idle_seconds: float = Field(default=0.2, gt=0, le=60)
    consumer_batch_size: int = Field(default=500, ge=1, le=10000)
    # Routine records are applied this many per transaction, and urgent work in the same
    # process goes between two slices: the most an urgent transaction waits for is one slice.
    routine_slice_size: int = Field(default=100, ge=1, le=10000)
    # `imb worker` touches this file every few seconds while its event loop runs, so that an
    # orchestrator without an HTTP port to ask can see it is alive (deploy/k8s probes its age).
    heartbeat_file: Path | None = None
    # The relay announces again work still unfinished this long after it was published: a
    # Kafka broker lost its records (broker.pipeline.recovery). Stages are idempotent. What is
    # still unfinished after that waits twice as long before each next time, up to an hour
    # (or this, if longer).
    reannounce_after_seconds: float = Field(default=300.0, ge=1, le=86400)
    # A worker loop that has failed on every attempt for longer than this ends its process
    # (exit status 3) so that its orchestrator restarts it; 0 never gives up.
    stall_exit_seconds: float = Field(default=300.0, ge=0, le=7 * 86400)


class DeliverySettings(BaseModel):
    """Pushing deliveries to agencies' webhooks."""

    # A 2xx answer within this long is the transport receipt; anything else is retried.
    push_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Retries wait this long, doubling each time up to the cap, each with jitter.
    retry_first_seconds: float = Field(default=5.0, gt=0, le=3600)
    retry_max_seconds: float = Field(default=3600.0, gt=0, le=86400)
    # After this many attempts, or this long since the first, a push is dead-lettered.
    max_attempts: int = Field(default=20, ge=1, le=1000)
    give_up_after_seconds: float = Field(default=86400.0, gt=0, le=7 * 86400)
    # How often the pusher looks for retries that have come due.
    poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # Each agency with a webhook hears at least this often which seq it should have reached.
    heartbeat_seconds: float = Field(default=60.0, gt=0, le=3600)
    # The CloudEvents `source` of every pushed delivery.
    source: str = Field(default="urn:imb:broker", min_length=1, max_length=200)


class InboxSettings(BaseModel):
    # `GET /v1/inbox?wait=` waits at most this long whatever it asks for: below 30 s where a
    # proxy in front of IMB closes idle requests sooner.
    max_wait_seconds: float = Field(default=30.0, ge=0, le=30)
    # Requests of one agency waiting at once in one process; more are answered at once.
    waiting_per_agency: int = Field(default=100, ge=0, le=10000)


class DeadlineSettings(BaseModel):
    # A breach must be seen within 5 s of its deadline, so the monitor looks at least that often.
    poll_seconds: float = Field(default=1.0, gt=0, le=5)
    batch_size: int = Field(default=200, ge=1, le=10000)


class AuditSettings(BaseModel):
    checkpoint_records: int = Field(default=1000, ge=1, le=1_000_000)
    checkpoint_seconds: float = Field(default=60.0, gt=0, le=86400)
    retention_days: int = Field(default=2922, ge=1, le=36500)  # about 8 years
    poll_seconds: float = Field(default=1.0, gt=0, le=60)
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    # Each chainer pass looks this many ids below the highest chained for records that
    # committed late; a full sweep every `sweep_seconds` catches any later still.
    late_window: int = Field(default=10_000, ge=0, le=10_000_000)
    sweep_seconds: float = Field(default=300.0, gt=0, le=86400)
    # The chainer verifies the whole chain on this schedule and records it (audit.verified).
    verify_seconds: float = Field(default=86400.0, gt=0, le=31 * 86400)


class SmtpSettings(BaseModel):
    """Where escalation e-mails go out; with no host, escalations are not e-mailed."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    # "starttls" upgrades a plain connection (port 587); "tls" is TLS from the start (465);
    # "none" is for a relay on the same host only.
    security: str = Field(default="starttls", pattern="^(starttls|tls|none)$")
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = "imb-escalations@localhost"
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=5, ge=1, le=100)


class WebSettings(BaseModel):
    # Browsers send a Secure cookie only over HTTPS (and to localhost); turn it off only
    # for a plain-HTTP test server.
    cookie_secure: bool = True
    session_minutes: int = Field(default=480, ge=5, le=24 * 60)
    # The partnership's zone (an IANA name): the pages show every time in it, named.
    time_zone: str = "Europe/London"

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not a time zone IMB knows: {value!r} (e.g. Europe/London)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class RateLimitSettings(BaseModel):
    # Where the counts are kept: unset, each process counts alone in memory; a Redis URL
    # (redis://host:6379/0) shares them between every process of the broker.
    storage_url: str | None = None
    # The token endpoint, per client id and per source address; sign-in, per address.
    token_per_client: Rate = "30/minute"  # noqa: S105 (a rate, not a secret)
    token_per_address: Rate = "300/minute"  # noqa: S105
    sign_in_per_address: Rate = "60/minute"
    # Each client's calls, unless its agency has limits of its own (PUT .../rate-limits):
    # publishing events, and every other call.
    publish: Rate = "1200/minute"
    read: Rate = "6000/minute"
    # After this many failed sign-ins in a row, a username is locked out; each further lockout
    # doubles, up to the maximum, until a sign-in succeeds or a day passes without failure.
    sign_in_failures: int = Field(default=5, ge=1, le=100)
    lockout_seconds: int = Field(default=60, ge=1, le=86400)
    lockout_max_seconds: int = Field(default=3600, ge=1, le=7 * 86400)


class TlsSettings(BaseModel):
    # Behind a proxy that terminates TLS: the header in which it forwards the client's verified
    # certificate (URL-encoded PEM, e.g. nginx's $ssl_client_escaped_cert). Off unless named,
    # and believed only from a trusted proxy's own address (Settings.trusted_proxies).
    forwarded_cert_header: str | None = None


class MetricsSettings(BaseModel):
    # Whether /metrics needs a bearer token with `metrics:read`. Unset: only when `imb serve`
    # listens beyond loopback, where anyone on the network could otherwise read the counts.
    require_token: bool | None = None


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


LogLevel = Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(_upper)]


class LogSettings(BaseModel):
    # "console": one key=value line per event, for a terminal; "json": one JSON object per
    # line, for a log collector.
    format: Literal["console", "json"] = "console"
    level: LogLevel = "INFO"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMB_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("imb-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: SQLite under data_dir"
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers; default: an embedded broker"
    )
    keys_dir: Path | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 256 * 1024
    # POST /v1/events:batch carries up to 500 events of up to a few KiB each.
    max_batch_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    # A body must arrive whole within this: a slow or short one gets 408 and a closed connection.
    body_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    log: LogSettings = LogSettings()
    # The older name of log.level (IMB_LOG_LEVEL), still read when log.level is not given.
    log_level: LogLevel | None = None
    kafka: KafkaSettings = KafkaSettings()
    auth: AuthSettings = AuthSettings()
    workers: WorkerSettings = WorkerSettings()
    inbox: InboxSettings = InboxSettings()
    delivery: DeliverySettings = DeliverySettings()
    web: WebSettings = WebSettings()
    deadlines: DeadlineSettings = DeadlineSettings()
    smtp: SmtpSettings = SmtpSettings()
    audit: AuditSettings = AuditSettings()
    metrics: MetricsSettings = MetricsSettings()
    tls: TlsSettings = TlsSettings()
    # Reverse proxies and load balancers (addresses or networks) whose X-Forwarded-For,
    # X-Forwarded-Proto and forwarded client certificate IMB believes.
    trusted_proxies: list[str] = ["127.0.0.1/32", "::1/128"]
    rate_limit: RateLimitSettings = RateLimitSettings()

    @model_validator(mode="after")
    def _older_log_level(self) -> "Settings":
        if self.log_level is not None and "level" not in self.log.model_fields_set:
            self.log = self.log.model_copy(update={"level": self.log_level})
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'imb.db'}"

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def uses_embedded_kafka(self) -> bool:
        return not self.kafka_bootstrap_servers
