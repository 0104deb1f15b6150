"""Upgrading a database in use: to the policy by risk level (a table still at the first defaults
gets the new ones and a trail in use is told; an administrator's own table is left alone);
to lanes (what is already held is put in its lane, so the inbox lists it urgent first); and
to channel formats (a channel set before them goes on pushing IMB's JSON)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.engine import make_url

from broker.db.engine import create_engine, is_sqlite
from broker.db.migrate import migrate_to
from broker.timeframes.policy import DEFAULT_POLICIES

BEFORE = "0005"
FIRST_TABLE_SIZE = 8


@pytest.fixture
async def empty_database(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own with no schema yet, on the backend of the run."""
    if is_sqlite(database_url):
        yield f"sqlite+aiosqlite:///{tmp_path / 'upgrade.db'}"
        return
    name = f"imb_upgrade_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def _execute(url: str, sql: str, **params: object) -> None:
    # Ids bound as the Uuid type, which each backend stores its own way.
    statement = text(sql).bindparams(
        *(bindparam(name, type_=Uuid()) for name, v in params.items() if isinstance(v, uuid.UUID))
    )
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(statement, params)
    finally:
        await engine.dispose()


def _defaults() -> list[tuple[object, ...]]:
    return sorted(
        (p.event_type, p.urgency, p.risk_level or "", p.timeframe.ack_within.total_seconds())
        for p in DEFAULT_POLICIES
    )


async def _table(url: str) -> list[tuple[object, ...]]:
    rows = await _rows(
        url,
        "SELECT event_type, urgency, risk_level, ack_within_seconds FROM timeframe_policies",
    )
    return sorted((e, u, r or "", float(a)) for e, u, r, a in rows)  # type: ignore[arg-type]


async def test_a_new_installation_starts_with_the_policy_by_risk(empty_database: str) -> None:
    await migrate_to(empty_database, "head")

    assert await _table(empty_database) == _defaults()
    assert await _rows(empty_database, "SELECT event FROM audit_records") == []


async def test_an_installation_in_use_at_the_first_defaults_is_upgraded_and_told(
    empty_database: str,
) -> None:
    await migrate_to(empty_database, BEFORE)
    assert len(await _table(empty_database)) == FIRST_TABLE_SIZE
    await _execute(
        empty_database,
        "INSERT INTO audit_records (recorded_at, event, detail) "
        "VALUES (:at, 'agency.registered', '{}')",
        at=datetime.now(UTC),
    )

    await migrate_to(empty_database, "head")

    assert await _table(empty_database) == _defaults()
    told = await _rows(
        empty_database,
        "SELECT actor_client FROM audit_records WHERE event = 'timeframes.replaced'",
    )
    assert told == [("migration:0006",)]
    await migrate_to(empty_database, BEFORE, down=True)
    assert len(await _table(empty_database)) == FIRST_TABLE_SIZE


async def test_an_administrators_own_table_is_left_as_it_was(empty_database: str) -> None:
    await migrate_to(empty_database, BEFORE)
    await _execute(
        empty_database,
        "UPDATE timeframe_policies SET ack_within_seconds = 1800 "
        "WHERE event_type = 'engagement.disengaged'",
    )
    edited = await _table(empty_database)

    await migrate_to(empty_database, "head")

    assert await _table(empty_database) == edited
    assert len(edited) == FIRST_TABLE_SIZE


async def test_messages_and_deliveries_already_held_are_put_in_their_lanes(
    empty_database: str,
) -> None:
    await migrate_to(empty_database, "0006")
    now = datetime.now(UTC)
    for code in ("RX4", "LA001"):
        await _execute(
            empty_database,
            "INSERT INTO agencies (code, name, kind, created_at) VALUES (:c, :c, 'other', :at)",
            c=code,
            at=now,
        )
    await _execute(
        empty_database,
        "INSERT INTO subjects (pseudonym, nhs_number_sealed, created_at) VALUES ('p', :s, :at)",
        s=b"sealed",
        at=now,
    )
    held = {
        "routine risk": ("risk.changed", "routine"),
        "urgent risk": ("risk.changed", "urgent"),
        "emergency disengagement": ("engagement.disengaged", "emergency"),
        "routine crisis": ("crisis.occurred", "routine"),
    }
    ids = {name: uuid.uuid4() for name in held}
    for name, (event_type, urgency) in held.items():
        await _insert_message_and_delivery(empty_database, ids[name], event_type, urgency, now)

    await migrate_to(empty_database, "head")

    expected = {
        "routine risk": "routine",
        "urgent risk": "urgent",
        "emergency disengagement": "urgent",
        "routine crisis": "urgent",
    }
    names = {i.hex: name for name, i in ids.items()}
    messages = await _rows(empty_database, "SELECT id, lane FROM messages")
    deliveries = await _rows(empty_database, "SELECT message_id, lane FROM deliveries")
    assert {names[uuid.UUID(str(m)).hex]: lane for m, lane in messages} == expected
    assert {names[uuid.UUID(str(m)).hex]: lane for m, lane in deliveries} == expected


async def _insert_message_and_delivery(
    url: str, message_id: uuid.UUID, event_type: str, urgency: str, at: datetime
) -> None:
    await _execute(
        url,
        "INSERT INTO messages (id, sender_agency, sender_client, sender_event_id, type, "
        "occurred_at, received_at, subject_pseudonym, purpose, urgency, content_sealed, "
        "body_digest, payload_digest, status) VALUES (:id, 'RX4', 'c', :event, :type, :at, :at, "
        "'p', 'direct_care', :urgency, :sealed, 'd', 'd', 'routed')",
        id=message_id,
        event=uuid.uuid4(),
        type=event_type,
        urgency=urgency,
        sealed=b"sealed",
        at=at,
    )
    await _execute(
        url,
        "INSERT INTO deliveries (id, message_id, recipient_agency, status, decision, "
        "decision_detail, created_at) VALUES (:id, :message, 'LA001', 'delivered', 'permit', "
        "'{}', :at)",
        id=uuid.uuid4(),
        message=message_id,
        at=at,
    )


async def test_a_channel_set_before_formats_goes_on_pushing_imb_json(empty_database: str) -> None:
    await migrate_to(empty_database, "0010")
    now = datetime.now(UTC)
    await _execute(
        empty_database,
        "INSERT INTO agencies (code, name, kind, created_at) VALUES ('LA001', 'c', 'other', :at)",
        at=now,
    )
    await _execute(
        empty_database,
        "INSERT INTO delivery_channels (agency_code, kind, url, enabled, updated_at) "
        "VALUES ('LA001', 'webhook', 'https://epr.council.example/imb', true, :at)",
        at=now,
    )

    await migrate_to(empty_database, "head")

    assert await _rows(empty_database, "SELECT format FROM delivery_channels") == [("imb",)]
