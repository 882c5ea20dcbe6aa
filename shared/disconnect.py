"""A client that goes away mid-request (issue 10): the request finishes, its answer is dropped.

Quart cancels the task handling a request as soon as the server (hypercorn) says the client
has disconnected. The cancellation lands at whatever the handler is awaiting, and in this
service that is mostly the database: a query, a connection being opened (asyncpg's SSL
negotiation then leaves a "Future exception was never retrieved" behind), or the end of
the request's session, where SQLAlchemy's pool logs "Exception closing connection ...
CancelledError" with a trace and the connection is abandoned half closed. Every load run
that ends with requests in flight filled the log with these, for what is a normal event.

So the cancellation does not reach the handler once the client has sent its whole request:

- `FinishWhenClientLeaves` (ASGI, around Quart) keeps the client's disconnect from Quart
  while the request is handled: the handler runs to its end as if the client were still
  there (its transaction committed or rolled back, its connection back in the pool), and
  the response it sends is dropped. One INFO line says so. A request is cheap and bounded
  (the pool's and SumUp's timeouts), and a POST is either done whole or not at all, never
  cut at an arbitrary await. A client that leaves before sending its whole request (a body
  cut short) is passed on as before: Quart cancels the handler, which is then waiting for
  the body, not for the database.
- `run_to_completion()` is for what must not be cut short when the task is cancelled all
  the same (that body cut short, or whatever else cancels a request): the end of the
  request's session (shared/db.py) runs in a task of its own and is waited for, so its
  connection goes back to the pool in a known state; the cancellation goes on after.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Work whose caller stopped waiting (cancelled twice): kept here until it ends, so that it
# is not collected half way (the event loop holds tasks only weakly).
_UNFINISHED: set[asyncio.Task[Any]] = set()


def init_finish_when_client_leaves(app: Any) -> None:
    """Wraps the app's ASGI callable, next to Quart (before the host guard and proxy fix)."""
    app.asgi_app = FinishWhenClientLeaves(app.asgi_app)


class FinishWhenClientLeaves:
    """ASGI middleware: once the request is read in full, a disconnect waits for the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, receive, send)
        await self.app(scope, exchange.receive, exchange.send)


class _Exchange:
    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self._scope = scope
        self._receive = receive
        self._send = send
        self._began = time.monotonic()
        self.request_read = False  # the whole body has arrived
        self.responded = False  # the whole response has been handed to the server
        self.gone = False  # the client went away before the response was complete

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and not message.get("more_body", False):
            self.request_read = True
        elif message["type"] == "http.disconnect" and not self.responded:
            if not self.request_read:
                log.info(
                    "client went away before sending its whole request: %s %s (not handled)",
                    self._scope.get("method"),
                    self._scope.get("path"),
                )
                return message
            self.gone = True
            # Quart cancels the handler when this returns: it does not return. Quart
            # cancels this wait instead, once the handler has finished.
            await asyncio.Event().wait()
        return message

    async def send(self, message: Message) -> None:
        if self.gone:
            if message["type"] == "http.response.start":
                log.info(
                    "client went away before the response: %s %s finished with %s after "
                    "%.2f s, response dropped",
                    self._scope.get("method"),
                    self._scope.get("path"),
                    message.get("status"),
                    time.monotonic() - self._began,
                )
            return
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.responded = True
        await self._send(message)


async def run_to_completion(work: Awaitable[T], *, what: str) -> T:
    """Await `work` so that cancelling the caller does not cut it short.

    `work` runs in a task of its own. If the caller is cancelled meanwhile, `work` is still
    waited for to its end and then the cancellation goes on (an error of `work`'s is logged
    then, since the caller is no longer there to handle it). Cancelled a second time, the
    caller stops waiting and `work` finishes on its own.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.cancelled():
            raise
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                _UNFINISHED.add(task)
                task.add_done_callback(lambda done: _ended_unwaited(done, what))
        except Exception as error:
            _log_failure(error, what)
        raise


def _ended_unwaited(task: asyncio.Task[Any], what: str) -> None:
    _UNFINISHED.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _log_failure(task.exception(), what)  # type: ignore[arg-type]


def _log_failure(error: BaseException, what: str) -> None:
    from shared.errors import database_unreachable, describe

    if database_unreachable(error):  # an outage: one line, as shared/errors.py does
        log.warning("%s failed after the request was cancelled: %s", what, describe(error))
    else:
        log.error("%s failed after the request was cancelled", what, exc_info=error)
