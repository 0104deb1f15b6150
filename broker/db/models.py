"""The relational schema. The database is the system of record (README, How it works).

Clinical payloads, free text about the person and NHS numbers are stored only as sealed
(encrypted) bytes; routing and audit metadata stay in clear.
"""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from broker.db.types import BigId, JsonColumn, UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JsonColumn}


class Agency(Base):
    __tablename__ = "agencies"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Client(Base):
    __tablename__ = "clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    # None for a client that authenticates with a key or a certificate instead of a secret.
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    scopes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Raised when the secret or key is replaced; tokens carry it, so older ones stop working.
    credentials_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # client_secret (RFC 6749 client_secret_basic or _post), private_key_jwt (RFC 7523) or
    # tls_client_auth (RFC 8705).
    auth_method: Mapped[str] = mapped_column(
        String(32), default="client_secret", server_default="client_secret"
    )
    jwks: Mapped[dict[str, Any] | None]  # the registered public keys, {"keys": [...]}
    jwks_url: Mapped[str | None] = mapped_column(String(2000))
    # RFC 8705 §2.1.2: the subject DN its certificate must carry (RFC 4514 string form).
    tls_subject_dn: Mapped[str | None] = mapped_column(String(1000))


class ClientAssertionId(Base):
    """A private_key_jwt assertion's jti, kept until it expires so it is never accepted twice."""

    __tablename__ = "client_assertion_ids"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class AgencyRateLimits(Base):
    """An agency's own limits on its clients' calls; None: the broker's defaults."""

    __tablename__ = "agency_rate_limits"
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    publish: Mapped[str | None] = mapped_column(String(40))  # e.g. "1200/minute"
    read: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime]


class SignInAttempts(Base):
    """Failed sign-ins per username (known or not), and the lockouts they earned."""

    __tablename__ = "sign_in_attempts"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lockouts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]


class Subject(Base):
    __tablename__ = "subjects"
    # Keyed HMAC of the NHS number: the lookup key and the pseudonym used on Kafka and in logs.
    pseudonym: Mapped[str] = mapped_column(String(64), primary_key=True)
    nhs_number_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class CareTeamMember(Base):
    __tablename__ = "care_team_members"
    subject_pseudonym: Mapped[str] = mapped_column(
        ForeignKey("subjects.pseudonym"), primary_key=True
    )
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(200))
    named_lead: Mapped[str] = mapped_column(String(200))
    coordinator: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime]


class Agreement(Base):
    __tablename__ = "agreements"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    created_by_agency: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
    created_at: Mapped[datetime]


class AgreementVersion(Base):
    """One version of an agreement's terms; a new version needs fresh approval by every party."""

    __tablename__ = "agreement_versions"
    agreement_id: Mapped[UUID] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    terms: Mapped[dict[str, Any]]
    effective_from: Mapped[datetime]
    effective_to: Mapped[datetime | None]
    review_date: Mapped[date | None] = mapped_column(Date)
    retention_days: Mapped[int | None]
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(Text)


