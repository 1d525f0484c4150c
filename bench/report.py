"""bench/results/latest.md from the figures bench/run.py collected."""
from __future__ import annotations

LABELS = {
    "a_bare": "(a) bare Flask route",
    "b_calendar": "(b) calendar /sessions",
    "b_calendar_filtered": "(b) calendar, filtered by course and town",
    "b_session_page": "(b) session page /sessions/<id>",
    "b_course_pages": "(b) course pages /courses, /courses/<slug>",
    "b_api_sessions": "(b) GET /api/v1/sessions",
    "b_api_session": "(b) GET /api/v1/sessions/<id>",
    "c_holds_many_sessions": "(c) holds across sessions (POST /api/v1/bookings)",
    "d_holds_one_session": "(d) holds on one hot session",
    "f_sqlite_calendar": "(f) SQLite: calendar",
    "f_sqlite_session_page": "(f) SQLite: session page",
    "f_sqlite_api_sessions": "(f) SQLite: GET /api/v1/sessions",
    "f_sqlite_api_session": "(f) SQLite: GET /api/v1/sessions/<id>",
    "f_sqlite_holds_many_sessions": "(f) SQLite: holds across sessions",
}


def _ms(figures: dict, key: str) -> str:
    value = figures.get("latency_ms", {}).get(key)
    return "-" if value is None else f"{value:.1f}"


def _check(figures: dict) -> str:
    check = figures.get("database_check")
    if check is None:
        return "-"
    return "ok" if check["ok"] else "FAILED " + ", ".join(
        f"{k} {v}" for k, v in check.items() if k not in ("ok", "bookings_by_status") and v)


def markdown(results: dict) -> str:
    s = results["settings"]
    m = results["machine"]
    lines = [
        "# `make bench` results",
        "",
        f"Run {results['started_at']}, {results['elapsed_s']} s in all. {m['cpus']} CPUs, "
        f"Python {m['python']}; gunicorn {s['workers']} processes x {s['threads']} threads "
        f"(gunicorn.conf.py); {s['load_generator']} -c{s['connections']} for {s['duration_s']} s "
        f"per row. Load average before {m['load_average_before']}, after "
        f"{m.get('load_average_after')}: other work on the machine lowers every figure, so "
        "compare ratios to (a) from the same run.",
        "",
        "| scenario | connection | req/s | p50 ms | p95 ms | p99 ms | errors | of (a) | wrk CPU | database |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    bare = results.get("bare_rps", {})
    for name, figures in results["scenarios"].items():
        if "rps" not in figures or name.startswith(("e_", "g_")):
            continue
        close = figures.get("connection") == "close"
        base = name.removesuffix("_close")
        ceiling = bare.get("_close" if close else "")
        ratio = (f"{100 * figures['ok_rps'] / ceiling:.1f}%"
                 if ceiling and not name.startswith("a_") else "-")
        lines.append(
            f"| {LABELS.get(base, base)} | {figures.get('connection', '-')} | "
            f"{figures['ok_rps']:.0f} | {_ms(figures, 'p50')} | {_ms(figures, 'p95')} | "
            f"{_ms(figures, 'p99')} | {figures['errors']['total']} | {ratio} | "
            f"{100 * figures.get('client_cpu_share', 0):.0f}% | {_check(figures)} |")
    lines += ["", "req/s counts answers below 400; errors are answers of 400 or more plus "
              "socket errors and timeouts. wrk CPU is the load generator's own CPU use "
              "(share of one core): far below 100% means it was not the limit.", ""]
    mix = results["scenarios"].get("e_mix")
    if mix:
        lines += [
            "## (e) 50 users: browse, hold 1-4 seats, pay (fake Stripe + webhook), some cancel",
            "",
            f"- completed bookings: {mix['completed_bookings']} in {mix['duration_s']} s = "
            f"**{mix['completed_per_s']} per second**; holds cancelled: {mix['cancelled_holds']}",
            f"- requests: {mix['requests']} ({mix['rps']}/s), latency p50 "
            f"{_ms(mix, 'p50')} / p95 {_ms(mix, 'p95')} / p99 {_ms(mix, 'p99')} ms",
            f"- one whole booking (browse to confirmation): "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in mix.get("booking_flow_ms", {}).items()),
            f"- errors: {mix['errors']}",
            f"- client CPU {100 * mix['client_cpu_share']:.0f}% of one core (aiohttp, one process)",
            f"- database: {_check(mix)}",
            "",
        ]
    ws = results["scenarios"].get("g_websocket")
    if ws:
        held = ws.get("holds_during", {})
        lines += [
            "## (g) WebSocket: commit to fragment at the subscriber, while (c) runs",
            "",
            f"- {ws['subscribers']} subscribers (connected in {ws['connect_s']} s), "
            f"{ws['bookings']} bookings, {ws['deliveries']} deliveries, {ws['missing']} missing "
            "(not arrived 3 s after the last booking, or superseded by a newer count)",
            f"- latency p50 {_ms(ws, 'p50')} / p95 {_ms(ws, 'p95')} / p99 {_ms(ws, 'p99')} / "
            f"max {_ms(ws, 'max')} ms; slowest subscriber per booking: "
            + ", ".join(f"{k} {v:.0f} ms" for k, v in ws.get("slowest_subscriber_ms", {}).items()),
            f"- holds meanwhile: {held.get('ok_rps', '-')}/s, p95 {_ms(held, 'p95')} ms, "
            f"errors {held.get('errors', {}).get('total', '-')}",
            f"- database: {_check(ws)}",
            "",
        ]
    memory = results.get("memory")
    if memory:
        lines += ["## (h) resident memory per process (MB, at the end of its scenarios)", "",
                  "| set-up | process | RSS | peak RSS | threads |", "|---|---|---|---|---|"]
        for setup, processes in memory.items():
            if isinstance(processes, list):
                processes = {"process": processes}
            for role, rows in processes.items():
                for row in rows:
                    lines.append(f"| {setup} | {role} {row['pid']} | {row['rss_mb']} | "
                                 f"{row['peak_rss_mb']} | {row['threads']} |")
        lines.append("")
    lines += ["Query plans of the hot queries: [explain.md](explain.md).", ""]
    return "\n".join(lines)
