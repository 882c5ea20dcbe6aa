"""`make profile`: py-spy samples the one worker of the project, then of the baseline, while
wrk drives a scenario (`--profile-scenario`, the 10-line cart page by default) at 16
connections, and says how many ms of CPU a request took on each (raw format). The profiles
go under var/bench/ (open a speedscope file at https://www.speedscope.app, a flamegraph .svg
in a browser; raw is collapsed stacks, for bench/profile_breakdown.py).

py-spy reads the worker's memory (ptrace): run as root, or with CAP_SYS_PTRACE.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import machine, seed

PY_SPY = str(Path(sys.executable).with_name("py-spy"))
RATE = 250  # samples a second
SUFFIXES = {"speedscope": "speedscope.json", "flamegraph": "svg", "raw": "txt"}


def run(plan: Any, load: Any) -> None:
    shops = load.prepare_database(plan)
    plan.url_rules = load.project_url_rules(plan)
    server = load.start_project(plan, 1)
    try:
        shoppers = asyncio.run(seed.seed_shoppers(server.url, shops.shop_product_ids))
        asyncio.run(load.database.analyze(plan.database_url))
        setup = load.Setup(shops, shoppers, load.write_wrk_inputs(shoppers, shops))
        _profile(plan, load, setup, server, "project")
    finally:
        load.servers.stop(server)
    # The baseline under the same sampling, so that the two profiles side by side say where
    # the project's extra milliseconds go (bench/profile_breakdown.py --ms).
    baseline = load.start_baseline(plan, 1)
    try:
        _profile(plan, load, setup, baseline, "baseline")
    finally:
        load.servers.stop(baseline)


def _profile(plan: Any, load: Any, setup: Any, server: Any, side: str) -> None:
    load.wrk_run(plan, setup, server, plan.profile_scenario, 16, plan.warm_up_seconds)
    output = _output_path(plan, load.OUT_DIR, side)
    spy = _start_py_spy(server.worker_pids()[0], output, plan.profile_seconds, plan.profile_format)
    time.sleep(1)  # py-spy attached before the load starts
    result = load.wrk_run(plan, setup, server, plan.profile_scenario, 16, plan.profile_seconds)
    if spy.wait(timeout=plan.profile_seconds + 60) != 0:
        raise SystemExit(f"py-spy failed ({spy.returncode}): see above")
    load.log(
        f"{side}: {plan.profile_scenario} c16 under py-spy: "
        f"{result.requests_per_second:.1f} req/s, p99 {result.p99_ms:.1f} ms (sampling slows it); "
        f"errors in the server log: {server.log_errors()}"
    )
    if plan.profile_format == "raw":
        load.log(f"{side}: {_cpu_ms_per_request(output, result):.2f} ms of CPU a request")
    load.log(f"{side}: profile written to {output}")


def _cpu_ms_per_request(output: Path, result: Any) -> float:
    """Samples holding the GIL (one per 1/RATE s) over the requests served while sampled."""
    samples = sum(int(line.rsplit(" ", 1)[1]) for line in output.read_text().splitlines())
    return samples * 1000 / RATE / result.requests


def _output_path(plan: Any, out_dir: Path, side: str) -> Path:
    commit = machine.git_commit(plan.project_root).split()[0]
    name = f"profile-{plan.profile_scenario}-c16-{commit if side == 'project' else side}"
    return out_dir / f"{name}.{SUFFIXES[plan.profile_format]}"


def _start_py_spy(
    pid: int, output: Path, seconds: float, output_format: str
) -> subprocess.Popen[bytes]:
    # --gil: only samples holding the GIL, i.e. Python's own work (waiting on PostgreSQL is not).
    return subprocess.Popen(
        [
            PY_SPY,
            "record",
            "--pid",
            str(pid),
            "--gil",
            "--rate",
            str(RATE),
            "--format",
            output_format,
            "--output",
            str(output),
            "--duration",
            str(int(seconds) + 1),
        ]
    )
