"""Alembic environment: runs the migrations on the connection `broker.db.migrate` passes in."""

from alembic import context
from sqlalchemy.engine import Connection

from broker.db.models import Base

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
