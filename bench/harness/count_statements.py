"""SQL statements per request of the project's app, counted in-process.

    python bench/harness/count_statements.py PROJECT_ROOT < requests.json > counts.json

Run by bench/load.py with the same settings (environment) as the bench's servers, on the
same database and carts: it imports the app of PROJECT_ROOT (another checkout maybe),
sends each request of requests.json through the app's test client a few times with a
SQLAlchemy `before_cursor_execute` listener on the app's engine, and prints the statements
per request as JSON. `--show` prints the statements themselves (to write the baseline's).
`--url-rules` prints the app's endpoints and paths instead (for the baseline's url_for).

requests.json: [{"name": ..., "method": "GET"|"POST", "path": ..., "cookie": ...,
"form": {...} or null}, ...]. BACKGROUND_JOBS must be off: the jobs' own statements would
be counted with the requests'.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

REPEATS = 3  # after one warm-up request (which may fill caches the others then skip)


async def count(requests: list[dict[str, Any]], show: bool) -> dict[str, float]:
    from sqlalchemy import event

    from app import create_app
    from shared.db import engine_of

    app = create_app()
    statements: list[str] = []

    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    counts: dict[str, float] = {}
    async with app.test_app():
        event.listen(engine_of(app).sync_engine, "before_cursor_execute", _record)
        client = app.test_client()
        for spec in requests:
            await _send(client, spec)  # warm-up
            statements.clear()
            for _ in range(REPEATS):
                await _send(client, spec)
            counts[spec["name"]] = len(statements) / REPEATS
            if show:
                print(f"--- {spec['name']}: {len(statements) / REPEATS:g} statements", file=sys.stderr)
                for statement in statements[: len(statements) // REPEATS]:
                    print(" ".join(statement.split()) + ";", file=sys.stderr)
    return counts


async def _send(client: Any, spec: dict[str, Any]) -> None:
    headers = {"Cookie": spec["cookie"], "Accept": "text/html"}
    if spec["method"] == "POST":
        response = await client.post(spec["path"], form=spec["form"], headers=headers)
    else:
        response = await client.get(spec["path"], headers=headers)
    if response.status_code >= 400:
        raise SystemExit(f"{spec['method']} {spec['path']} answered {response.status_code}")


def url_rules() -> dict[str, str]:
    """The app's endpoints and their paths as format strings ("/cart/lines/{line_id}/remove"),
    for the baseline's url_for: the templates name whatever endpoints they name today."""
    from app import create_app

    return {
        rule.endpoint: re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for rule in create_app().url_map.iter_rules()
    }


def main() -> None:
    project_root = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(project_root))
    if "--url-rules" in sys.argv:
        print(json.dumps(url_rules()))
        return
    requests = json.load(sys.stdin)
    counts = asyncio.run(count(requests, show="--show" in sys.argv))
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
