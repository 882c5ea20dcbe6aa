"""Where a request's CPU goes, by component, from a py-spy profile in collapsed stacks.

    .venv/bin/python bench/profile_breakdown.py var/bench/profile-page10-c16-<commit>.txt
    .venv/bin/python bench/profile_breakdown.py BEFORE.txt AFTER.txt --ms 8.6 3.9

The profile is `py-spy record --gil --format raw` of one worker (`make profile
BENCH_ARGS='--profile-format raw'`). Each sample is charged to the innermost frame that
belongs to a known component (SQLAlchemy, Jinja2, Quart, ...): the component doing the work
at that instant, not whatever called it. SQLAlchemy's async calls run in greenlets whose
stacks do not reach back to the request, so "inclusive" shares would hide them; self shares
add up to 100 %. With `--ms` (CPU milliseconds per request, one figure per profile) the
shares are also given in milliseconds.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections import Counter
from pathlib import Path

# (a piece of a frame's file path, the component). The first that matches wins, so the more
# specific come first: SQLAlchemy's statement building before the rest of SQLAlchemy.
COMPONENTS = (
    ("sqlalchemy/sql/", "SQLAlchemy: building statements, cache keys"),
    ("sqlalchemy/orm/", "SQLAlchemy: ORM and session"),
    ("sqlalchemy/util/concurrency", "SQLAlchemy: greenlet bridge"),
    ("sqlalchemy/util/_concurrency", "SQLAlchemy: greenlet bridge"),
    ("greenlet", "SQLAlchemy: greenlet bridge"),
    ("sqlalchemy/", "SQLAlchemy: engine, results, pool, dialect"),
    ("asyncpg/", "asyncpg"),
    ("jinja2/", "Jinja2 (and the templates)"),
    ("markupsafe/", "Jinja2 (and the templates)"),
    (".html", "Jinja2 (and the templates)"),
    ("quart/", "Quart (and Flask, Werkzeug)"),
    ("flask/", "Quart (and Flask, Werkzeug)"),
    ("werkzeug/", "Quart (and Flask, Werkzeug)"),
    ("itsdangerous/", "Quart (and Flask, Werkzeug)"),
    ("hypercorn/", "hypercorn (and h11)"),
    ("h11/", "hypercorn (and h11)"),
    ("asyncio/", "event loop"),
    ("selectors", "event loop"),
    ("redis/", "redis"),
    ("babel/", "Babel"),
)
# The project's own code: its packages, and its modules that py-spy names by file alone.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("bp", "services", "shared", "models", "sumup")
PROJECT_PARTS = tuple(f"({package}/" for package in PROJECT_PACKAGES)
# py-spy names some modules by their file alone; a name that a library also has (app.py,
# config.py, ...) says nothing, and is left to the frames around it.
_LIBRARY_FILES = frozenset(
    path.name
    for library in ("quart", "flask", "werkzeug", "hypercorn", "jinja2", "sqlalchemy", "asyncpg")
    if (spec := importlib.util.find_spec(library)) and spec.origin
    for path in Path(spec.origin).parent.rglob("*.py")
)
PROJECT_FILES = frozenset(
    f"({path.name}:"
    for package in PROJECT_PACKAGES
    for path in (PROJECT_ROOT / package).rglob("*.py")
    if path.name not in _LIBRARY_FILES
)
PROJECT = "the project's own code"
OTHER = "other (standard library, native)"


def component_of(frame: str) -> str | None:
    for part, component in COMPONENTS:
        if part in frame:
            return component
    if any(part in frame for part in PROJECT_PARTS):
        return PROJECT
    if frame[frame.rfind("(") :].split(":")[0] + ":" in PROJECT_FILES:
        return PROJECT
    return None


def shares(collapsed: Path) -> tuple[Counter[str], int]:
    """Samples per component, and all samples, of a py-spy raw (collapsed stacks) file."""
    counts: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        total += int(samples)
        frames = stack.split(";")
        found = next((c for c in map(component_of, reversed(frames)) if c is not None), None)
        counts[found or OTHER] += int(samples)
    return counts, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profiles", nargs="+", type=Path, help="py-spy raw files")
    parser.add_argument("--ms", nargs="*", type=float, default=[], help="CPU ms/request each")
    args = parser.parse_args()
    measured = [shares(path) for path in args.profiles]
    components = sorted(
        {c for counts, _ in measured for c in counts},
        key=lambda c: -sum(counts[c] / total for counts, total in measured if total),
    )
    header = " | ".join(path.name for path in args.profiles)
    print(f"| component | {header} |")
    print("|---" * (len(args.profiles) + 1) + "|")
    for component in components:
        cells = []
        for index, (counts, total) in enumerate(measured):
            share = counts[component] / total if total else 0.0
            cell = f"{100 * share:.0f} %"
            if index < len(args.ms):
                cell += f" ({share * args.ms[index]:.2f} ms)"
            cells.append(cell)
        print(f"| {component} | {' | '.join(cells)} |")
    print(f"| samples | {' | '.join(str(total) for _, total in measured)} |")


if __name__ == "__main__":
    main()
