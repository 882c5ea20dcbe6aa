"""The figures as Markdown, and that text put into bench/README.md between its markers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

START = "<!-- bench:load:start (written by bench/load.py: edits here are replaced) -->"
END = "<!-- bench:load:end -->"


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "—"


def render(
    plan: Any,
    info: dict[str, str],
    figures: list[Any],
    statements: dict[str, float],
    baseline_statements: dict[str, int],
    sizes: dict[str, int],
    differing: dict[str, int],
) -> str:
    lines = [
        _measured(plan, info),
        "",
        "With more than one worker, page10 and add at 16 and 64 connections (the issue's "
        f"targets) are each the median of {plan.target_rounds} rounds: hypercorn's workers "
        "share one listening socket, and how wrk's connections fall between them is luck "
        "that lasts the run.",
        "",
        *_WRK_TABLE_HEAD,
    ]
    by_key = {(f.app, f.workers): f for f in figures}
    for workers in plan.workers:
        project, baseline = by_key[("project", workers)], by_key.get(("baseline", workers))
        for (scenario, connections), p in project.runs.items():
            b = baseline.runs.get((scenario, connections)) if baseline else None
            lines.append(
                f"| {workers} | {scenario} | {connections} | {_wrk_cells(p)} | "
                + (f"{_wrk_cells(b)} | {_ratios(p, b)} | " if b else "— | — | — | — | — | — | ")
                + f"{statements.get(scenario, float('nan')):g} | "
                f"{baseline_statements.get(scenario, '—')} | "
                f"{sizes.get(scenario, '—')} | {sizes.get('baseline:' + scenario, '—')} |"
            )
    lines += _busy_rounds_table(plan, by_key)
    lines += _checkout_table(figures) + _memory_table(plan, figures)
    lines += [
        "",
        "Server logs (stderr, under var/bench/): ERROR lines and tracebacks: "
        + ", ".join(f"{f.app} {f.workers}w {f.log_errors}" for f in figures)
        + ".",
        "HTML, baseline against project (checkout key aside): "
        + ", ".join(f"{name} {n} bytes differ" for name, n in differing.items())
        + ".",
        f"The whole run took {info['took']} (the soak stops early to keep it within "
        f"{plan.time_budget_seconds / 60:.1f} min; `make bench` must end within 10).",
    ]
    return "\n".join(lines)


_WRK_TABLE_HEAD = [
    "| workers | scenario | conns | project req/s | p50 ms | p99 ms | errors | baseline req/s | "
    "p50 ms | p99 ms | errors | req/s project/baseline | p99 project/baseline | SQL/req project | "
    "SQL/req baseline | bytes project | bytes baseline |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def _measured(plan: Any, info: dict[str, str]) -> str:
    return (
        f"Measured {info['date']} at commit `{info['commit']}` with `{info['command']}` "
        f"({info['took']}), on {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"PostgreSQL {info['postgres']} on the same host, load average {info['load']} at the "
        f"start. wrk {plan.wrk_threads} threads, {plan.seconds:g} s a run; checkout: "
        f"{plan.checkout_concurrency} concurrent shoppers for {plan.checkout_seconds:g} s."
    )


def _wrk_cells(run: Any) -> str:
    """req/s, p50, p99 and errors of one wrk run."""
    return f"{run.requests_per_second:.0f} | {_ms(run.p50_ms)} | {_ms(run.p99_ms)} | {run.errors}"


def _ratios(project: Any, baseline: Any) -> str:
    return (
        f"{_ratio(project.requests_per_second, baseline.requests_per_second)} | "
        f"{_ratio(project.p99_ms, baseline.p99_ms)}"
    )


def _busy_rounds_table(plan: Any, by_key: dict[tuple[str, int], Any]) -> list[str]:
    """The targets again, over the rounds in which every worker of the server was busy."""
    rows = []
    for workers in plan.workers:
        project, baseline = by_key[("project", workers)], by_key.get(("baseline", workers))
        for key, (p, p_count) in project.busy_rounds.items():
            b, b_count = baseline.busy_rounds.get(key, (None, 0)) if baseline else (None, 0)
            cells = [
                f"{r.requests_per_second:.0f} ({_ms(r.p99_ms)}), {n} of {plan.target_rounds}"
                if r
                else f"—, 0 of {plan.target_rounds}"
                for r, n in ((p, p_count), (b, b_count))
            ]
            ratios = _ratios(p, b) if p and b else "— | —"
            rows.append(f"| {workers} | {key[0]} | {key[1]} | {' | '.join(cells)} | {ratios} |")
    if not rows:
        return []
    return [
        "",
        "The same targets over the rounds in which every worker of the server was busy (each "
        "at least a quarter of the server's CPU time during the run): how the connections fell "
        "between the workers, which is luck, set aside. req/s (p99 ms) and how many rounds:",
        "",
        "| workers | scenario | conns | project | baseline | req/s project/baseline | "
        "p99 project/baseline |",
        "|---:|---|---:|---|---|---:|---:|",
        *rows,
    ]


def _checkout_table(figures: list[Any]) -> list[str]:
    lines = [
        "",
        "Checkout through the sandbox (project only: add, cart, check out, sandbox page, Pay, "
        "return page; a fresh shopper each order):",
        "",
        "| workers | orders/s | p50 ms | p99 ms | orders | errors |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        if f.app == "project" and f.checkout:
            c = f.checkout
            lines.append(
                f"| {f.workers} | {c.orders_per_second:.1f} | {_ms(c.p50_ms)} | {_ms(c.p99_ms)} | "
                f"{c.orders} | {c.errors} |"
            )
    return lines


def _memory_table(plan: Any, figures: list[Any]) -> list[str]:
    lines = [
        "",
        "Resident memory (VmRSS) of each worker process, MiB:",
        "",
        "| server | workers | when | MiB per worker |",
        "|---|---:|---|---|",
    ]
    for f in figures:
        for when, mib in f.memory.items():
            per_worker = " / ".join(f"{m:.0f}" for m in mib)
            lines.append(f"| {f.app} | {f.workers} | {when} | {per_worker} |")
    return lines + ["\n" + _soak_note(plan, f) for f in figures if f.soaked]


def _soak_note(plan: Any, f: Any) -> str:
    short = (
        f" It stopped short of {plan.soak_requests} requests, at its time limit (the run's "
        "budget, or --soak-seconds)."
        if f.served < plan.soak_requests
        else ""
    )
    if not f.soaked_seconds:
        return (
            f"Requests are counted after the warm-up. The {f.app}'s {f.workers}-worker server "
            f"served {f.served} requests in its scenarios, past the 20k mark: no more were needed."
        )
    return (
        f"Requests are counted after the warm-up. The {f.app}'s {f.workers}-worker server was "
        f"driven on after its scenarios, for the 10k and 20k marks, with the 1-line page at 64 "
        f"connections for {f.soaked_seconds} s: {f.served} requests in all, {f.soak_errors} "
        f"errors.{short}"
    )


def write_readme(path: Path, text: str) -> None:
    """Between the markers; the hand-written text around them stays. Markers added if missing."""
    readme = path.read_text()
    block = f"{START}\n{text}\n{END}"
    if START in readme and END in readme:
        before, rest = readme.split(START, 1)
        after = rest.split(END, 1)[1]
        readme = before + block + after
    else:
        readme = readme.rstrip("\n") + "\n\n## Load bench figures\n\n" + block + "\n"
    path.write_text(readme)
