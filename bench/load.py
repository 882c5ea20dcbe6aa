"""The load bench (issue 10): the project under hypercorn, driven by wrk, beside a baseline
of bare Quart and raw asyncpg that sends the same SQL and renders the same HTML.

    make bench                                   # all of it, about 9 minutes on 2 cores
    .venv/bin/python bench/load.py --quick       # a short run of everything
    .venv/bin/python bench/load.py --scenarios page10,add --workers 1 --connections 16
    .venv/bin/python bench/load.py --project-root ../cart-old   # another checkout
    make profile                                 # py-spy on a worker, the 10-line page

See bench/README.md for what each scenario does and how the figures are made.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
# The harness (bench/harness/), and the checkout it belongs to, for its list of the service's
# settings (shared/config.py) that it keeps out of the servers' environment.
sys.path[:0] = [str(BENCH_DIR), str(BENCH_DIR.parent)]

import httpx  # noqa: E402
from harness import (  # noqa: E402
    checkout,
    database,
    html_check,
    machine,
    report,
    seed,
    servers,
    sql_check,
    wrk,
)

from shared.config import without_settings  # noqa: E402

HARNESS_ROOT = BENCH_DIR.parent
OUT_DIR = HARNESS_ROOT / "var" / "bench"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/bench_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
PAGE_PATH = f"/cart/{database.SHOP_SLUG}/"
# The scenarios wrk drives: name -> (path, Lua script, which shoppers).
WRK_SCENARIOS = {
    "page1": (PAGE_PATH, "get.lua", 1),
    "page10": (PAGE_PATH, "get.lua", 10),
    "page50": (PAGE_PATH, "get.lua", 50),
    "overview": ("/cart/", "get.lua", 10),
    "add": ("/cart/add", "add.lua", None),
}
ALL_SCENARIOS = [*WRK_SCENARIOS, "checkout"]
MEMORY_MARKS = (10_000, 20_000)  # requests served after which each worker's RSS is reported
# The memory soak: the cheapest page at the most connections serves the most requests a second.
SOAK_SCENARIO, SOAK_CONNECTIONS = "page1", 64
SOAK_CHUNK_SECONDS = (2, 60)  # each soak wrk run, shortest and longest
# `make bench` must end within 10 minutes on the 2-core machine: the soak gives way first.
TIME_BUDGET_SECONDS = 570.0
HTML_DIFF_LIMIT = 0.02  # of the page's bytes: more, and the baseline is not the same page


@dataclass
class Plan:
    project_root: Path
    database_url: str
    redis_url: str
    scenarios: list[str]
    connections: list[int]
    workers: list[int]
    seconds: float
    checkout_seconds: float
    checkout_concurrency: int
    warm_up_seconds: float
    wrk_threads: int
    write_readme: bool
    url_rules: str = "{}"  # the project's, read once at the start
    soak_requests: int = 20_000
    soak_seconds: float = 300.0
    time_budget_seconds: float = TIME_BUDGET_SECONDS
    started: float = field(default_factory=time.monotonic)
    profile_seconds: float = 0.0
    profile_format: str = "speedscope"
    profile_scenario: str = "page10"
    # Of each target (see TARGET_SCENARIOS); 5 since a lopsided split of the connections
    # between the workers still came up in 1 of 3 rounds' medians (bench/README.md).
    target_rounds: int = 5


@dataclass
class Setup:
    """What every server of the run shares: the shops, the shoppers, wrk's input files."""

    shops: database.Shops
    shoppers: seed.Shoppers
    wrk_inputs: dict[str, Path]


@dataclass
class ServerFigures:
    """One server's (project or baseline, N workers) runs, memory and log."""

    app: str
    workers: int
    runs: dict[tuple[str, int], wrk.WrkResult] = field(default_factory=dict)
    checkout: checkout.CheckoutResult | None = None
    memory: dict[str, list[float]] = field(default_factory=dict)  # mark -> MiB per worker
    log_errors: int = 0
    log_path: str = ""
    served: int = 0  # requests by wrk after the warm-up
    soaked: bool = False  # driven on, after the scenarios, for the memory figures
    soaked_seconds: int = 0
    soak_errors: int = 0
    # Of the targets' rounds, the median of those in which every worker was busy, and how
    # many they were (bench/README.md, "Fair starts").
    busy_rounds: dict[tuple[str, int], tuple[wrk.WrkResult | None, int]] = field(
        default_factory=dict
    )