class AgreementParty(Base):
    __tablename__ = "agreement_parties"
    __table_args__ = (
        ForeignKeyConstraint(
            ["agreement_id", "version"],
            ["agreement_versions.agreement_id", "agreement_versions.version"],
        ),
    )
    agreement_id: Mapped[UUID] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_code: Mapped[str] = mapped_column(
        ForeignKey("agencies.code"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(32))
    approved_at: Mapped[datetime | None]
    approved_by_client: Mapped[str | None] = mapped_column(String(64))
    # The person who signed off for the party: {name, role}.
    approved_by: Mapped[dict[str, Any] | None]


class ConsentRecord(Base):
    __tablename__ = "consent_records"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    subject_pseudonym: Mapped[str] = mapped_column(ForeignKey("subjects.pseudonym"), index=True)
    state: Mapped[str] = mapped_column(String(40))
    scope: Mapped[dict[str, Any]]
    recorded_by: Mapped[dict[str, Any]]
    evidence_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    valid_from: Mapped[datetime | None]
    valid_to: Mapped[datetime | None]
    recorded_at: Mapped[datetime]
    recording_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    recording_client: Mapped[str] = mapped_column(String(64))
    # Ids of other agencies' refusals this record sets aside, named by whoever recorded it.
    supersedes: Mapped[list[str] | None] = mapped_column(JsonColumn)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("sender_agency", "sender_event_id"),)
    id: Mapped[UUID] = mapped_column(primary_key=True)
    sender_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    sender_client: Mapped[str] = mapped_column(String(64))
    sender_event_id: Mapped[UUID]
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    subject_pseudonym: Mapped[str] = mapped_column(ForeignKey("subjects.pseudonym"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(16))
    override_reason: Mapped[str | None] = mapped_column(String(40))
    explicit_recipients: Mapped[list[str] | None] = mapped_column(JsonColumn)
    # payload, reason for sharing, local id and override justification, sealed together.
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    body_digest: Mapped[str] = mapped_column(String(100))
    payload_digest: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    routed_at: Mapped[datetime | None]
    # urgent or routine (broker.pipeline.lanes): which topics, groups and order it travels in.
    lane: Mapped[str] = mapped_column(String(8), default="routine", server_default="routine")
    # The relay's sweep (broker.pipeline.recovery): how often it has announced this again,
    # and not before when it may next (each time twice as long after).
    times_announced_again: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    announce_again_after: Mapped[datetime | None]


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # A recipient's first decision on a message; replays add more, each replaying one.
        Index(
            "ux_deliveries_first_decision",
            "message_id",
            "recipient_agency",
            unique=True,
            postgresql_where=text("replay_of IS NULL"),
            sqlite_where=text("replay_of IS NULL"),
        ),
        Index("ux_deliveries_replay_of", "replay_of", unique=True),
        Index("ix_deliveries_inbox", "recipient_agency", "status", "created_at"),
        # The inbox lists urgent deliveries first, then the newest.
        Index("ix_deliveries_inbox_lane", "recipient_agency", "lane", "created_at"),
        # The deadline monitor's two scans and its escalation queue.
        Index("ix_deliveries_deliver_by", "status", "deliver_by"),
        Index("ix_deliveries_ack_by", "status", "ack_by"),
        Index("ix_deliveries_next_escalation_at", "next_escalation_at"),
        # `GET /v1/inbox?after_seq=`; unique, so a seq is never given twice.
        Index("ux_deliveries_recipient_seq", "recipient_agency", "seq", unique=True),
    )
    id: Mapped[UUID] = mapped_column(primary_key=True)
    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id"), index=True)
    recipient_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    status: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str] = mapped_column(String(20))
    decision_detail: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    deliver_by: Mapped[datetime | None]
    ack_by: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    # The delivery this one replays (POST /v1/events/{id}/replay): decided afresh, sent again.
    replay_of: Mapped[UUID | None] = mapped_column(ForeignKey("deliveries.id"))
    # The recipient's sequence number, from 1 with no gaps, given when made available.
    seq: Mapped[int | None] = mapped_column(BigId)
    received_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    ack_outcome: Mapped[str | None] = mapped_column(String(16))
    ack_reason_code: Mapped[str | None] = mapped_column(String(40))
    acknowledged_by: Mapped[dict[str, Any] | None]
    ack_note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The timeframe the deadlines came from: {deliver_within, ack_within, escalation,
    # escalation_interval, policy: {event_type, urgency, risk_level}, tightened_by: [...]}.
    # Kept with the delivery so a later policy change never moves a deadline already set.
    timeframe: Mapped[dict[str, Any] | None]
    crisis_plan_id: Mapped[UUID | None] = mapped_column(ForeignKey("crisis_plans.id"))
    # Set once, by whichever deadline monitor detected the breach first (compare-and-set).
    delivery_breached_at: Mapped[datetime | None]
    ack_breached_at: Mapped[datetime | None]
    # How many steps of the escalation route have run, and when the next one is due.
    escalation_step: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_escalation_at: Mapped[datetime | None]
    # Its message's lane ("urgent" sorts after "routine", so descending puts urgent first).
    lane: Mapped[str] = mapped_column(String(8), default="routine", server_default="routine")
    # The relay's sweep (broker.pipeline.recovery): how often it has announced this again,
    # and not before when it may next (each time twice as long after).
    times_announced_again: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    announce_again_after: Mapped[datetime | None]


class OutboxEntry(Base):
    """Records to publish to Kafka, written in the same transaction as the state they announce."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Each lane's relay reads its unpublished entries in order, and only those.
        Index(
            "ix_outbox_unpublished",
            "lane",
            "id",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    lane: Mapped[str] = mapped_column(String(8), default="routine", server_default="routine")


class AuditRecord(Base):
    """Append-only: the application has no update or delete path for this table."""

    __tablename__ = "audit_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[UUID | None] = mapped_column(index=True)
    delivery_id: Mapped[UUID | None] = mapped_column(index=True)
    actor_agency: Mapped[str | None] = mapped_column(String(16), index=True)
    actor_client: Mapped[str | None] = mapped_column(String(64))
    subject_pseudonym: Mapped[str | None] = mapped_column(String(64), index=True)
    payload_digest: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]]


class Override(Base):
    """A permit_override decision awaiting, or having had, review by IG leads
    (docs/governance.md)."""

    __tablename__ = "overrides"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("deliveries.id"), unique=True)
    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id"), index=True)
    sender_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    recipient_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    authorised_by: Mapped[str] = mapped_column(String(200))
    # The justification may describe the person, so it is sealed like the rest of the content.
    justification_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    agreement_id: Mapped[UUID | None]
    agreement_version: Mapped[int | None]
    bases: Mapped[list[str]] = mapped_column(JsonColumn)
    status: Mapped[str] = mapped_column(String(16), index=True)
    opened_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(16))
    review_note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    reviewed_by: Mapped[dict[str, Any] | None]
    reviewed_at: Mapped[datetime | None]


class User(Base):
    """A person who signs in to the web pages; machine clients are in `clients`."""

    __tablename__ = "users"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser; only a hash of the cookie's token is stored."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TimeframePolicy(Base):
    """One row of the timeframe policy table (docs/timeframes.md); the whole table is replaced
    at once."""

    __tablename__ = "timeframe_policies"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(64))  # or "*"
    urgency: Mapped[str] = mapped_column(String(16))  # or "*"
    risk_level: Mapped[str | None] = mapped_column(String(16))
    deliver_within_seconds: Mapped[float]
    ack_within_seconds: Mapped[float]
    escalation: Mapped[list[str]] = mapped_column(JsonColumn)
    escalation_interval_seconds: Mapped[float | None]
    updated_at: Mapped[datetime]


class DutyTeam(Base):
    """Who an agency's escalations go to out of hours and in hours."""

    __tablename__ = "duty_teams"
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime]


