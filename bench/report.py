"""The results table in docs/performance.md, rewritten from a run's results."""

import re
from pathlib import Path
from typing import Any

BEGIN, END = "<!-- bench results: begin -->", "<!-- bench results: end -->"


def _ms(figures: dict[str, Any]) -> str:
    return " / ".join(f"{figures[q]:g}" for q in ("p50", "p95", "p99")) + " ms"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, measured, target) for each figure of a full run."""
    p1, p2, p4, p5 = (results[part] for part in ("p1", "p2", "p4", "p5"))
    bare = p1["bare_aiokafka_records_per_s"]
    steady, backlog = p2["steady"], p2["backlog"]
    found = [
        ("P1 single POSTs: accepted", f"{p1['single']['accepted_per_s']:g} events/s", "≥ 1,000"),
        ("P1 single POSTs: routed", f"{p1['single']['routed_per_s']:g} events/s", "≥ 1,000"),
        ("P1 batches of 500: accepted", f"{p1['batch']['accepted_per_s']:g} events/s", "≥ 5,000"),
        ("P1 batches of 500: routed", f"{p1['batch']['routed_per_s']:g} events/s", "≥ 5,000"),
        ("P1 bare aiokafka, same broker", f"{bare:g} records/s", "reference"),
        (
            "P1 deliveries/s ÷ bare aiokafka",
            f"{p1['single']['ratio_to_bare_aiokafka']:g} single, "
            f"{p1['batch']['ratio_to_bare_aiokafka']:g} batched",
            "≥ 0.1",
        ),
        (
            "P1 IMB CPU per event",
            f"{p1['single']['imb_cpu_ms_per_event']:g} ms single, "
            f"{p1['batch']['imb_cpu_ms_per_event']:g} ms batched",
            "",
        ),
        (
            "P2 crisis publish→inbox p50/p95/p99 under 200 routine events/s",
            _ms(steady["crisis_publish_to_inbox_ms"]),
            "p99 ≤ 50 ms",
        ),
        (
            "P2 routine publish→inbox p50/p95/p99 at 200 events/s",
            _ms(steady["routine_publish_to_inbox_ms"]),
            "p99 ≤ 250 ms",
        ),
        *_separate_rows(p2.get("steady_separate_processes")),
        (
            f"P2 crisis behind {backlog['backlog']:,} routine events",
            f"{backlog['crisis_publish_to_inbox_ms']:g} ms, with "
            f"{backlog['backlog_available_when_crisis_arrived']:,} of the backlog in",
            "before the backlog drains",
        ),
        (
            "P4 full cycle, IMB ÷ MESH sandbox",
            f"{p4['imb']['cycles_per_s']:g} ÷ {p4['mesh']['cycles_per_s']:g} cycles/s "
            f"= {p4['ratio_imb_to_mesh']:g}",
            "≥ 2",
        ),
        (
            "P4 the same, IMB's readers waiting on the server (`wait=`) instead of polling",
            f"{p4['imb_waiting_reader']['cycles_per_s']:g} cycles/s "
            f"= {p4['ratio_imb_waiting_to_mesh']:g} of MESH's, "
            f"{p4['imb_waiting_reader']['server_cpu_ms_per_message']:g} ms CPU per message",
            "",
        ),
        (
            "P4 server CPU per message, IMB / MESH",
            f"{p4['imb']['server_cpu_ms_per_message']:g} / "
            f"{p4['mesh']['server_cpu_ms_per_message']:g} ms",
            "",
        ),
        (
            "P5 routing, one router → two",
            f"{p5['one_router']['events_routed_per_s']:g} → "
            f"{p5['two_routers']['events_routed_per_s']:g} events/s "
            f"(the second adds {p5['second_router_adds']:g} of the first)",
            "second adds ≥ 0.7 of the first",
        ),
        (
            "serve peak RSS",
            f"{max(p1['single']['imb_peak_rss_mb'], p1['batch']['imb_peak_rss_mb']):g} MB",
            "≤ 300 MB",
        ),
        (
            "serve CPU seconds per event (single POSTs)",
            f"{p1['single']['imb_cpu_ms_per_event'] / 1000:.4f} s",
            "",
        ),
        *_push_rows(results.get("p6")),
    ]
    return found


def _push_rows(p6: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if p6 is None:
        return []
    steady, burst = p6["steady"], p6["burst"]
    rate = steady["rate_per_s"]
    return [
        (
            f"P6 publish→webhook received p50/p95/p99 at {rate:g} events/s",
            _ms(steady["webhook"]["publish_to_received_ms"]),
            "",
        ),
        (
            f"P6 publish→read by a waiting inbox reader, same run, at {rate:g} events/s",
            _ms(steady["inbox_waiting_reader"]["publish_to_received_ms"]),
            "",
        ),
        (
            f"P6 deliveries/s, {burst['events']:g} events flat out: webhook, inbox reader",
            f"{burst['webhook']['deliveries_per_s']:g}, "
            f"{burst['inbox_waiting_reader']['deliveries_per_s']:g}",
            "",
        ),
    ]


def _separate_rows(steady: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    if steady is None:
        return []
    return [
        (
            "P2 crisis p50/p95/p99, API and workers as separate processes",
            _ms(steady["crisis_publish_to_inbox_ms"]),
            "p99 ≤ 50 ms",
        ),
        (
            "P2 routine p50/p95/p99, API and workers as separate processes",
            _ms(steady["routine_publish_to_inbox_ms"]),
            "p99 ≤ 250 ms",
        ),
    ]


def table(results: dict[str, Any]) -> str:
    machine = results["machine"]
    lines = [
        f"Run {results['ran_at']} on {results['database']}, {machine['cpus']} CPUs, "
        f"{machine['memory_gib']} GiB, Python {machine['python']}, {machine['system']}; "
        "load generator, database, Kafka-protocol broker and IMB all on that machine.",
        "",
        "| figure | measured | target |",
        "|---|---|---|",
        *(f"| {what} | {measured} | {target} |" for what, measured, target in rows(results)),
    ]
    return "\n".join(lines)


def update_performance_doc(path: Path, results: dict[str, Any]) -> None:
    text = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    replacement = f"{BEGIN}\n{table(results)}\n{END}"
    path.write_text(pattern.sub(lambda _: replacement, text))