def parse_args(argv: list[str]) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project-root",
        default=os.environ.get("BENCH_PROJECT_ROOT", str(HARNESS_ROOT)),
        help="the checkout to bench (default: this one; env BENCH_PROJECT_ROOT)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 s runs, 16 connections, 1 and 2 workers"
    )
    parser.add_argument(
        "--scenarios", default=",".join(ALL_SCENARIOS), help=f"of {','.join(ALL_SCENARIOS)}"
    )
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run")
    parser.add_argument("--checkout-seconds", type=float, default=10.0)
    parser.add_argument("--checkout-concurrency", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--soak",
        type=int,
        default=20_000,
        metavar="REQUESTS",
        help="after its scenarios, drive the first project server (1 worker by default) with the "
        "1-line page at 64 connections until it has served this many requests, for the memory "
        "after 10k and 20k; 0: no soak",
    )
    parser.add_argument("--soak-seconds", type=float, default=300.0, help="the soak at most")
    parser.add_argument(
        "--time-budget",
        type=float,
        default=TIME_BUDGET_SECONDS,
        metavar="SECONDS",
        help="the soak stops early so that the whole run ends within this",
    )
    parser.add_argument("--no-readme", action="store_true", help="print the figures only")
    parser.add_argument(
        "--profile",
        type=float,
        metavar="SECONDS",
        default=0,
        help="instead of the bench: py-spy on a worker of the project, then of the baseline, "
        "while wrk drives --profile-scenario at 16 connections",
    )
    parser.add_argument(
        "--profile-scenario",
        choices=[s for s in ALL_SCENARIOS if s != "checkout"],
        default="page10",
    )
    parser.add_argument(
        "--profile-format", choices=["speedscope", "flamegraph", "raw"], default="speedscope"
    )
    args = parser.parse_args(argv)
    plan = Plan(
        project_root=Path(args.project_root).resolve(),
        database_url=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        redis_url=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        scenarios=[s for s in args.scenarios.split(",") if s],
        connections=[int(c) for c in args.connections.split(",")],
        workers=[int(w) for w in args.workers.split(",")],
        seconds=args.seconds,
        checkout_seconds=args.checkout_seconds,
        checkout_concurrency=args.checkout_concurrency,
        warm_up_seconds=2.0,
        wrk_threads=args.wrk_threads,
        # Only a full run of this checkout writes the README: partial figures would replace
        # whole ones.
        write_readme=not args.no_readme and not args.quick,
    )
    if args.quick:
        plan.seconds, plan.checkout_seconds, plan.connections, plan.warm_up_seconds = (
            2.0,
            3.0,
            [16],
            1.0,
        )
        args.soak_seconds = min(args.soak_seconds, 5.0)  # the soak's code run, not its figures
    unknown = set(plan.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    plan.profile_seconds, plan.profile_format = args.profile, args.profile_format
    plan.profile_scenario = args.profile_scenario
    plan.soak_requests, plan.soak_seconds = args.soak, args.soak_seconds
    plan.time_budget_seconds = args.time_budget
    return plan


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- preparing -----------------------------------------------------------------------------


def project_env(plan: Plan, port: int, *, background_jobs: bool = True) -> dict[str, str]:
    return servers.project_env(
        origin=f"http://127.0.0.1:{port}",
        database_url=plan.database_url,
        redis_url=plan.redis_url,
        var_dir=OUT_DIR / "var",
        background_jobs=background_jobs,
    )


def project_url_rules(plan: Plan) -> str:
    """The project's endpoints and paths (JSON), for the baseline's url_for."""
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH_DIR / "harness" / "count_statements.py"),
            str(plan.project_root),
            "--url-rules",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=plan.project_root,
        env=project_env(plan, 8002, background_jobs=False),
    )
    if done.returncode != 0:
        raise SystemExit(f"reading the project's URL rules failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def baseline_env(plan: Plan) -> dict[str, str]:
    env = without_settings(os.environ, "BASELINE_")
    env.update(
        BASELINE_URL_RULES=plan.url_rules,
        BASELINE_PROJECT_ROOT=str(plan.project_root),
        BASELINE_DATABASE_URL=database.plain_dsn(plan.database_url),
        SECRET_KEY=servers.SECRET_KEY,
        CART_MAX_QUANTITY="10000",
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare_database(plan: Plan) -> database.Shops:
    """Emptied and migrated by the benched checkout, Redis db emptied, the shops put in."""
    database.ensure_database(plan.database_url)
    asyncio.run(database.reset_schema(plan.database_url))
    database.flush_redis(plan.redis_url)
    database.migrate(plan.project_root, project_env(plan, 8002))
    return asyncio.run(database.insert_shops(plan.database_url))


def write_wrk_inputs(shoppers: seed.Shoppers, shops: database.Shops) -> dict[str, Path]:
    """The Lua tables the scripts read: each cart size's shoppers' cookies, and the adds."""
    inputs = {}
    for size, sized in shoppers.by_size.items():
        cookies = ", ".join(wrk.lua_string(s.cookie) for s in sized)
        inputs[f"size{size}"] = wrk.write_lua_table(
            OUT_DIR / f"shoppers-{size}.lua", "{ " + cookies + " }"
        )
    adders = ", ".join(
        f"{{ cookie = {wrk.lua_string(s.cookie)}, csrf = {wrk.lua_string(s.csrf_token)} }}"
        for s in shoppers.adders
    )
    # Spread over 50 products and 16 shoppers, a line gets 1 add of 800: far from the limit.
    products = ", ".join(str(p) for p in shops.shop_product_ids[:50])
    inputs["add"] = wrk.write_lua_table(
        OUT_DIR / "adds.lua",
        f"{{ shoppers = {{ {adders} }}, products = {{ {products} }}, "
        f"expected_location = {wrk.lua_string(PAGE_PATH)} }}",
    )
    return inputs


def start_project(plan: Plan, workers: int) -> servers.Server:
    port = servers.free_port()
    return servers.start(
        "project",
        app="app:app",
        cwd=plan.project_root,
        env=project_env(plan, port),
        workers=workers,
        log_path=OUT_DIR / f"project-{workers}w.log",
        port=port,
    )


def start_baseline(plan: Plan, workers: int) -> servers.Server:
    return servers.start(
        "baseline",
        app="bench.baseline.app:app",
        cwd=HARNESS_ROOT,
        env=baseline_env(plan),
        workers=workers,
        log_path=OUT_DIR / f"baseline-{workers}w.log",
        port=servers.free_port(),
    )


# --- what is measured once: statements, page sizes, the HTML check ------------------------


def page_requests(setup: Setup) -> list[dict[str, object]]:
    """One request per scenario, for the statement count and the HTML check."""
    specs: list[dict[str, object]] = []
    for name, (path, _script, size) in WRK_SCENARIOS.items():
        if size is not None:
            specs.append(
                {
                    "name": name,
                    "method": "GET",
                    "path": path,
                    "cookie": setup.shoppers.by_size[size][0].cookie,
                    "form": None,
                }
            )
    adder = setup.shoppers.adders[0]
    specs.append(
        {
            "name": "add",
            "method": "POST",
            "path": "/cart/add",
            "cookie": adder.cookie,
            "form": {
                "csrf_token": adder.csrf_token,
                "product_id": str(setup.shops.shop_product_ids[55]),
                "quantity": "1",
            },
        }
    )
    return specs


def count_statements(plan: Plan, setup: Setup) -> tuple[dict[str, float], dict[str, list[str]]]:
    """In-process, the app of the benched checkout with its test client (no server running):
    the statements per request, and one request's statement texts."""
    captured = _run_json(
        "counting the project's statements",
        [str(BENCH_DIR / "harness" / "count_statements.py"), str(plan.project_root)],
        page_requests(setup),
        cwd=plan.project_root,
        env=project_env(plan, 8002, background_jobs=False),
    )
    return captured["counts"], captured["statements"]


def check_baseline_sql(
    plan: Plan, setup: Setup, project_texts: dict[str, list[str]]
) -> dict[str, int]:
    """Warns (the run goes on) of each request whose statements the baseline no longer sends
    as the project does: its queries.py is text pasted from an older project. Returns the
    statements per request that the baseline's code states (its queries.STATEMENTS)."""
    recorded = _run_json(
        "recording the baseline's statements",
        [str(BENCH_DIR / "harness" / "baseline_statements.py")],
        page_requests(setup),
        cwd=HARNESS_ROOT,
        env=baseline_env(plan),
    )
    baseline_texts, stated = recorded["statements"], recorded["stated"]
    warnings = sql_check.differences(project_texts, baseline_texts)
    warnings += [
        f"{name}: the baseline sends {len(texts)} statements, its queries.STATEMENTS says "
        f"{stated[name]}"
        for name, texts in baseline_texts.items()
        if len(texts) != stated[name]
    ]
    for warning in warnings:
        log(f"WARNING the baseline's SQL is not the project's: {warning}")
    if not warnings:
        log("the baseline sends the project's SQL, statement for statement")
    return stated


def _run_json(what: str, args: list[str], stdin: object, *, cwd: Path, env: dict[str, str]) -> Any:
    """A harness script's answer: the JSON on the last line of its output."""
    done = subprocess.run(
        [sys.executable, *args],
        input=json.dumps(stdin),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fetch_pages(server: servers.Server, setup: Setup) -> dict[str, str]:
    pages = {}
    with httpx.Client(base_url=server.url, timeout=30, headers={"Accept": "text/html"}) as client:
        for spec in page_requests(setup):
            if spec["method"] == "GET":
                answer = client.get(str(spec["path"]), headers={"Cookie": str(spec["cookie"])})
                answer.raise_for_status()
                pages[str(spec["name"])] = answer.text
    return pages


def compare_html(project: dict[str, str], baseline: dict[str, str]) -> dict[str, int]:
    differing = {}
    for name, page in project.items():
        theirs = baseline[name]
        differing[name] = html_check.differing_bytes(page, theirs)
        log(
            f"HTML {name}: project {len(page.encode())} bytes, baseline {len(theirs.encode())}, "
            f"{differing[name]} bytes differ (checkout key aside)"
        )
        if differing[name] > HTML_DIFF_LIMIT * len(page.encode()):
            first = html_check.first_difference(page, theirs)
            raise SystemExit(f"the baseline's {name} page is not the project's:\n{first}")
    return differing


# --- driving -------------------------------------------------------------------------------


def wrk_run(
    plan: Plan,
    setup: Setup,
    server: servers.Server,
    scenario: str,
    connections: int,
    seconds: float,
) -> wrk.WrkResult:
    path, script, size = WRK_SCENARIOS[scenario]
    lua_input = setup.wrk_inputs["add" if size is None else f"size{size}"]
    servers.wait_until_idle(server)
    cpu_before = servers.workers_cpu_seconds(server)
    result = wrk.run(
        server.url + path,
        script,
        lua_input,
        connections=connections,
        seconds=seconds,
        threads=plan.wrk_threads,
    )
    # How wrk's connections fell between the workers: each one's share of the CPU time used.
    used = [
        cpu_now - cpu_before.get(pid, 0.0)
        for pid, cpu_now in servers.workers_cpu_seconds(server).items()
    ]
    total = sum(used)
    shares = tuple(u / total for u in used) if total > 0 else ()
    return dataclasses.replace(result, worker_shares=shares)


# The targets (2 workers, these scenarios, 16 and 64 connections) are the median of
# Plan.target_rounds rounds: hypercorn's workers share one listening socket, and whichever
# wakes first accepts most of wrk's connections at once (5/59, 57/7, 15/49 seen at 64), which
# for a whole run sets one worker twice the other's load, and p99 with it, by luck.
TARGET_SCENARIOS = ("page10", "add")


@dataclass
class Side:
    """One of the two servers of a phase, its figures and its memory marks."""

    server: servers.Server
    figures: ServerFigures
    memory: _MemoryMarks | None = None


def drive_side_by_side(plan: Plan, setup: Setup, sides: list[Side]) -> None:
    """Warm-up each, then every scenario at every connection count, the project's run and
    the baseline's one after the other (and round after round), memory noted on the way:
    whatever the machine does meanwhile falls on both alike."""
    for side in sides:
        wrk_run(plan, setup, side.server, "page10", 16, plan.warm_up_seconds)
        side.figures.memory["after warm-up"] = side.server.workers_rss_mib()
        side.memory = _MemoryMarks(side.server, side.figures)
    workers = sides[0].figures.workers
    for scenario in (s for s in plan.scenarios if s in WRK_SCENARIOS):
        for connections in plan.connections:
            rounds = plan.target_rounds if _is_target(workers, scenario, connections) else 1
            results: dict[str, list[wrk.WrkResult]] = {side.figures.app: [] for side in sides}
            for _ in range(rounds):
                for side in sides:
                    result = wrk_run(plan, setup, side.server, scenario, connections, plan.seconds)
                    assert side.memory is not None
                    side.memory.served(result.requests)
                    results[side.figures.app].append(result)
                    _log_run(side.figures, scenario, connections, result)
            for side in sides:
                side_results = results[side.figures.app]
                side.figures.runs[(scenario, connections)] = wrk.median_of(side_results)
                if rounds > 1:
                    busy = [r for r in side_results if r.both_workers_busy]
                    side.figures.busy_rounds[(scenario, connections)] = (
                        wrk.median_of(busy) if busy else None,
                        len(busy),
                    )


def _log_run(
    figures: ServerFigures, scenario: str, connections: int, result: wrk.WrkResult
) -> None:
    split = "/".join(f"{share:.0%}" for share in result.worker_shares)
    log(
        f"{figures.app} {figures.workers}w {scenario:>8} c{connections:<3} "
        f"{result.requests_per_second:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}"
        + (f"  workers' CPU {split}" if len(result.worker_shares) > 1 else "")
    )


def _is_target(workers: int, scenario: str, connections: int) -> bool:
    return workers > 1 and scenario in TARGET_SCENARIOS and connections >= 16


def soak(
    plan: Plan, setup: Setup, server: servers.Server, memory: _MemoryMarks, until: float
) -> None:
    """The 1-line page at 64 connections until plan.soak_requests are served or `until`
    (time.monotonic()) comes. Each wrk run lasts about as long as the next memory mark
    needs at the last run's pace, so that the marks are noted close to 10k and 20k."""
    figures = memory.figures
    measured = figures.runs.get((SOAK_SCENARIO, SOAK_CONNECTIONS))
    pace = measured.requests_per_second if measured else 100.0  # requests a second
    shortest, longest = SOAK_CHUNK_SECONDS
    while memory.count < plan.soak_requests and until - time.monotonic() >= shortest:
        wanted = math.ceil((memory.next_stop(plan.soak_requests) - memory.count) / pace)
        seconds = max(shortest, min(wanted, longest, int(until - time.monotonic())))
        soaked = wrk_run(plan, setup, server, SOAK_SCENARIO, SOAK_CONNECTIONS, seconds)
        pace = max(soaked.requests_per_second, 1.0)
        memory.served(soaked.requests)
        figures.soak_errors += soaked.errors
        figures.soaked_seconds += seconds
    log(
        f"{figures.app} {figures.workers}w soak: {memory.count} requests served in all, "
        f"{figures.soaked_seconds} s of {SOAK_SCENARIO} c{SOAK_CONNECTIONS}, "
        f"errors {figures.soak_errors}"
    )


def soak_deadline(plan: Plan, phase_started: float, phases_left: int) -> float:
    """When the soak must stop for the run to end within plan.time_budget_seconds: every
    server phase still to come takes about as long as this one took (wrk runs of fixed
    length), each project phase's checkout on top."""
    phase_seconds = time.monotonic() - phase_started
    checkouts_left = len(plan.workers) if "checkout" in plan.scenarios else 0
    rest = phases_left * phase_seconds + checkouts_left * (plan.checkout_seconds + 5)
    by_budget = plan.started + plan.time_budget_seconds - rest
    return min(time.monotonic() + plan.soak_seconds, by_budget)


@dataclass
class _MemoryMarks:
    """Each worker's RSS noted at the end of the first wrk run past 10k and 20k requests."""

    server: servers.Server
    figures: ServerFigures
    count: int = 0
    marks: list[int] = field(default_factory=lambda: list(MEMORY_MARKS))

    def served(self, requests: int) -> None:
        self.count += requests
        while self.marks and self.count >= self.marks[0]:
            label = f"after {self.marks.pop(0) // 1000}k requests ({self.count})"
            self.figures.memory[label] = self.server.workers_rss_mib()

    def next_stop(self, last: int) -> int:
        """The next memory mark short of `last`, else `last`."""
        return next((mark for mark in self.marks if mark < last), last)

    def at_the_end(self) -> None:
        self.figures.served = self.count
        self.figures.memory[f"at the end ({self.count} requests)"] = self.server.workers_rss_mib()


def bench_phase(plan: Plan, setup: Setup, workers: int, *, soaked: bool) -> list[ServerFigures]:
    """The project and the baseline with `workers` workers each, both up for the whole phase
    (a server waiting for its turn only waits), driven in turns. `soaked`: the project's
    server is then driven on to plan.soak_requests for the memory figures."""
    phase_started = time.monotonic()
    project = start_project(plan, workers)
    sides = [Side(project, ServerFigures("project", workers, log_path=str(project.log_path)))]
    try:
        baseline = start_baseline(plan, workers)
        sides.append(
            Side(baseline, ServerFigures("baseline", workers, log_path=str(baseline.log_path)))
        )
        drive_side_by_side(plan, setup, sides)
        project_side = sides[0]
        assert project_side.memory is not None
        if soaked:
            project_side.figures.soaked = True
            phases_left = len(plan.workers) - 1  # the other worker counts' phases
            soak(
                plan,
                setup,
                project,
                project_side.memory,
                soak_deadline(plan, phase_started, phases_left),
            )
        for side in sides:
            assert side.memory is not None
            side.memory.at_the_end()
        if "checkout" in plan.scenarios:
            project_side.figures.checkout = run_checkout(plan, setup, project)
    finally:
        for side in sides:
            servers.stop(side.server)
    for side in sides:
        side.figures.log_errors = side.server.log_errors()
    return [side.figures for side in sides]


def run_checkout(plan: Plan, setup: Setup, server: servers.Server) -> checkout.CheckoutResult:
    result = asyncio.run(
        checkout.run(
            server.url,
            setup.shops.checkout_product_id,
            concurrency=plan.checkout_concurrency,
            seconds=plan.checkout_seconds,
        )
    )
    log(
        f"project checkout: {result.orders_per_second:.1f} orders/s  p50 {result.p50_ms:.0f} ms  "
        f"p99 {result.p99_ms:.0f} ms  errors {result.errors} {result.first_error}"
    )
    return result


def set_up(plan: Plan) -> tuple[Setup, dict[str, int], dict[str, int]]:
    """Database, shoppers (seeded through the project), statement counts, the HTML check."""
    log(f"database {plan.database_url}, Redis {plan.redis_url}, project {plan.project_root}")
    shops = prepare_database(plan)
    plan.url_rules = project_url_rules(plan)
    server = start_project(plan, 1)
    try:
        shoppers = asyncio.run(seed.seed_shoppers(server.url, shops.shop_product_ids))
        setup = Setup(shops, shoppers, write_wrk_inputs(shoppers, shops))
        project_pages = fetch_pages(server, setup)
    finally:
        servers.stop(server)
    with_carts = sum(len(s) for s in shoppers.by_size.values())
    log(f"seeded {with_carts} shoppers with carts, {len(shoppers.adders)} adders")
    asyncio.run(database.analyze(plan.database_url))
    baseline = start_baseline(plan, 1)
    try:
        baseline_pages = fetch_pages(baseline, setup)
    finally:
        servers.stop(baseline)
    differing = compare_html(project_pages, baseline_pages)
    sizes = {name: len(page.encode()) for name, page in project_pages.items()}
    sizes.update({f"baseline:{name}": len(page.encode()) for name, page in baseline_pages.items()})
    return setup, sizes, differing


def clear_logs() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUT_DIR.glob("*.log"):
        old.unlink()


def main(argv: list[str]) -> None:
    plan = parse_args(argv)
    clear_logs()
    if plan.profile_seconds:
        from harness import profile

        profile.run(plan, sys.modules[__name__])
        return
    plan.started = time.monotonic()
    info = machine.describe(plan.project_root, database.server_versions(plan.database_url))
    setup, sizes, differing = set_up(plan)
    statements, project_texts = count_statements(plan, setup)
    log(f"SQL statements per request (project, in-process): {statements}")
    baseline_statements = check_baseline_sql(plan, setup, project_texts)
    all_figures = []
    for workers in plan.workers:
        soaked = plan.soak_requests > 0 and workers == plan.workers[0]
        all_figures += bench_phase(plan, setup, workers, soaked=soaked)
    info["took"] = f"{(time.monotonic() - plan.started) / 60:.1f} min"
    info["command"] = "make bench" if not argv else "bench/load.py " + " ".join(argv)
    text = report.render(plan, info, all_figures, statements, baseline_statements, sizes, differing)
    print("\n" + text)
    if plan.write_readme and plan.project_root == HARNESS_ROOT:
        report.write_readme(BENCH_DIR / "README.md", text)
        log("figures written to bench/README.md")
    took = time.monotonic() - plan.started
    budget = plan.time_budget_seconds
    log(f"the whole run took {took / 60:.1f} min ({took:.0f} s; budget {budget:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
