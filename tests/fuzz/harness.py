"""How the fuzz tests send a request and judge its answer.

A request is written as the bytes a client would put on the wire and read back with h11, the
HTTP/1.1 parser hypercorn serves with: what h11 refuses never reaches the app in production
(hypercorn answers 400 itself), so it is counted and not sent. What h11 accepts becomes the
ASGI scope hypercorn would build (method upper-cased, path percent-decoded, raw path and
headers as received) and goes to the app through Quart's test client. The answer is then
sent back through the same h11 connection: a header h11 will not write (a control character
in `Location`, say) is a 500 and a logged traceback under hypercorn, so it fails here too.

Invariants, for every request (`check`):
- the app does not raise out of its ASGI handler (hypercorn: a 500 and a traceback);
- the status is below 500, and the answer is one hypercorn can send;
- the body shows no trace: no "Traceback", no `File "...`, no path of the project or of
  site-packages, no exception class name (unless the request itself carried that text, which
  a page may show back);
- no log record at ERROR or above, none with a trace (exc_info), none with "Traceback";
- a refusal (a 4xx, or a redirect that flashes an error) leaves the stored data as it was:
  every table of the schema (row counts and a checksum of the rows) and the SumUp sandbox's
  checkouts.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import re
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

import h11
from quart import Quart
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import PROJECT_ROOT
from shared.models import Base

# --- The request -------------------------------------------------------------------------


@dataclass(frozen=True)
class FuzzRequest:
    """One HTTP/1.x request. Header values are latin-1 text (one char a byte on the wire)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    # How the body is framed: "length" (a right Content-Length), "chunked", "none" (no
    # framing header at all), or a Content-Length of its own ("7", "999999999", "abc").
    framing: str = "length"
    http_version: str = "1.1"
    # What the signed session cookie holds, for the reader of a failure (not sent as such).
    session: dict[str, Any] | None = field(default=None, compare=False)

    def wire(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/{self.http_version}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        body = self.body
        if self.framing == "length":
            lines.append(f"Content-Length: {len(body)}")
        elif self.framing == "chunked":
            lines.append("Transfer-Encoding: chunked")
            body = (f"{len(body):x}\r\n".encode() + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
        elif self.framing != "none":
            lines.append(f"Content-Length: {self.framing}")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("latin-1") + body

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        headers = "".join(f"\n    {name}: {_short(value)}" for name, value in self.headers)
        session = f"\n  the signed session holds {self.session!r}" if self.session else ""
        return (
            f"\n  {self.method} {_short(self.target)} HTTP/{self.http_version}{headers}"
            f"\n  framing={self.framing} body({len(self.body)})={body!r}{session}\n"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis's printer
        printer.text(repr(self))


def _short(text: str, limit: int = 300) -> str:
    shown = repr(text)[1:-1]
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(text)} chars)"


# --- Failures ----------------------------------------------------------------------------


class FuzzFailure(AssertionError):
    """An invariant broken. Each kind and place gets a class of its own (`failure`), so that
    hypothesis reports (and shrinks) every distinct failure, not only the first it met."""


_FAILURE_CLASSES: dict[str, type[FuzzFailure]] = {}


def failure(kind: str, where: str, message: str) -> FuzzFailure:
    name = re.sub(r"\W+", "_", f"{kind}_at_{where}")[:120]
    cls = _FAILURE_CLASSES.get(name)
    if cls is None:
        cls = type(name, (FuzzFailure,), {})
        _FAILURE_CLASSES[name] = cls
    return cls(f"{kind} ({where}): {message}")


# --- Stats for the closing line ------------------------------------------------------------


@dataclass
class FuzzStats:
    requests: int = 0  # sent to the app
    refused_by_http_layer: int = 0  # refused by h11 before the app, as hypercorn would
    statuses: Counter[int] = field(default_factory=Counter)
    endpoints: set[str] = field(default_factory=set)
    routes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    per_test: dict[str, int] = field(default_factory=dict)
    counting: bool = False  # only the fuzz tests' requests count (see `timed`)

    # FUZZ_SURVEY=1: failures are gathered (the shortest request of each kind) and listed at
    # the end instead of failing the test, to see all that fails at once.
    failures: dict[str, tuple[int, FuzzFailure, FuzzRequest]] = field(default_factory=dict)

    def survey(self, failed: FuzzFailure, request: FuzzRequest) -> None:
        kind = type(failed).__name__
        count, shortest, shortest_request = self.failures.get(kind, (0, failed, request))
        if len(request.wire()) < len(shortest_request.wire()):
            shortest, shortest_request = failed, request
        self.failures[kind] = (count + 1, shortest, shortest_request)


STATS = FuzzStats()
SURVEY = os.environ.get("FUZZ_SURVEY") == "1"


@contextmanager
def timed(test_name: str) -> Iterator[None]:
    started, before = time.monotonic(), STATS.requests
    STATS.counting = True
    try:
        yield
    finally:
        STATS.counting = False
        STATS.seconds[test_name] = STATS.seconds.get(test_name, 0.0) + time.monotonic() - started
        STATS.per_test[test_name] = STATS.per_test.get(test_name, 0) + STATS.requests - before


# --- Logs ----------------------------------------------------------------------------------


class LogRecords(logging.Handler):
    """Every record the app logs while a request runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[LogRecords]:
    handler = LogRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# --- Stored data -------------------------------------------------------------------------

SANDBOX = "(sumup sandbox)"  # the sandbox's checkouts, beside the tables


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, list[dict[str, Any]]]
    sandbox: Any


def _tables() -> list[Any]:
    return list(Base.metadata.sorted_tables)


async def table_rows(engine: AsyncEngine, names: set[str] | None = None) -> dict[str, list[Any]]:
    rows: dict[str, list[Any]] = {}
    async with engine.connect() as connection:
        for table in _tables():
            if names is not None and table.name not in names:
                continue
            result = await connection.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [dict(row._mapping) for row in result]
    return rows


def sandbox_state(app: Quart) -> Any:
    """The sandbox's in-memory store (the tests' SUMUP_SANDBOX_STORE=memory), or None."""
    from sumup.sandbox import STORE_KEY

    store = app.extensions.get(STORE_KEY)
    return store if hasattr(store, "_checkouts") else None


def sandbox_fingerprint(app: Quart) -> tuple[int, str]:
    store = sandbox_state(app)
    if store is None:
        return (0, "-")
    checkouts = sorted(
        (
            c.id,
            c.checkout_reference,
            str(c.amount),
            c.status,
            tuple((t.id, t.status, str(t.refunded)) for t in c.transactions),
        )
        for c in store._checkouts.values()
    )
    return (len(checkouts), hashlib.sha256(repr(checkouts).encode()).hexdigest()[:16])


async def fingerprint(
    engine: AsyncEngine, app: Quart, names: set[str] | None = None
) -> dict[str, tuple[int, str]]:
    """Row count and checksum of every table (or of those named), and of the sandbox."""
    found = {
        name: (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()[:16])
        for name, rows in (await table_rows(engine, names)).items()
    }
    found[SANDBOX] = sandbox_fingerprint(app)
    return found


@dataclass
class Writes:
    count: int = 0
    tables: set[str] = field(default_factory=set)
    unknown: bool = False  # a write whose table could not be read from the statement


_READS = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "SHOW", "SET")
_WRITTEN_TABLE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.I)


@contextmanager
def counted_writes(engine: AsyncEngine) -> Iterator[Writes]:
    """The statements sent through the engine (the app's too) that may write, and their
    tables: none means the data is as it was, and the fingerprint need not be read again."""
    writes = Writes()

    def _count(_conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(_READS):
            return
        writes.count += 1
        written = _WRITTEN_TABLE.match(statement)
        if written:
            writes.tables.add(written.group(1))
        else:
            writes.unknown = True

    event.listen(engine.sync_engine, "before_cursor_execute", _count)
    try:
        yield writes
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", _count)


async def snapshot(engine: AsyncEngine, app: Quart) -> Snapshot:
    return Snapshot(await table_rows(engine), copy.deepcopy(sandbox_state(app)))


def _with_dependents(names: set[str]) -> set[str]:
    """The tables named and every table whose rows point at them, however indirectly."""
    found = set(names)
    for table in _tables():  # parents come before their children
        if any(fk.column.table.name in found for fk in table.foreign_keys):
            found.add(table.name)
    return found


async def restore(engine: AsyncEngine, app: Quart, saved: Snapshot, changed: set[str]) -> None:
    """Put the changed tables back as they were saved (same ids; sequences only move on,
    so later inserts cannot collide), with the tables that point at them, and the
    sandbox's checkouts."""
    names = _with_dependents(changed)
    async with engine.begin() as connection:
        for table in reversed(_tables()):
            if table.name in names:
                await connection.execute(table.delete())
        for table in _tables():
            if table.name in names and saved.rows[table.name]:
                await connection.execute(table.insert(), saved.rows[table.name])
    if SANDBOX in changed and saved.sandbox is not None:
        from sumup.sandbox import STORE_KEY

        app.extensions[STORE_KEY] = copy.deepcopy(saved.sandbox)


def changed_tables(
    before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]
) -> list[str]:
    return [
        f"{name}: {before[name][0]} -> {after[name][0]} rows"
        for name in before
        if before[name] != after.get(name)
    ]