class DeliveryChannel(Base):
    """How IMB pushes an agency's deliveries to its record system, beside its inbox. No row
    means the inbox only."""

    __tablename__ = "delivery_channels"
    __table_args__ = (Index("ix_delivery_channels_duty_notice", "duty_notice_due_at"),)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2000))
    public_key: Mapped[str | None] = mapped_column(String(100))
    # What a push's CloudEvent carries: "imb" (IMB's JSON) or a registered delivery format.
    format: Mapped[str] = mapped_column(String(16), default="imb", server_default="imb")
    # The webhook signing secret, sealed at rest; after a rotation the old one signs too until
    # `previous_secret_until`.
    secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_until: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None]
    # The agency's duty team is told when IMB turns the channel off: due from then, moved on
    # while a notifier sends it and after each failure, cleared once told (or given up).
    duty_notice_due_at: Mapped[datetime | None]
    duty_notice_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime]


class AgencySequence(Base):
    """The last `seq` given to a delivery made available to the agency: each delivery gets the
    next, in the transaction that makes it available, so an agency's seqs have no gaps."""

    __tablename__ = "agency_sequences"
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigId)


class WebhookPush(Base):
    """A delivery to push to its recipient's webhook (until the receiver answers 2xx) or to
    produce to its own Kafka topic (until the broker takes it), or until the retries run out
    (then it is dead-lettered)."""

    __tablename__ = "webhook_pushes"
    # The pusher's claim looks only at pending pushes that are due.
    __table_args__ = (Index("ix_webhook_pushes_due", "state", "next_attempt_at"),)
    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    # The channel it goes by, fixed when queued: "webhook" or "kafka".
    channel: Mapped[str] = mapped_column(String(16), default="webhook", server_default="webhook")
    # pending, received (webhook), produced (kafka), dead_lettered, withdrawn
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    # When the next attempt is due; a claimed push is leased by moving it forward.
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]


