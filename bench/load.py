"""The load bench (issue 10): the project under hypercorn, driven by wrk, beside a baseline
of bare Quart and raw asyncpg that sends the same SQL and renders the same HTML.

    make bench                                   # all of it, about 7 minutes on 2 cores
    .venv/bin/python bench/load.py --quick       # a short run of everything
    .venv/bin/python bench/load.py --scenarios page10,add --workers 1 --connections 16
    .venv/bin/python bench/load.py --project-root ../cart-old   # another checkout
    make profile                                 # py-spy on a worker, the 10-line page

See bench/README.md for what each scenario does and how the figures are made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import httpx  # noqa: E402

from harness import checkout, database, html_check, machine, report, seed, servers, wrk  # noqa: E402

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
    soak_requests: int = 0
    soak_seconds: float = 300.0
    profile_seconds: float = 0.0
    profile_format: str = "speedscope"


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
    soak_errors: int = 0


def parse_args(argv: list[str]) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", default=os.environ.get("BENCH_PROJECT_ROOT", str(HARNESS_ROOT)),
                        help="the checkout to bench (default: this one; env BENCH_PROJECT_ROOT)")
    parser.add_argument("--quick", action="store_true", help="2 s runs, 16 connections, 1 and 2 workers")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS), help=f"of {','.join(ALL_SCENARIOS)}")
    parser.add_argument("--connections", default="1,16,64")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--seconds", type=float, default=5.0, help="each wrk run")
    parser.add_argument("--checkout-seconds", type=float, default=10.0)
    parser.add_argument("--checkout-concurrency", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--soak", type=int, default=0, metavar="REQUESTS",
                        help="after the scenarios, drive the 1-line page until each project server has "
                             "served this many requests (memory after 10k and 20k; at most --soak-seconds)")
    parser.add_argument("--soak-seconds", type=float, default=300.0)
    parser.add_argument("--no-readme", action="store_true", help="print the figures only")
    parser.add_argument("--profile", type=float, metavar="SECONDS", default=0,
                        help="instead of the bench: py-spy on a worker, the 10-line page at 16 connections")
    parser.add_argument("--profile-format", choices=["speedscope", "flamegraph", "raw"], default="speedscope")
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
        # Only a full run of this checkout writes the README: partial figures would replace whole ones.
        write_readme=not args.no_readme and not args.quick,
    )
    if args.quick:
        plan.seconds, plan.checkout_seconds, plan.connections, plan.warm_up_seconds = 2.0, 3.0, [16], 1.0
    unknown = set(plan.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    plan.profile_seconds, plan.profile_format = args.profile, args.profile_format
    plan.soak_requests, plan.soak_seconds = args.soak, args.soak_seconds
    return plan


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- preparing -----------------------------------------------------------------------------


def project_env(plan: Plan, port: int, *, background_jobs: bool = True) -> dict[str, str]:
    return servers.project_env(
        origin=f"http://127.0.0.1:{port}", database_url=plan.database_url, redis_url=plan.redis_url,
        var_dir=OUT_DIR / "var", background_jobs=background_jobs,
    )


def project_url_rules(plan: Plan) -> str:
    """The project's endpoints and paths (JSON), for the baseline's url_for."""
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "harness" / "count_statements.py"), str(plan.project_root), "--url-rules"],
        capture_output=True, text=True, check=False, cwd=plan.project_root,
        env=project_env(plan, 8002, background_jobs=False),
    )
    if done.returncode != 0:
        raise SystemExit(f"reading the project's URL rules failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def baseline_env(plan: Plan) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(servers._SETTING_PREFIXES)}
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
        inputs[f"size{size}"] = wrk.write_lua_table(OUT_DIR / f"shoppers-{size}.lua", "{ " + cookies + " }")
    adders = ", ".join(
        f"{{ cookie = {wrk.lua_string(s.cookie)}, csrf = {wrk.lua_string(s.csrf_token)} }}" for s in shoppers.adders
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
        "project", app="app:app", cwd=plan.project_root, env=project_env(plan, port), workers=workers,
        log_path=OUT_DIR / f"project-{workers}w.log", port=port,
    )


def start_baseline(plan: Plan, workers: int) -> servers.Server:
    return servers.start(
        "baseline", app="bench.baseline.app:app", cwd=HARNESS_ROOT, env=baseline_env(plan), workers=workers,
        log_path=OUT_DIR / f"baseline-{workers}w.log", port=servers.free_port(),
    )


# --- what is measured once: statements, page sizes, the HTML check ------------------------


def page_requests(setup: Setup) -> list[dict[str, object]]:
    """One request per scenario, for the statement count and the HTML check."""
    specs: list[dict[str, object]] = []
    for name, (path, _script, size) in WRK_SCENARIOS.items():
        if size is not None:
            specs.append({"name": name, "method": "GET", "path": path, "cookie": setup.shoppers.by_size[size][0].cookie, "form": None})
    adder = setup.shoppers.adders[0]
    specs.append({
        "name": "add", "method": "POST", "path": "/cart/add", "cookie": adder.cookie,
        "form": {"csrf_token": adder.csrf_token, "product_id": str(setup.shops.shop_product_ids[55]), "quantity": "1"},
    })
    return specs


def count_statements(plan: Plan, setup: Setup) -> dict[str, float]:
    """In-process, the app of the benched checkout with its test client (no server running)."""
    done = subprocess.run(
        [sys.executable, str(BENCH_DIR / "harness" / "count_statements.py"), str(plan.project_root)],
        input=json.dumps(page_requests(setup)), capture_output=True, text=True, check=False,
        cwd=plan.project_root, env=project_env(plan, 8002, background_jobs=False),
    )
    if done.returncode != 0:
        raise SystemExit(f"counting statements failed:\n{done.stdout}\n{done.stderr[-3000:]}")
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
        differing[name] = html_check.differing_bytes(page, baseline[name])
        log(f"HTML {name}: project {len(page.encode())} bytes, baseline {len(baseline[name].encode())}, "
            f"{differing[name]} bytes differ (checkout key aside)")
        if differing[name] > HTML_DIFF_LIMIT * len(page.encode()):
            raise SystemExit(
                f"the baseline's {name} page is not the project's:\n{html_check.first_difference(page, baseline[name])}"
            )
    return differing


# --- driving -------------------------------------------------------------------------------


def wrk_run(plan: Plan, setup: Setup, server: servers.Server, scenario: str, connections: int, seconds: float) -> wrk.WrkResult:
    path, script, size = WRK_SCENARIOS[scenario]
    lua_input = setup.wrk_inputs["add" if size is None else f"size{size}"]
    return wrk.run(server.url + path, script, lua_input, connections=connections, seconds=seconds, threads=plan.wrk_threads)


def drive(plan: Plan, setup: Setup, server: servers.Server, figures: ServerFigures, *, soak: bool = False) -> None:
    """Warm-up, then every scenario at every connection count, memory noted on the way; with
    `soak`, then the 1-line page at 16 connections until plan.soak_requests are served."""
    wrk_run(plan, setup, server, "page10", 16, plan.warm_up_seconds)
    figures.memory["after warm-up"] = server.workers_rss_mib()
    memory = _MemoryMarks(server, figures)
    for scenario in (s for s in plan.scenarios if s in WRK_SCENARIOS):
        for connections in plan.connections:
            result = wrk_run(plan, setup, server, scenario, connections, plan.seconds)
            figures.runs[(scenario, connections)] = result
            memory.served(result.requests)
            log(f"{figures.app} {figures.workers}w {scenario:>8} c{connections:<3} "
                f"{result.requests_per_second:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
                f"p99 {result.p99_ms:7.2f} ms  errors {result.errors}")
    deadline = time.monotonic() + plan.soak_seconds
    while soak and memory.count < plan.soak_requests and time.monotonic() < deadline:
        soaked = wrk_run(plan, setup, server, "page1", 16, 10)
        memory.served(soaked.requests)
        figures.soak_errors += soaked.errors
    figures.memory[f"at the end ({memory.count} requests)"] = server.workers_rss_mib()


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


def bench_project(plan: Plan, setup: Setup, workers: int) -> ServerFigures:
    server = start_project(plan, workers)
    figures = ServerFigures("project", workers, log_path=str(server.log_path))
    try:
        drive(plan, setup, server, figures, soak=plan.soak_requests > 0)
        if "checkout" in plan.scenarios:
            figures.checkout = asyncio.run(checkout.run(
                server.url, setup.shops.checkout_product_id,
                concurrency=plan.checkout_concurrency, seconds=plan.checkout_seconds,
            ))
            c = figures.checkout
            log(f"project {workers}w checkout: {c.orders_per_second:.1f} orders/s  p50 {c.p50_ms:.0f} ms  "
                f"p99 {c.p99_ms:.0f} ms  errors {c.errors} {c.first_error}")
    finally:
        servers.stop(server)
    figures.log_errors = server.log_errors()
    return figures


def bench_baseline(plan: Plan, setup: Setup, workers: int) -> ServerFigures:
    server = start_baseline(plan, workers)
    figures = ServerFigures("baseline", workers, log_path=str(server.log_path))
    try:
        drive(plan, setup, server, figures)
    finally:
        servers.stop(server)
    figures.log_errors = server.log_errors()
    return figures


def set_up(plan: Plan) -> tuple[Setup, dict[str, str], dict[str, int]]:
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
    log(f"seeded {sum(len(s) for s in shoppers.by_size.values())} shoppers with carts, {len(shoppers.adders)} adders")
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
    started = time.monotonic()
    info = machine.describe(plan.project_root, database.server_versions(plan.database_url))
    setup, sizes, differing = set_up(plan)
    statements = count_statements(plan, setup)
    log(f"SQL statements per request (project, in-process): {statements}")
    all_figures = []
    for workers in plan.workers:
        all_figures.append(bench_project(plan, setup, workers))
        all_figures.append(bench_baseline(plan, setup, workers))
    info["took"] = f"{(time.monotonic() - started) / 60:.1f} min"
    info["command"] = "make bench" if not argv else "bench/load.py " + " ".join(argv)
    text = report.render(plan, info, all_figures, statements, sizes, differing)
    print("\n" + text)
    if plan.write_readme and plan.project_root == HARNESS_ROOT:
        report.write_readme(BENCH_DIR / "README.md", text)
        log("figures written to bench/README.md")


if __name__ == "__main__":
    main(sys.argv[1:])