# --- Sending -------------------------------------------------------------------------------


@dataclass
class Answer:
    request: FuzzRequest
    endpoint: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    logs: list[logging.LogRecord]
    raised: BaseException | None = None
    unsendable: str | None = None  # why hypercorn could not write this answer


def parse_with_h11(request: FuzzRequest) -> tuple[h11.Connection, h11.Request, bytes] | None:
    """What hypercorn's h11 would make of the bytes: the request and the body it reads, or
    None when h11 refuses them (hypercorn answers 400 or 431 without calling the app)."""
    connection = h11.Connection(h11.SERVER)
    try:
        connection.receive_data(request.wire())
        event = connection.next_event()
        if not isinstance(event, h11.Request):
            return None
        body = bytearray()
        while True:
            part = connection.next_event()
            if isinstance(part, h11.Data):
                body.extend(part.data)
            else:  # EndOfMessage, or NEED_DATA: a Content-Length longer than what came
                break
    except h11.RemoteProtocolError:
        return None
    return connection, event, bytes(body)


def _endpoint(app: Quart, method: str, path: str) -> str:
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method=method)
        return str(endpoint)
    except Exception:  # not found, method not allowed, a redirect to add a slash...
        pass
    try:
        endpoint, _ = adapter.match(path, method="GET")
        return f"{endpoint} ({method})"
    except Exception:
        return "(no route)"


