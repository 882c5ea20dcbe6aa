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

START_TIMEOUT_SECONDS = 120
STOP_TIMEOUT_SECONDS = 20
HYPERCORN = str(Path(sys.executable).with_name("hypercorn"))

# Settings a developer's shell may hold that would make the server another than the one
# benched (a real SumUp key would turn the sandbox off, say): dropped, as the tests do.
_SETTING_PREFIXES = (
    "APP_",
    "AUDIT_LOG",
    "BACKGROUND_JOBS",
    "CANONICAL_HOST",
    "CART_",
    "DATABASE_URL",
    "EVENTS_",
    "LOCALE",
    "ORDER_",
    "REDIS_URL",
    "SECRET_KEY",
    "SESSION_COOKIE_",
    "SUMUP_",
    "TRUSTED_PROXY_HOPS",
    "BASELINE_",
)
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
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTING_PREFIXES)}
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


# A server is idle again when /readyz answers this fast several times in a row.
IDLE_ANSWER_SECONDS = 0.05
IDLE_ANSWERS_IN_A_ROW = 3
IDLE_TIMEOUT_SECONDS = 15.0


def wait_until_idle(server: Server) -> None:
    """Wait for the requests of the run before to drain, so that none of them is timed in
    the next. The project finishes a request whose client has gone (shared/disconnect.py)
    where bare Quart cancels it, so after a run at 64 connections its workers still have
    those to do: without this, they were the next run's first answers, and its p99."""
    deadline = time.monotonic() + IDLE_TIMEOUT_SECONDS
    in_a_row = 0
    with httpx.Client(timeout=IDLE_TIMEOUT_SECONDS) as client:
        while in_a_row < IDLE_ANSWERS_IN_A_ROW and time.monotonic() < deadline:
            began = time.monotonic()
            client.get(server.url + "/readyz")
            fast = time.monotonic() - began < IDLE_ANSWER_SECONDS
            in_a_row = in_a_row + 1 if fast else 0
            if not fast:
                time.sleep(0.1)


def stop(server: Server) -> None:
    if server.popen.poll() is not None:
        return
    os.killpg(server.popen.pid, signal.SIGTERM)
    try:
        server.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.popen.pid, signal.SIGKILL)
        server.popen.wait()
