"""wrk runs and what they print, read into numbers."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"
WRK = "wrk"

BUSY_WORKER_SHARE = 0.25
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    bad_answers: int  # by the Lua script: not the status (and redirect) expected
    socket_errors: int  # connect, read, write and timeouts
    # Each worker's share of the server's CPU time during the run (bench/load.py): how the
    # connections fell between hypercorn's workers. Empty when not measured.
    worker_shares: tuple[float, ...] = ()

    @property
    def errors(self) -> int:
        return self.bad_answers + self.socket_errors

    @property
    def both_workers_busy(self) -> bool:
        """Every worker did at least a quarter of the work: not one worker's pace by luck."""
        return len(self.worker_shares) > 1 and min(self.worker_shares) >= BUSY_WORKER_SHARE


def median_of(results: list[WrkResult]) -> WrkResult:
    """Rounds of one run as one: the median of each figure, the errors of all rounds."""
    if len(results) == 1:
        return results[0]
    return WrkResult(
        requests=sum(r.requests for r in results),
        requests_per_second=statistics.median(r.requests_per_second for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        bad_answers=sum(r.bad_answers for r in results),
        socket_errors=sum(r.socket_errors for r in results),
    )


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII is a valid Lua string literal


def write_lua_table(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("return " + body + "\n")
    return path


def run(
    url: str, script: str, script_arg: Path, *, connections: int, seconds: float, threads: int = 2
) -> WrkResult:
    threads = max(1, min(threads, connections))
    done = subprocess.run(
        [
            WRK,
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds:g}s",
            "--timeout=10s",
            "--latency",
            "--script",
            str(LUA_DIR / script),
            url,
            "--",
            str(script_arg),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout)


def _duration_ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not found:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(found.group(1)) * _UNITS_MS[found.group(2)]


def parse(output: str) -> WrkResult:
    """Numbers from `wrk --latency` with bench/lua's scripts (which add bench-bad-answers)."""

    def number(pattern: str, default: str | None = None) -> str:
        found = re.search(pattern, output, re.MULTILINE)
        if found:
            return found.group(1)
        if default is None:
            raise ValueError(f"wrk's output has no {pattern!r}:\n{output}")
        return default

    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests=int(number(r"^\s*(\d+) requests in")),
        requests_per_second=float(number(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_duration_ms(number(r"^\s+50%\s+(\S+)")),
        p99_ms=_duration_ms(number(r"^\s+99%\s+(\S+)")),
        bad_answers=int(number(r"^bench-bad-answers: (\d+)", "0")),
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )
