"""What the figures were measured on and at: machine, versions, commit, date."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def git_commit(root: Path) -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    # Uncommitted changes of the app's code count: others may be changing it right now.
    dirty = git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "app.py",
        "bp",
        "shared",
        "templates",
        "models",
        "services",
        "sumup",
    )
    return commit + (" + uncommitted changes" if dirty else "")


def describe(project_root: Path, postgres_version: str) -> dict[str, str]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(project_root),
        "cpus": str(os.cpu_count()),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "postgres": postgres_version,
        "load": load_average(),
    }
