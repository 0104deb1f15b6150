"""What a run costs: CPU seconds per process group, peak memory, and percentiles."""

import statistics
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil


def percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99 (and the count) of durations, in milliseconds."""
    if not seconds:
        return {"n": 0}
    return {
        "n": len(seconds),
        **{f"p{q}": round(percentile(seconds, q) * 1000, 1) for q in (50, 95, 99)},
    }


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def postgres_processes() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


@dataclass
class CpuMeter:
    """CPU seconds used by named groups of processes between start() and stop(); processes
    that come and go in between (PostgreSQL backends) are counted while they live."""

    groups: dict[str, Iterable[int]] = field(default_factory=dict)
    include_postgres: bool = True
    _before: dict[int, float] = field(default_factory=dict)
    _members: dict[str, list[psutil.Process]] = field(default_factory=dict)

    def start(self) -> "CpuMeter":
        self._members = {
            name: [psutil.Process(pid) for pid in pids] for name, pids in self.groups.items()
        }
        if self.include_postgres:
            self._members["postgresql"] = postgres_processes()
        self._before = {p.pid: _cpu(p) for ps in self._members.values() for p in ps}
        return self

    def stop(self) -> dict[str, float]:
        if self.include_postgres:  # backends started since, for the run's connections
            known = {p.pid for p in self._members["postgresql"]}
            self._members["postgresql"] += [p for p in postgres_processes() if p.pid not in known]
        return {
            name: round(sum(_cpu(p) - self._before.get(p.pid, 0.0) for p in ps), 3)
            for name, ps in self._members.items()
        }


class PeakRss:
    """The highest resident set size a process reaches while this runs, sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.1)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 1024 / 1024, 1)
