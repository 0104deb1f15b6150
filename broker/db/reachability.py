"""A database that cannot be reached says so by its own error type.

asyncpg raises a bare ConnectionRefusedError, OSError or TimeoutError when a connection cannot
be made, and SQLAlchemy passes it on unwrapped: by then nothing tells it from any other failed
socket. Naming it at the one place every connection is made lets the API answer 503 and a
worker's log say "database unreachable".
"""

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class DatabaseUnreachable(ConnectionError):
    """No connection to the database could be made (refused, reset, timed out, no route)."""


def name_connection_failures(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as exc:  # ConnectionError, TimeoutError and socket.gaierror among them
            raise DatabaseUnreachable(str(exc) or type(exc).__name__) from exc
