"""A tiny round-robin HTTP/1.1 reverse proxy: each request goes to the next process.

It runs in the test's own process, on an asyncio loop in a thread of its own, so it answers
whatever the test's loop is doing. Every request is sent to the next backend in turn (not
every connection: a browser's keep-alive connection would otherwise stick to one process),
with its Host header unchanged, as a reverse proxy that keeps the public name does; the
answer says which process served it (`X-Served-By: <n>`). One request per connection, both
sides (Connection: close): simple, and enough for a test.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field

SERVED_BY = "x-served-by"
_HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-connection", b"te", b"upgrade"})
IO_TIMEOUT_SECONDS = 120.0  # the machine may be busy; a test's own timeouts come first


@dataclass
class RoundRobinProxy:
    port: int
    backends: list[int]  # ports on 127.0.0.1
    served: Counter[int] = field(default_factory=Counter)  # backend index -> requests
    failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._turns = itertools.cycle(range(len(self.backends)))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", self.port), self._loop
        )
        self._server = future.result(timeout=30)

    def stop(self) -> None:
        if not self._thread.is_alive():
            self._loop.close()
            return

        async def _close() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(_close(), self._loop).result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IO_TIMEOUT_SECONDS)
            lines = head[:-4].split(b"\r\n")
            headers = [line.split(b":", 1) for line in lines[1:]]
            length = 0
            for name, value in headers:
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
                if name.strip().lower() == b"transfer-encoding":
                    writer.write(_answer(501, b"chunked request bodies are not proxied"))
                    return
            body = await asyncio.wait_for(reader.readexactly(length), IO_TIMEOUT_SECONDS)
            kept = [b":".join(h) for h in headers if h[0].strip().lower() not in _HOP_BY_HOP]
            request = b"\r\n".join([lines[0], *kept, b"Connection: close", b"", b""]) + body
            index = next(self._turns)
            self.served[index] += 1
            writer.write(await self._forward(index, request))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as exc:
            self.failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            writer.close()

    async def _forward(self, index: int, request: bytes) -> bytes:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.backends[index]), IO_TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError) as exc:
            self.failures.append(f"backend {index}: {type(exc).__name__}: {exc}")
            return _answer(502, f"process {index} did not answer".encode())
        try:
            writer.write(request)
            await writer.drain()
            response = await asyncio.wait_for(reader.read(), IO_TIMEOUT_SECONDS)
        finally:
            writer.close()
        head, _, body = response.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        kept = [
            line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP
        ]
        served_by = f"{SERVED_BY}: {index}".encode()
        return b"\r\n".join([lines[0], *kept, served_by, b"connection: close", b"", b""]) + body


def _answer(status: int, text: bytes) -> bytes:
    return (
        f"HTTP/1.1 {status} Proxy\r\ncontent-type: text/plain\r\n"
        f"content-length: {len(text)}\r\nconnection: close\r\n\r\n"
    ).encode() + text
