"""What the `imb` commands print: JSON for machines (`--json`), tables for people, and
progress on standard error.

A list in JSON is one object a line, so a script can stream it and a new field never breaks a
reader; a single record is one object. Tables are for reading only and may change.
"""

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

Row = Mapping[str, Any]
# Piped into a file or a pager, a table is as wide as its rows, so that a long id stays whole
# on its line for grep; the table itself is no wider than it needs.
PIPED_WIDTH = 10_000


def _stdout() -> Console:
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    return console


def show_rows(rows: Sequence[Row], columns: Sequence[str], *, as_json: bool) -> None:
    """Every row: JSON lines, or a table of the named columns."""
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table(box=None, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")  # an id cut short is no use to anyone
    for row in rows:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    _stdout().print(table if rows else "(none)")


def show_record(record: Row, *, as_json: bool) -> None:
    """One record: a JSON object, or a field-and-value table."""
    if as_json:
        print(json.dumps(record))
        return
    table = Table("field", "value", box=None, header_style="bold")
    for field, value in record.items():
        table.add_row(field, _cell(value))
    _stdout().print(table)


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