async def send(app: Quart, request: FuzzRequest) -> Answer | None:
    """The app's answer to the request as hypercorn would serve it; None when the HTTP
    layer refuses it before the app."""
    parsed = parse_with_h11(request)
    if parsed is None:
        STATS.refused_by_http_layer += STATS.counting
        return None
    connection, event, body = parsed
    raw_path, _, query_string = event.target.partition(b"?")
    method = event.method.decode("ascii").upper()
    path = unquote(raw_path.decode("ascii"))
    scope = {
        "type": "http",
        "http_version": event.http_version.decode(),
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path,
        "query_string": query_string,
        "root_path": "",
        "headers": list(event.headers),
        "client": ("203.0.113.9", 50123),
        "server": ("127.0.0.1", 8002),
    }
    endpoint = _endpoint(app, method, path)
    if STATS.counting:
        STATS.requests += 1
        STATS.endpoints.add(endpoint)
    client: Any = app.test_client(use_cookies=False)
    with captured_logs() as logs:
        try:
            response = await client.open("/", scope_base=scope, data=body)
        except Exception as raised:
            return Answer(request, endpoint, 500, [], b"", logs.records, raised=raised)
        status = response.status_code
        headers = [(name, value) for name, value in response.headers.items()]
        raw = await response.get_data()
        data = raw if isinstance(raw, bytes) else raw.encode()
    if STATS.counting:
        STATS.statuses[status] += 1
    answer = Answer(request, endpoint, status, headers, data, logs.records)
    answer.unsendable = _unsendable(connection, method, answer)
    return answer


def _unsendable(connection: h11.Connection, method: str, answer: Answer) -> str | None:
    """Why hypercorn's h11 would refuse to write this answer (it then answers 500 and logs
    the trace), or None."""
    try:
        wire_headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
        connection.send(h11.Response(status_code=answer.status, headers=wire_headers))
        if method != "HEAD" and answer.status not in (204, 304) and answer.body:
            connection.send(h11.Data(data=answer.body))
        connection.send(h11.EndOfMessage())
    except (h11.LocalProtocolError, UnicodeEncodeError) as refused:
        return f"{type(refused).__name__}: {refused}"
    return None


# --- Judging -------------------------------------------------------------------------------

_TRACE_MARKERS = (
    "Traceback (most recent call last)",
    'File "',
    str(PROJECT_ROOT),
    "site-packages",
    "sqlalchemy.",
    "asyncpg.",
    "aiosqlite.",
)
_EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z0-9_]*(?:Error|Exception)\b")


def trace_in_body(answer: Answer) -> str | None:
    text = answer.body.decode("utf-8", "replace")
    sent = answer.request.wire().decode("latin-1") + answer.request.body.decode("utf-8", "replace")
    sent_decoded = unquote(sent)
    for marker in _TRACE_MARKERS:
        if marker in text and marker not in sent and marker not in sent_decoded:
            return marker
    for found in _EXCEPTION_NAME.findall(text):
        if found not in sent and found not in sent_decoded:
            return found
    return None


def _origin_of(error: BaseException) -> str:
    """Where an exception was raised: its type and the innermost frame of the project."""
    frames = traceback.extract_tb(error.__traceback__)
    root = str(PROJECT_ROOT)
    ours = [f for f in frames if f.filename.startswith(root) and "/.venv/" not in f.filename]
    if not (ours or frames):
        return f"{type(error).__name__} at ?"
    frame = (ours or frames)[-1]
    where = f"{frame.filename.removeprefix(root + '/')}:{frame.lineno}"
    return f"{type(error).__name__} at {where}"


