"""The broker's logs: one renderer for structlog and the standard library alike.

Every line, ours or a library's (uvicorn, aiokafka, alembic), goes through one handler on the
root logger, so that each looks the same: key=value for a terminal, or one JSON object per
line for a collector (`IMB_LOG__FORMAT=json`). What a line may carry is limited by the rule in
docs/security.md: identifiers, counts, codes and agency codes, never an NHS number, a payload,
a token or anything a caller typed.

State changes are logged once their transaction has committed (`after_commit`), so a change
that was rolled back is never reported as done.
"""

import logging
import sys
import traceback
from typing import Any, TextIO

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from structlog.typing import ExcInfo, Processor

from broker.settings import LogSettings

# Alembic narrates every schema check and aiokafka every group join at INFO, and aiosqlite
# logs each statement's parameters at DEBUG; what an operator needs from them is a warning or
# worse, and no log may carry a parameter. httpx logs every request's full URL at INFO, and a
# webhook's URL may carry the receiver's token.
QUIETED = ("alembic", "aiokafka", "aiosqlite", "httpx", "httpcore")
# IMB writes its own access line (broker.api.access_log), without the raw path.
SILENCED = ("uvicorn.access",)
# Loggers that uvicorn's own configuration (which any server in the process may apply) gives
# handlers of their own and cuts off from the root: put back under the one handler.
ROUTED_TO_ROOT = ("uvicorn", "uvicorn.error")
_PENDING = "imb_logs_after_commit"

Logger = structlog.stdlib.BoundLogger

# Added to every line, whether structlog or the standard library made it.
_SHARED: list[Processor] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def traceback_without_messages(exc_info: ExcInfo) -> str:
    """A traceback as frames and exception types only, each chained exception (and each one
    inside an exception group) included.

    An exception's message can quote what the broker was handling: a validation error quotes
    the value it refused, a library error the field it could not encode. Types and frames are
    enough to find the fault; the message stays out of every log line."""
    return "\n\nwhich followed:\n\n".join(_described(exc_info[1], set()))


def _described(first: BaseException | None, seen: set[int]) -> list[str]:
    parts = []
    exc = first
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        kind = type(exc)
        frames = "".join(traceback.format_tb(exc.__traceback__))
        parts.append(
            f"Traceback (most recent call last):\n{frames}"
            f"{kind.__module__}.{kind.__qualname__} (message withheld)"
        )
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                parts += [f"inside the group: {part}" for part in _described(inner, seen)]
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return parts


def _write_traceback_without_messages(out: TextIO, exc_info: ExcInfo) -> None:
    out.write("\n" + traceback_without_messages(exc_info))


def renderer(log_format: str, colors: bool = False) -> Processor:
    """The last step of every line: JSON, or key=value for a person at a terminal."""
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    # Not structlog's default, which shows each frame's local variables and the message:
    # either can hold anything the broker was handling.
    return structlog.dev.ConsoleRenderer(
        colors=colors, exception_formatter=_write_traceback_without_messages
    )


def formatter(log_format: str, colors: bool = False) -> logging.Formatter:
    exceptions: list[Processor] = (
        [structlog.processors.ExceptionRenderer(traceback_without_messages)]
        if log_format == "json"
        else []
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exceptions,
            renderer(log_format, colors),
        ],
    )


def configure_logging(settings: LogSettings, stream: TextIO | None = None) -> None:
    """Route every logger of the process to `stream` (standard error by default)."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(settings.format, colors=out.isatty()))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name in QUIETED:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in SILENCED:
        logging.getLogger(name).disabled = True
    for name in ROUTED_TO_ROOT:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Logger:
    logger: Logger = structlog.stdlib.get_logger(name)
    return logger


def after_commit(session: AsyncSession, logger: Logger, what: str, **fields: Any) -> None:
    """Log `what` once the session's transaction commits; never if it rolls back."""
    sync = session.sync_session
    pending: list[tuple[Logger, str, dict[str, Any]]] | None = sync.info.get(_PENDING)
    if pending is None:
        pending = sync.info[_PENDING] = []
        event.listen(sync, "after_commit", _emit_pending)
        event.listen(sync, "after_rollback", _drop_pending)
    pending.append((logger, what, fields))


def _emit_pending(session: Session) -> None:
    pending: list[tuple[Logger, str, dict[str, Any]]] = session.info.get(_PENDING, [])
    for logger, what, fields in pending:
        logger.info(what, **fields)
    pending.clear()


def _drop_pending(session: Session) -> None:
    session.info.get(_PENDING, []).clear()
