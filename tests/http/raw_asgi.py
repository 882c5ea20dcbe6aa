"""One request sent to the app as ASGI, with header bytes exactly as given.

The test client encodes header values itself and refuses some; a server hands the app the
bytes it read. This sends them as they are (the Host header too) and reads the answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from quart import Quart


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> bytes | None:
        wanted = name.lower().encode("ascii")
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def session_cookie(app: Quart, values: dict[str, Any]) -> bytes:
    """A `Cookie:` header value carrying a session with `values`, signed as the app signs."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    value = serializer.dumps(dict(values))
    return f"{app.config['SESSION_COOKIE_NAME']}={value}".encode("ascii")


async def send_raw(
    app: Quart,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
    *,
    scheme: str = "http",
    query_string: bytes = b"",
) -> RawResponse:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": query_string,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8002),
        "extensions": {},
    }
    sent_body = False
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()  # the client stays connected; the app cancels this when done
        return {"type": "http.disconnect"}

    status = 0
    response_headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, response_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            response_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)  # type: ignore[arg-type]
    return RawResponse(status, response_headers, b"".join(chunks))
