"""One shared httpx.AsyncClient per app: made when it starts serving, closed when it stops."""

from __future__ import annotations

import httpx
from quart import Quart

HTTP_CLIENT_KEY = "http_client"


def init_http_client(app: Quart) -> None:
    @app.before_serving
    async def _open_http_client() -> None:
        # Tests put their own (an ASGI transport to this app) in place before start.
        if HTTP_CLIENT_KEY not in app.extensions:
            app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0), follow_redirects=False
            )

    @app.after_serving
    async def _close_http_client() -> None:
        client: httpx.AsyncClient | None = app.extensions.pop(HTTP_CLIENT_KEY, None)
        if client is not None:
            await client.aclose()


def http_client_of(app: Quart) -> httpx.AsyncClient:
    return app.extensions[HTTP_CLIENT_KEY]
