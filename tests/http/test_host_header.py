"""A malformed Host header is a plain 400 with one warning line, in every mode, behind a
trusted proxy too (X-Forwarded-Host, X-Forwarded-Proto) (issue 8, item 4).

Before, a 64-character label or an empty one raised in werkzeug while Quart made the request
context, before any error handler: hypercorn answered 500 and logged a traceback; the other
malformed values were served with an empty host. Requests go in as ASGI with the bytes given
(tests/http/raw_asgi.py); the last test sends them to a real hypercorn.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlencode

import h2.config
import h2.connection
import h2.events
import pytest
from quart import Quart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import CartItem
from shared.config import PROJECT_ROOT, load_settings
from shared.db import make_sessionmaker
from shared.host_guard import valid_host
from tests.conftest import TEST_REDIS_URL
from tests.factories import Factory
from tests.http.raw_asgi import RawResponse, send_raw, session_cookie

TOKEN = "cart-csrf-token-" + "z" * 20
LONG_NAME = b".".join([b"a" * 63] * 3 + [b"b" * 61])  # 253 characters
MALFORMED_HOSTS = [
    b"a" * 64 + b".example",  # a label of 64 characters
    b"a" * 64,
    b"cart." + b"a" * 64,
    b"cart..example",  # empty labels
    b".example",
    b".",
    b"",
    LONG_NAME + b"b",  # 254 characters
    LONG_NAME + b".x",
    b"cart.example:0",  # bad ports
    b"cart.example:65536",
    b"cart.example:99999",
    b"cart.example:",
    b"cart.example:80a",
    b"cart.example:-1",
    b"cart.example:0080",
    b"cart.example:8002:8002",
    b"cart_service.example",  # underscore
    b"under_score",
    "bücher.example".encode(),  # non-ASCII, as UTF-8 and as Latin-1
    "bücher.example".encode("latin-1"),
    "cart\u2028.example".encode(),
    b"cart example",  # spaces
    b" cart.example",
    b"cart.example ",
    b"cart.example\t",
    b"-cart.example",  # hyphens at a label's ends
    b"cart-.example",
    b"cart.example/evil",
    b"user@cart.example",
    b"cart.example\x00",
    b"[::1",  # IPv6 not an address, or not in brackets
    b"[::1]x",
    b"[nothex::1]",
    b"[1:2:3:4:5:6:7:8:9]",
    b"[::1]:65536",
    b"::1",
    b"[fe80::1%25eth0]",
]
VALID_HOSTS = [
    b"cart.example",
    b"CART.Example",
    b"cart.example.",
    b"cart.example:1",
    b"cart.example:65535",
    b"localhost",
    b"localhost:8002",
    b"127.0.0.1",
    b"127.0.0.1:8002",
    b"[::1]",
    b"[::1]:8002",
    b"[2001:db8::ff00:42:8329]:443",
    b"[::ffff:192.0.2.1]",
    b"xn--bcher-kva.example",
    b"a" * 63 + b".example",
    LONG_NAME,
    LONG_NAME + b".",
    b"my-cart.coop.example",
]
BAD_HOST = b"Bad Request: malformed Host header"


def test_valid_host_takes_host_and_port_as_dns_and_werkzeug_read_them() -> None:
    assert [host for host in MALFORMED_HOSTS if valid_host(host)] == []
    assert [host for host in VALID_HOSTS if not valid_host(host)] == []


def settings_env(database_url: str, var_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        "DATABASE_URL_ASYNC": database_url,
        "CART_VAR_DIR": str(var_dir),
        "SECRET_KEY": "t" * 32,
        "BACKGROUND_JOBS": "false",
        **overrides,
    }
    if TEST_REDIS_URL:
        env["REDIS_URL"] = TEST_REDIS_URL
    return env


@asynccontextmanager
async def serving(engine: AsyncEngine, env: dict[str, str]) -> AsyncIterator[Quart]:
    from app import create_app

    app = create_app(load_settings(env))
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    async with app.test_app():
        yield app


@pytest.fixture(params=["development", "production"])
async def served(request, database_url: str, var_dir: Path, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    async with serving(engine, settings_env(database_url, var_dir, APP_MODE=request.param)) as app:
        yield app


async def get(app: Quart, path: str, *headers: tuple[bytes, bytes]) -> RawResponse:
    return await send_raw(app, "GET", path, list(headers))


def host_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "shared.host_guard"]


def no_trace_nor_error(caplog: pytest.LogCaptureFixture) -> bool:
    return not any(r.exc_info or r.levelno >= logging.ERROR for r in caplog.records)


async def test_a_malformed_host_is_a_plain_400_with_one_warning_line_and_no_traceback(  # type: ignore[no-untyped-def]
    served, caplog
) -> None:
    caplog.set_level(logging.INFO)
    wrong = []
    for host in MALFORMED_HOSTS:
        caplog.clear()
        response = await get(served, "/healthz", (b"host", host))
        if not (
            response.status == 400
            and response.body == BAD_HOST
            and response.header("content-type") == b"text/plain; charset=utf-8"
            and len(host_warnings(caplog)) == 1
            and no_trace_nor_error(caplog)
        ):
            wrong.append((host, response.status, response.body[:80]))

    assert wrong == []


async def test_a_query_string_that_is_not_utf8_is_a_400_with_no_traceback(  # type: ignore[no-untyped-def]
    served, caplog
) -> None:
    # HTTP/2 carries such bytes (HTTP/1.1 does not): Quart decoded them before any handler.
    caplog.set_level(logging.INFO)
    host = [(b"host", b"cart.example")]

    latin1 = await send_raw(served, "GET", "/healthz", host, query_string=b"q=caf\xe9")
    utf8 = await send_raw(served, "GET", "/healthz", host, query_string="q=café".encode())

    assert (latin1.status, latin1.body) == (400, b"Bad Request: malformed query string")
    assert utf8.status == 200
    assert no_trace_nor_error(caplog)


async def test_two_host_headers_are_a_400(served) -> None:  # type: ignore[no-untyped-def]
    response = await get(served, "/healthz", (b"host", b"cart.example"), (b"host", b"evil.example"))

    assert (response.status, response.body) == (400, BAD_HOST)


async def test_valid_hosts_are_served_and_a_request_without_host_too(  # type: ignore[no-untyped-def]
    served, caplog
) -> None:
    caplog.set_level(logging.INFO)
    wrong = []
    for host in VALID_HOSTS:
        response = await get(served, "/healthz", (b"host", host))
        if response.status != 200:
            wrong.append((host, response.status))
    # HTTP/1.0 may send none: werkzeug falls back to the server's address.
    without = await get(served, "/healthz")

    assert wrong == []
    assert without.status == 200
    assert host_warnings(caplog) == [] and no_trace_nor_error(caplog)


async def test_a_request_refused_for_its_host_changes_nothing(  # type: ignore[no-untyped-def]
    served, db: AsyncSession, factory: Factory
) -> None:
    page = await factory.page(slug="bakery", title="Bakery")
    bread = await factory.product(page_id=page.id, title="Bread")
    body = urlencode({"product_id": str(bread.id), "csrf_token": TOKEN}).encode()
    cookie = session_cookie(served, {"csrf_token": TOKEN, "cart_anon_id": "anon-" + "a" * 20})
    form_headers = [
        (b"cookie", cookie),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
    ]

    refused = await send_raw(
        served, "POST", "/cart/add", [(b"host", b"a" * 64 + b".example"), *form_headers], body
    )
    await db.rollback()
    stored = (await db.scalars(select(CartItem.id))).all()
    # APP_URL_CART's host: development takes forms on that one name only.
    added = await send_raw(
        served, "POST", "/cart/add", [(b"host", b"127.0.0.1:8002"), *form_headers], body
    )

    assert refused.status == 400 and stored == []
    assert added.status == 302  # the same form with a good Host is taken


@pytest.fixture
async def behind_a_proxy(database_url: str, var_dir: Path, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    env = settings_env(database_url, var_dir, APP_MODE="production", TRUSTED_PROXY_HOPS="1")
    async with serving(engine, env) as app:
        yield app


async def test_behind_a_trusted_proxy_a_malformed_x_forwarded_host_is_a_400(  # type: ignore[no-untyped-def]
    behind_a_proxy, caplog
) -> None:
    caplog.set_level(logging.INFO)
    proxy_host = (b"host", b"10.0.0.5:8002")
    wrong = []
    for host in MALFORMED_HOSTS:
        if host.strip() != host or b"," in host:
            continue  # the proxy fix strips each value and splits on commas
        response = await get(behind_a_proxy, "/healthz", proxy_host, (b"x-forwarded-host", host))
        if (response.status, response.body) != (400, BAD_HOST):
            wrong.append((host, response.status))
    # The value the one trusted proxy added is the last one: the client's own comes first.
    last_malformed = await get(
        behind_a_proxy, "/healthz", proxy_host, (b"x-forwarded-host", b"cart.example, a..b")
    )
    last_valid = await get(
        behind_a_proxy, "/healthz", proxy_host, (b"x-forwarded-host", b"a..b, cart.example")
    )

    assert wrong == []
    assert last_malformed.status == 400 and last_valid.status == 200
    assert no_trace_nor_error(caplog)


async def test_behind_a_trusted_proxy_x_forwarded_proto_must_be_http_or_https(  # type: ignore[no-untyped-def]
    behind_a_proxy,
) -> None:
    host = (b"host", b"cart.example")
    statuses = {
        proto: (await get(behind_a_proxy, "/healthz", host, (b"x-forwarded-proto", proto))).status
        for proto in (b"https", b"http", b"ftp", b"HTTPS", b"javascript", b"ht\ttp", b"h\xe9")
    }

    assert statuses == {
        b"https": 200,
        b"http": 200,
        b"ftp": 400,
        b"HTTPS": 400,
        b"javascript": 400,
        b"ht\ttp": 400,
        b"h\xe9": 400,
    }


async def test_without_trusted_proxies_x_forwarded_host_is_not_read(  # type: ignore[no-untyped-def]
    served,
) -> None:
    response = await get(
        served, "/healthz", (b"host", b"cart.example"), (b"x-forwarded-host", b"a" * 64)
    )

    assert response.status == 200


# A real hypercorn, as `make run` and the Dockerfile serve the app.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raw_http(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def h2c_get(port: int, path: bytes, authority: bytes) -> tuple[bytes | None, bytes]:
    """(status, body) of a GET over HTTP/2 without TLS (prior knowledge), which hypercorn
    speaks on the same port as HTTP/1.1."""
    client = h2.connection.H2Connection(
        h2.config.H2Configuration(client_side=True, header_encoding=None)
    )
    client.initiate_connection()
    headers = [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", authority)]
    client.send_headers(1, [*headers, (b":path", path)], end_stream=True)
    status, body = None, b""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(client.data_to_send())
        while chunk := connection.recv(65536):
            for event in client.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived):
                    status = dict(event.headers).get(b":status")
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    return status, body
            connection.sendall(client.data_to_send())
    return status, body


@pytest.fixture
def hypercorn(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """`hypercorn app:app` on a free port, in development mode explicitly as `make run`
    serves it; its log goes to a file. Nothing it answers here asks the database."""
    port = free_port()
    log_path = tmp_path / "hypercorn.log"
    env = {
        **os.environ,
        "APP_MODE": "development",
        "DATABASE_URL_ASYNC": f"sqlite+aiosqlite:///{tmp_path / 'cart.sqlite3'}",
        "CART_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "h" * 32,
        "BACKGROUND_JOBS": "false",
        "TRUSTED_PROXY_HOPS": "0",
        # Its own address: development takes forms on APP_URL_CART's host and port only.
        "APP_URL_CART": f"http://127.0.0.1:{port}",
    }
    env.pop("REDIS_URL", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "hypercorn", "app:app", "--bind", f"127.0.0.1:{port}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 20
        while b"Running on" not in log_path.read_bytes():
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "hypercorn did not start in 20 s"
            time.sleep(0.1)
        yield port, log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def test_hypercorn_answers_a_malformed_host_or_query_400_and_an_unsafe_next_with_the_cart(  # type: ignore[no-untyped-def]
    hypercorn,
) -> None:
    port, log_path = hypercorn
    long_label = raw_http(
        port,
        b"GET /healthz HTTP/1.1\r\nHost: " + b"a" * 64 + b".example\r\nConnection: close\r\n\r\n",
    )
    underscore = raw_http(
        port, b"GET /healthz HTTP/1.1\r\nHost: cart_1.example\r\nConnection: close\r\n\r\n"
    )
    good = raw_http(
        port, b"GET /healthz HTTP/1.1\r\nHost: cart.example\r\nConnection: close\r\n\r\n"
    )
    h2_long_label = h2c_get(port, b"/healthz", b"a" * 64 + b".example")
    h2_latin1_query = h2c_get(port, b"/healthz?q=caf\xe9", b"cart.example")
    # A checkout refused (its form expired) goes back to `next`: a vertical tab in it.
    cookie = session_cookie(_signer("h" * 32), {"csrf_token": TOKEN})
    body = urlencode({"csrf_token": TOKEN, "next": "/cart/\x0b", "checkout_key": "x"}).encode()
    unsafe_next = raw_http(
        port,
        b"\r\n".join(
            [
                b"POST /cart/checkout HTTP/1.1",
                b"Host: 127.0.0.1:%d" % port,
                b"Connection: close",
                b"Cookie: " + cookie,
                b"Content-Type: application/x-www-form-urlencoded",
                b"Content-Length: %d" % len(body),
                b"",
                body,
            ]
        ),
    )

    assert long_label.startswith(b"HTTP/1.1 400 ") and long_label.endswith(BAD_HOST)
    assert underscore.startswith(b"HTTP/1.1 400 ")
    assert good.startswith(b"HTTP/1.1 200 ")
    assert h2_long_label == (b"400", BAD_HOST)
    assert h2_latin1_query == (b"400", b"Bad Request: malformed query string")
    assert unsafe_next.startswith(b"HTTP/1.1 303 ") and b"\r\nlocation: /cart/\r\n" in unsafe_next
    log = log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Error in ASGI" not in log, log
    assert log.count("400 for a malformed Host header") == 3, log
    assert log.count("400 for a malformed query string") == 1, log


def _signer(secret_key: str) -> Quart:
    """An app that signs session cookies as the served one does (same secret, same name)."""
    signer = Quart("signer")
    signer.config.update(SECRET_KEY=secret_key, SESSION_COOKIE_NAME="coop_session")
    return signer
