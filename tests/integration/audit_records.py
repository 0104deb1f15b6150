"""Writing and chaining audit records directly, for the audit chain tests."""

from datetime import timedelta
from uuid import uuid4

from sqlalchemy import text

from broker.audit.log import BROKER, AuditEvent, append
from broker.audit.worker import chain_pending
from broker.db.engine import is_sqlite
from broker.db.models import AuditRecord
from broker.runtime import Runtime


async def write_records(rt: Runtime, count: int) -> None:
    async with rt.db.unit_of_work() as session:
        for n in range(count):
            append(
                session,
                AuditEvent.EVENT_RECEIVED,
                BROKER,
                rt.clock() + timedelta(microseconds=n),
                message_id=uuid4(),
                subject="pseudonym-" + str(n),
                detail={"n": n, "nested": {"b": 1, "a": [1.5, None]}},
            )
        await session.commit()


async def write_record_numbered(rt: Runtime, record_id: int) -> None:
    """One record with the id given, as if its transaction took that id and committed late."""
    async with rt.db.unit_of_work() as session:
        append(session, AuditEvent.EVENT_RECEIVED, BROKER, rt.clock(), detail={"late": True})
        (record,) = session.new
        assert isinstance(record, AuditRecord)
        record.id = record_id
        await session.commit()


async def chained(rt: Runtime, count: int) -> None:
    await write_records(rt, count)
    await chain_pending(rt)


async def tamper(rt: Runtime, *statements: str) -> None:
    """SQL straight on the tables, as an attacker with superuser would (triggers off)."""
    async with rt.db.engine.begin() as connection:
        if not is_sqlite(rt.settings.resolved_database_url):
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
        for statement in statements:
            await connection.execute(text(statement))


async def record_of(rt: Runtime, seq: int) -> int:
    async with rt.db.engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT record_id FROM audit_chain WHERE seq = :seq"), {"seq": seq}
        )
    assert isinstance(found, int)
    return found