def _tail(error: BaseException, lines: int = 6) -> str:
    text = "".join(traceback.format_exception(error)).rstrip().splitlines()
    return "\n".join(text[-lines:])


def _logged_trouble(records: list[logging.LogRecord]) -> logging.LogRecord | None:
    for record in records:
        if record.levelno >= logging.ERROR or record.exc_info or "Traceback" in record.getMessage():
            return record
    return None


def _record_error(record: logging.LogRecord) -> BaseException | None:
    info = record.exc_info
    return info[1] if info and isinstance(info[1], BaseException) else None


def is_refusal(app: Quart, answer: Answer) -> bool:
    if 400 <= answer.status < 500:
        return True
    if 300 <= answer.status < 400:
        return "error" in _new_flash_categories(app, answer)
    return False


def _new_flash_categories(app: Quart, answer: Answer) -> list[str]:
    name = app.config["SESSION_COOKIE_NAME"]
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    sent = _session_cookie([v for n, v in answer.request.headers if n.lower() == "cookie"], name)
    received = _session_cookie(
        [v.split(";", 1)[0] for n, v in answer.headers if n.lower() == "set-cookie"], name
    )
    if received is None or serializer is None:
        return []

    def flashes(value: str | None) -> list[Any]:
        if value is None:
            return []
        try:
            data = serializer.loads(value)
        except Exception:
            return []
        found = data.get("_flashes") if isinstance(data, dict) else None
        return list(found) if isinstance(found, list | tuple) else []

    before = flashes(sent)
    new = [f for f in flashes(received) if f not in before]
    return [f[0] for f in new if isinstance(f, list | tuple) and f]


def _session_cookie(values: list[str], name: str) -> str | None:
    for value in values:
        for part in value.split(";"):
            key, _, cookie = part.strip().partition("=")
            if key == name:
                return cookie.strip('"')
    return None


def check(
    app: Quart,
    answer: Answer,
    before: dict[str, tuple[int, str]],
    after: dict[str, tuple[int, str]],
) -> None:
    """Raise the FuzzFailure the answer deserves, if any."""
    where = answer.endpoint
    if answer.raised is not None:
        raise failure(
            "raised out of the app (hypercorn: 500 and a traceback)",
            _origin_of(answer.raised),
            _tail(answer.raised),
        ) from answer.raised
    trouble = _logged_trouble(answer.logs)
    if answer.status >= 500:
        error = _record_error(trouble) if trouble else None
        origin = _origin_of(error) if error else where
        detail = _tail(error) if error else (trouble.getMessage() if trouble else "")
        raise failure(f"status {answer.status}", origin, f"on {where}\n{detail}")
    if answer.unsendable:
        raise failure(
            "an answer hypercorn cannot send (a 500 there)",
            where,
            f"{answer.status}: {answer.unsendable}",
        )
    if trouble is not None:
        error = _record_error(trouble)
        raise failure(
            "an error or trace in the log",
            _origin_of(error) if error else where,
            f"{trouble.levelname} {trouble.name}: {trouble.getMessage()[:300]}"
            + (f"\n{_tail(error)}" if error else ""),
        )
    leaked = trace_in_body(answer)
    if leaked is not None:
        text = answer.body.decode("utf-8", "replace")
        at = text.find(leaked)
        raise failure(
            "a trace in the answer",
            where,
            f"{answer.status} shows {leaked!r}: ...{text[max(0, at - 150) : at + 150]}...",
        )
    if is_refusal(app, answer) and after != before:
        raise failure(
            "a refused request changed stored data",
            where,
            f"{answer.status}; changed: {', '.join(changed_tables(before, after))}",
        )


# --- Reading the pages' forms --------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    page: str  # the page it was read from
    action: str  # a path of this app
    method: str
    fields: tuple[tuple[str, str], ...]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str, list[tuple[str, str]]]] = []
        self._current: list[tuple[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = []
            self.forms.append(
                (found.get("action", ""), found.get("method", "get").upper(), self._current)
            )
        elif self._current is not None and tag in ("input", "button", "select", "textarea"):
            if found.get("name"):
                self._current.append((found["name"], found.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_on(page: str, html: str) -> list[Form]:
    """The forms of a page that post to this app (a path, not another origin)."""
    parser = _FormParser()
    parser.feed(html)
    forms = []
    for action, method, fields in parser.forms:
        parts = urlsplit(action or page)
        if parts.scheme or parts.netloc:
            continue
        forms.append(Form(page, action or page, method, tuple(fields)))
    return forms
