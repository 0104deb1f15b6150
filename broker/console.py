"""What the `imb` commands print: JSON for machines (`--json`), tables for people, and
progress on standard error.

A list in JSON is one object a line, so a script can stream it and a new field never breaks a
reader; a single record is one object, its instants RFC 3339 and its durations ISO 8601. Tables
are for reading only and may change: instants there read '2026-11-29 14:05:03 UTC' and
durations '2 h 5 min', as on the pages.
"""

import json
import sys
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from broker.timeframes.spoken import duration

Row = Mapping[str, Any]
# Piped into a file or a pager, a table is as wide as its rows, so that a long id stays whole
# on its line for grep; the table itself is no wider than it needs.
PIPED_WIDTH = 10_000
_ISO_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)


def _stdout() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    return console


def show_rows(
    rows: Sequence[Row],
    columns: Sequence[str],
    *,
    as_json: bool,
    instants: Collection[str] = (),
    durations: Collection[str] = (),
) -> None:
    """Every row: JSON lines, or a table of the named columns, those named in `instants` and
    `durations` (RFC 3339 and ISO 8601 in the row) in words."""
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table(box=None, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")  # an id cut short is no use to anyone
    for row in rows:
        table.add_row(
            *(_readable(column, row.get(column), instants, durations) for column in columns)
        )
    _stdout().print(table if rows else "(none)")


def show_record(
    record: Row,
    *,
    as_json: bool,
    instants: Collection[str] = (),
    durations: Collection[str] = (),
) -> None:
    """One record: a JSON object, or a field-and-value table with instants and durations as
    in `show_rows`."""
    if as_json:
        print(json.dumps(record))
        return
    table = Table("field", "value", box=None, header_style="bold")
    for field, value in record.items():
        table.add_row(field, _readable(field, value, instants, durations))
    _stdout().print(table)


def utc_instant(value: str | datetime) -> str:
    """'2026-11-29 14:05:03 UTC': the instant in UTC to the second, whichever zone it came in;
    SQLite gives stored instants back without one, and they were stored as UTC."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_in_words(value: str | timedelta) -> str:
    """An ISO 8601 duration ('PT2H5M') or a timedelta as '2 h 5 min'."""
    return duration(_ISO_DURATION.validate_python(value))


def _readable(
    column: str, value: Any, instants: Collection[str], durations: Collection[str]
) -> str:
    if value is not None and column in instants:
        return utc_instant(value)
    if value is not None and column in durations:
        return duration_in_words(value)
    return _cell(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def wants_progress(asked: bool) -> bool:
    """Progress goes to standard error, and only where someone watches it (or it is asked
    for), so that standard output stays clean for `--json` and redirection."""
    return asked or sys.stderr.isatty()


@contextmanager
def progress(shown: bool, what: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """A bar (or, without a total, a spinner) on standard error; yields `done(n)`, to call
    with how much of `total` is done."""
    if not shown:
        yield lambda done: None
        return
    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    # Asked for with --progress, it is drawn even where standard error is not a terminal.
    bar = Progress(*columns, console=Console(stderr=True, force_terminal=True), transient=True)
    with bar:
        task = bar.add_task(what, total=total)
        yield lambda done: bar.update(task, completed=done)
