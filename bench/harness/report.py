"""The figures as Markdown, and that text put into bench/README.md between its markers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

START = "<!-- bench:load:start (written by bench/load.py: edits here are replaced) -->"
END = "<!-- bench:load:end -->"
BASELINE_STATEMENTS = {"page1": 5, "page10": 5, "page50": 5, "overview": 5, "add": 3}  # its code


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "—"


def render(plan: Any, info: dict[str, str], figures: list[Any], statements: dict[str, float],
           sizes: dict[str, int], differing: dict[str, int]) -> str:
    lines = [
        f"Measured {info['date']} at commit `{info['commit']}` with `{info['command']}` "
        f"({info['took']}), on {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, "
        f"PostgreSQL {info['postgres']} on the same host, load average {info['load']} at the start. "
        f"wrk {plan.wrk_threads} threads, {plan.seconds:g} s a run; checkout: "
        f"{plan.checkout_concurrency} concurrent shoppers for {plan.checkout_seconds:g} s.",
        "",
        "| workers | scenario | conns | project req/s | p50 ms | p99 ms | errors | baseline req/s | "
        "p50 ms | p99 ms | errors | req/s project/baseline | p99 project/baseline | SQL/req project | "
        "SQL/req baseline | bytes project | bytes baseline |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_key = {(f.app, f.workers): f for f in figures}
    for workers in plan.workers:
        project, baseline = by_key.get(("project", workers)), by_key.get(("baseline", workers))
        for (scenario, connections), p in project.runs.items():
            b = baseline.runs.get((scenario, connections)) if baseline else None
            lines.append(
                f"| {workers} | {scenario} | {connections} | {p.requests_per_second:.0f} | {_ms(p.p50_ms)} | "
                f"{_ms(p.p99_ms)} | {p.errors} | "
                + (f"{b.requests_per_second:.0f} | {_ms(b.p50_ms)} | {_ms(b.p99_ms)} | {b.errors} | "
                   f"{_ratio(p.requests_per_second, b.requests_per_second)} | {_ratio(p.p99_ms, b.p99_ms)} | "
                   if b else "— | — | — | — | — | — | ")
                + f"{statements.get(scenario, float('nan')):g} | {BASELINE_STATEMENTS.get(scenario, '—')} | "
                f"{sizes.get(scenario, '—')} | {sizes.get('baseline:' + scenario, '—')} |"
            )
    lines += ["", "Checkout through the sandbox (project only: add, cart, check out, sandbox page, Pay, "
              "return page; a fresh shopper each order):", "",
              "| workers | orders/s | p50 ms | p99 ms | orders | errors |", "|---:|---:|---:|---:|---:|---:|"]
    for f in figures:
        if f.app == "project" and f.checkout:
            c = f.checkout
            lines.append(f"| {f.workers} | {c.orders_per_second:.1f} | {_ms(c.p50_ms)} | {_ms(c.p99_ms)} | "
                         f"{c.orders} | {c.errors} |")
    lines += ["", "Resident memory (VmRSS) of each worker process, MiB:", "",
              "| server | workers | when | MiB per worker |", "|---|---:|---|---|"]
    for f in figures:
        for when, mib in f.memory.items():
            lines.append(f"| {f.app} | {f.workers} | {when} | {' / '.join(f'{m:.0f}' for m in mib)} |")
    soaked = [f"{f.app} {f.workers}w {f.soak_errors}" for f in figures if f.soak_errors]
    if soaked:
        lines += ["", "Errors while soaking (the 1-line page, for the memory figures): " + ", ".join(soaked) + "."]
    lines += ["", "Server logs (stderr, under var/bench/): ERROR lines and tracebacks: "
              + ", ".join(f"{f.app} {f.workers}w {f.log_errors}" for f in figures) + ".",
              "HTML, baseline against project (checkout key aside): "
              + ", ".join(f"{name} {n} bytes differ" for name, n in differing.items()) + "."]
    return "\n".join(lines)


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
