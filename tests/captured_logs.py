"""The process's log written into a string as JSON lines, as an operator's collector reads it,
for tests that check what a line says and what it leaves out."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from broker.logs import SILENCED, configure_logging
from broker.settings import LogSettings


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Every logger of the process routed to the returned stream until the block ends, then
    the logging that was there before put back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    out = io.StringIO()
    configure_logging(LogSettings(format="json"), stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name in SILENCED:
            logging.getLogger(name).disabled = False
        structlog.reset_defaults()


def log_lines(out: io.StringIO, event: str) -> list[dict[str, Any]]:
    """The lines whose event is `event`, each as its JSON object."""
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return [line for line in lines if line.get("event") == event]
