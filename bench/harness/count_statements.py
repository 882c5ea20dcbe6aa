"""SQL statements per request of the project's app, counted in-process.

    python bench/harness/count_statements.py PROJECT_ROOT < requests.json > counts.json

Run by bench/load.py with the same settings (environment) as the bench's servers, on the
same database and carts: it imports the app of PROJECT_ROOT (another checkout maybe),
sends each request of requests.json through the app's test client a few times with a
SQLAlchemy `before_cursor_execute` listener on the app's engine, and prints as JSON the
statements per request and the texts of one request's (whitespace folded), which bench/
load.py compares with the baseline's. `--show` prints the texts on stderr too (to write the
baseline's queries.py).
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


def one_line(statement: str) -> str:
    """The statement's text with its whitespace folded, as both sides are compared."""
    return " ".join(statement.split())


async def count(requests: list[dict[str, Any]], show: bool) -> dict[str, Any]:
    from sqlalchemy import event

    from app import create_app
    from shared.db import engine_of

    app = create_app()
    statements: list[str] = []

    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    counts: dict[str, float] = {}
    texts: dict[str, list[str]] = {}
    async with app.test_app():
        event.listen(engine_of(app).sync_engine, "before_cursor_execute", _record)
        client = app.test_client()
        for spec in requests:
            await send_request(client, spec)  # warm-up
            statements.clear()
            for _ in range(REPEATS):
                await send_request(client, spec)
            counts[spec["name"]] = len(statements) / REPEATS
            texts[spec["name"]] = [one_line(s) for s in statements[: len(statements) // REPEATS]]
            if show:
                _show(spec["name"], counts[spec["name"]], texts[spec["name"]])
    return {"counts": counts, "statements": texts}


def _show(name: str, per_request: float, texts: list[str]) -> None:
    print(f"--- {name}: {per_request:g} statements", file=sys.stderr)
    for text in texts:
        print(text + ";", file=sys.stderr)


async def send_request(client: Any, spec: dict[str, Any]) -> None:
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
    print(json.dumps(asyncio.run(count(requests, show="--show" in sys.argv))))


if __name__ == "__main__":
    main()
