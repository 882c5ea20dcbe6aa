"""The real processes the faults are done to: a PostgreSQL cluster, a Redis server and the app
under hypercorn, each of the test's own on a free port of 127.0.0.1.

Nothing here touches the machine's own PostgreSQL (5432) or Redis (6379): the cluster is made
by initdb in a temporary directory, the Redis server is started with its own port and no
persistence, and every process is ended by its own id (a process group of its own for
hypercorn, whose worker is a child).
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.config import PROJECT_ROOT, without_settings

# Generous, bounded: the machine CI runs on has two cores, often busy.
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
COMMAND_TIMEOUT_SECONDS = 90.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until(check: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.2) -> bool:
    """Whether `check()` came true within `within` seconds (asked every `every`)."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)


def _wait_for_port(port: int, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


# --- PostgreSQL ------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest PostgreSQL's binaries that can make a cluster, or None."""
    found = sorted(
        (Path(path) for path in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    usable = [path for path in found if (path / "initdb").exists() and (path / "pg_ctl").exists()]
    return usable[-1] if usable else None


def run_as_postgres(base: Path) -> list[str] | str:
    """The prefix that runs initdb/pg_ctl (initdb refuses root: then as the postgres user),
    or why the cluster cannot be made here."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        return "running as root and there is no postgres user to run a cluster"
    runuser = shutil.which("runuser")
    if runuser is None:
        return "running as root without runuser"
    os.chown(base, account.pw_uid, account.pw_gid)
    return [runuser, "-u", "postgres", "--"]


@dataclass
class ThrowawayPostgres:
    """A cluster in a temporary directory on a free port: initdb, start, stop, start."""

    bin_dir: Path
    base: Path
    run_as: list[str]
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log_path(self) -> Path:
        return self.base / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin_dir / program), *args],
            check=True,
            capture_output=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )

    def init(self) -> None:
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base}"
            " -c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._pg(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


# --- Redis -----------------------------------------------------------------------------


@dataclass
class RedisServer:
    """redis-server on a free port, no RDB and no AOF: stopped, started again, frozen."""

    executable: str
    base: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.base / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no", "--dir", str(self.base), "--daemonize", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        if not _wait_for_port(self.port, timeout=START_TIMEOUT_SECONDS):
            raise RuntimeError(f"redis-server did not listen on {self.port}")

    def stop(self) -> None:
        """SIGTERM: with nothing to save, it exits at once."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


# --- The app under hypercorn -----------------------------------------------------------


def app_env(
    *, origin: str, var_dir: Path, database_url: str, redis_url: str | None = None, **extra: str
) -> dict[str, str]:
    """Development mode asked for explicitly, on the database (and Redis) given."""
    env = without_settings(os.environ)
    env.update(
        APP_MODE="development",
        DATABASE_URL_ASYNC=database_url,
        CART_VAR_DIR=str(var_dir),
        SECRET_KEY="f" * 40,
        APP_URL_CART=origin,
        AUDIT_LOG=str(var_dir / "audit.log"),
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python manage.py ...` with the app's settings; its status is the caller's to check."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_SECONDS,
        check=False,
    )


@dataclass
class AppServer:
    """`hypercorn app:app` on one port; started again on the same port after a kill."""

    env: dict[str, str]
    log_path: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> float:
        """Starts it and waits until /readyz answers 200; the seconds that took."""
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hypercorn", "app:app", "--bind", f"127.0.0.1:{self.port}"],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # hypercorn and its worker: one group to signal
            )
        deadline = began + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the app exited ({self.process.returncode}) at start:\n{self.log_tail()}"
                )
            try:
                if httpx.get(self.url + "/readyz", timeout=3).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"the app was not ready in {START_TIMEOUT_SECONDS:g} s:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """SIGKILL to hypercorn and its worker at once: no shutdown, no cleanup."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:]) or "(no log)"
