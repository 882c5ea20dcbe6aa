"""The SQL statements the baseline sends for each request, recorded in-process.

    python bench/harness/baseline_statements.py < requests.json > statements.json

Run by bench/load.py from the repository's root with the baseline server's settings
(environment), on the bench's database and carts, with the same requests.json as
count_statements.py: it imports bench/baseline/app.py, sends each request once through its
test client with an asyncpg query logger on every pooled connection, and prints each
request's statement texts (whitespace folded) as JSON, to be compared with the project's,
with the counts its code states (queries.STATEMENTS), which the report shows.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from pathlib import Path
from typing import Any

import asyncpg

# The repository's root, for `bench.baseline.app`; this folder is on sys.path already.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from count_statements import one_line, send_request  # noqa: E402


async def record(requests: list[dict[str, Any]]) -> dict[str, Any]:
    sent: list[str] = []

    def _log(query: Any) -> None:
        # BEGIN, COMMIT and the pool's reset on release carry no parameters (neither side
        # counts them); every statement of the baseline does.
        if query.args:
            sent.append(one_line(query.query))

    async def _listen(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(_log)

    # The app opens its pool at startup: each of its connections gets the logger.
    asyncpg.create_pool = functools.partial(asyncpg.create_pool, init=_listen)
    from bench.baseline import queries
    from bench.baseline.app import app

    texts: dict[str, list[str]] = {}
    async with app.test_app():
        client = app.test_client()
        for spec in requests:
            sent.clear()
            await send_request(client, spec)
            await asyncio.sleep(0)  # asyncpg calls the loggers soon after, not at once
            texts[spec["name"]] = list(sent)
    stated = {name: queries.statements_of(name) for name in texts}
    return {"statements": texts, "stated": stated}


def main() -> None:
    print(json.dumps(asyncio.run(record(json.load(sys.stdin)))))


if __name__ == "__main__":
    main()