class WebhookAttempt(Base):
    """One POST of a push: how the receiver answered, never what was sent."""

    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    attempt: Mapped[int]
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(200))
    latency_ms: Mapped[float]


class Escalation(Base):
    """One step of a breached delivery's escalation route, for one agency's duty team."""

    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("delivery_id", "step"),
        Index("ix_escalations_queue", "agency_code", "status", "opened_at"),
    )
    id: Mapped[UUID] = mapped_column(primary_key=True)
    # A short reference safe to read out on the phone and to put in an e-mail subject.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    message_id: Mapped[UUID] = mapped_column(ForeignKey("messages.id"))
    step: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(16))  # duty_team | coordinator
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    breach: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    closed_by: Mapped[dict[str, Any] | None]
    close_note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    notified_at: Mapped[datetime | None] = mapped_column(index=True)
    notify_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    notify_error: Mapped[str | None] = mapped_column(String(500))
    # No notice attempt before this: a notifier's claim while it sends, then the backoff
    # after a failure. It is what stops a second notifier sending the same notice.
    next_notify_at: Mapped[datetime | None]
    # Channels ("email", "webhook") that took the notice, so a retry resends only the others.
    notified_via: Mapped[list[str] | None] = mapped_column(JsonColumn)


class CrisisPlan(Base):
    """A subject's multi-agency crisis plan; active once every partner agency confirmed it."""

    __tablename__ = "crisis_plans"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    subject_pseudonym: Mapped[str] = mapped_column(ForeignKey("subjects.pseudonym"), index=True)
    lead_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    status: Mapped[str] = mapped_column(String(16))
    # Triggers, escalation routes and communication plan describe the person: sealed.
    content_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    ack_within_seconds: Mapped[float | None]
    created_at: Mapped[datetime]
    created_by_agency: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    created_by_client: Mapped[str] = mapped_column(String(64))
    activated_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class CrisisPlanPartner(Base):
    __tablename__ = "crisis_plan_partners"
    plan_id: Mapped[UUID] = mapped_column(ForeignKey("crisis_plans.id"), primary_key=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    role: Mapped[str] = mapped_column(String(200))
    ack_within_seconds: Mapped[float | None]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[dict[str, Any] | None]
    confirmed_by_client: Mapped[str | None] = mapped_column(String(64))


class AuditChainLink(Base):
    """Insert-only: links each audit record into a hash chain after it was committed."""

    __tablename__ = "audit_chain"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    record_id: Mapped[int] = mapped_column(BigId, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row (id 1) holding the chain's end; locked by the one chainer at work."""

    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigId)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """The chain's head at a moment, signed with the broker's audit-signing key."""

    __tablename__ = "audit_checkpoints"
    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
