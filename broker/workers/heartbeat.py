"""`imb worker`'s sign of life where nothing can ask it over HTTP: a file whose modification
time it renews every few seconds while its event loop turns.

A probe that finds the file older than a few beats knows the process is wedged (its event loop
blocked or gone) and restarts it; a worker that merely waits for the database or Kafka keeps
beating, because a restart would not bring either back.
"""

import asyncio
import contextlib
from pathlib import Path

# deploy/k8s probes for a file younger than 30 s: several missed beats before anything acts.
BEAT_SECONDS = 5.0


def beat(path: Path) -> None:
    path.touch()


def first_beat(path: Path) -> None:
    """Before the worker starts: an unwritable path fails the start, not a later probe."""
    try:
        beat(path)
    except OSError as exc:
        raise OSError(f"cannot write the heartbeat file {path}: {exc.strerror}") from None


async def keep_beating(path: Path, stop: asyncio.Event) -> None:
    while not stop.is_set():
        beat(path)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), BEAT_SECONDS)


def stopped_beating(path: Path) -> None:
    """A worker that stops on request takes its heartbeat with it: it is no longer ready."""
    path.unlink(missing_ok=True)
