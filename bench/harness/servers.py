"""hypercorn processes of the project (the production command, `hypercorn app:app`) and of
the baseline, on free ports, their stderr in a log file, their workers' memory."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.config import without_settings  # the harness's own checkout (bench/load.py)

START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20
HYPERCORN = str(Path(sys.executable).with_name("hypercorn"))

SECRET_KEY = "bench-" + "k" * 40  # the project's and the baseline's: both read the cookie


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def project_env(
    *, origin: str, database_url: str, redis_url: str, var_dir: Path, background_jobs: bool = True
) -> dict[str, str]:
    """Development mode stated explicitly (the SumUp sandbox is served: the checkout
    scenario pays there), on PostgreSQL and Redis, the order jobs and event dispatcher on
    as in production, one host name not enforced, quantities up to the highest allowed."""
    env = without_settings(os.environ, "BASELINE_")
    env.update(
        APP_MODE="development",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL_ASYNC=database_url,
        REDIS_URL=redis_url,
        EVENTS_STREAM="bench:events",
        APP_URL_CART=origin,
        CART_VAR_DIR=str(var_dir),
        AUDIT_LOG=str(var_dir / "audit.log"),
        BACKGROUND_JOBS="true" if background_jobs else "false",
        CANONICAL_HOST_REDIRECT="false",
        CART_MAX_QUANTITY="10000",
        SUMUP_SANDBOX_STORE="database",
        # The sandbox is this same server: under load its answer may take a while.
        SUMUP_TIMEOUT_SECONDS="60",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Server:
    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """hypercorn's workers: the children of its master process that multiprocessing
        spawned (its resource tracker is a child too)."""
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        try:
            pids = [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []
        return [pid for pid in pids if b"spawn_main" in _cmdline(pid)]

    def workers_rss_mib(self) -> list[float]:
        return [rss_mib(pid) for pid in self.worker_pids()]

    def log_errors(self) -> int:
        """ERROR lines and tracebacks in the server's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return sum(1 for line in text.splitlines() if _ERROR_LINE.search(line))

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


_ERROR_LINE = re.compile(r"\bERROR\b|^Traceback \(most recent call last\)")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def start(
    name: str, *, app: str, cwd: Path, env: dict[str, str], workers: int, log_path: Path, port: int
) -> Server:
    """`port` is chosen beforehand (free_port): the project's settings name its own origin."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            [HYPERCORN, app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, port, popen, log_path)
    _wait_until_ready(server, workers)
    return server


def _wait_until_ready(server: Server, workers: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            raise SystemExit(f"{server.name} exited before it was ready:\n{server.log_tail()}")
        try:
            ready = httpx.get(server.url + "/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            ready = False
        # Each worker imports the app on its own: ask until all of them are listening.
        if ready and len(server.worker_pids()) == workers:
            _warm_every_worker(server, workers)
            return
        time.sleep(0.3)
    stop(server)
    raise SystemExit(f"{server.name} not ready in {START_TIMEOUT_SECONDS} s:\n{server.log_tail()}")


def _warm_every_worker(server: Server, workers: int) -> None:
    """A few requests more, so that the workers' start-up is over before any timing."""
    with httpx.Client(timeout=10) as client:
        for _ in range(4 * workers):
            client.get(server.url + "/readyz")
    time.sleep(0.5)


# A server is idle again when none of its workers has used more than this share of a CPU
# over a short look, twice in a row.
IDLE_CPU_SHARE = 0.05
IDLE_LOOK_SECONDS = 0.2
IDLE_TIMEOUT_SECONDS = 15.0


def wait_until_idle(server: Server) -> None:
    """Wait for every worker to finish the requests of the run before, so that none of them
    is timed in the next. The project finishes a request whose client has gone
    (shared/disconnect.py) where bare Quart cancels it, so after a run at 64 connections its
    workers still have some to do. A worker still busy then accepts none of the next run's
    connections, which all go to the other: one worker with all the load for the whole run
    (hypercorn's workers share one socket). Each worker's CPU time is watched, not an answer
    to a request, which only one of them would give."""
    deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS
    quiet_looks = 0
    while quiet_looks < 2 and time.monotonic() < deadline:
        pids = server.worker_pids()
        before = {pid: _cpu_seconds(pid) for pid in pids}
        time.sleep(IDLE_LOOK_SECONDS)
        busiest = max((_cpu_seconds(pid) - used for pid, used in before.items()), default=0.0)
        quiet_looks = quiet_looks + 1 if busiest < IDLE_CPU_SHARE * IDLE_LOOK_SECONDS else 0


def workers_cpu_seconds(server: Server) -> dict[int, float]:
    return {pid: _cpu_seconds(pid) for pid in server.worker_pids()}


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime: fields 14 and 15 of /proc/<pid>/stat, counted from the state (3rd).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(server: Server) -> None:
    if server.popen.poll() is not None:
        return
    os.killpg(server.popen.pid, signal.SIGTERM)
    try:
        server.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.popen.pid, signal.SIGKILL)
        server.popen.wait()
