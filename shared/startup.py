"""A service that cannot start says why in one line and exits with a non-zero status.

`refuse_to_start()` is what `app.py` does with a ConfigError while hypercorn imports it.
hypercorn (0.18) runs the app in a worker process and exits 0 when that worker dies at
start-up: its parent forgets the worker's status (pgjones/hypercorn#269, a fix pending in
#372). So a worker that refuses to start stops its `hypercorn` parent as well, after letting
go of the parent's semaphores the way the parent's own exit would have (else Python's
resource tracker prints a warning about them, and the one line would be three).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from multiprocessing.synchronize import SemLock
from types import FrameType
from typing import Any, NoReturn


def refuse_to_start(service: str, reason: object) -> NoReturn:
    print(f"{service}: cannot start: {reason}", file=sys.stderr, flush=True)
    worker = _hypercorn_worker_frame()
    if worker is not None:
        _stop_hypercorn_parent(worker)
    raise SystemExit(1)


def _hypercorn_worker_frame() -> FrameType | None:
    """The frame of hypercorn's worker function when this is hypercorn loading the app in a
    worker process its `hypercorn` parent started; None otherwise (the app imported by a
    test, by `--workers 0`, by `--reload`'s parent: there the exit status is ours)."""
    if multiprocessing.parent_process() is None:
        return None
    frame = sys._getframe()
    while frame.f_back is not None:
        if (
            frame.f_globals.get("__name__") == "hypercorn.utils"
            and frame.f_code.co_name == "load_application"
        ):
            return frame.f_back
        frame = frame.f_back
    return None


def _stop_hypercorn_parent(worker: FrameType) -> None:
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid != os.getppid():
        # Gone already (another worker of `--workers N` stopped it): this process now
        # belongs to whoever adopted it, which is never to be signalled.
        return
    semaphores = _semaphore_names(worker.f_locals.get("shutdown_event"))
    os.kill(parent.pid, signal.SIGKILL)
    for name in semaphores:
        try:
            SemLock._cleanup(name)  # type: ignore[attr-defined]
        except Exception:  # best effort: at worst the resource tracker warns about it
            pass


def _semaphore_names(shared: Any, depth: int = 0) -> list[str]:
    """The names of the named semaphores that make up a multiprocessing Event."""
    if isinstance(shared, SemLock):
        name = getattr(getattr(shared, "_semlock", None), "name", None)
        return [name] if isinstance(name, str) else []
    if depth > 3 or not hasattr(shared, "__dict__"):
        return []
    return [name for part in vars(shared).values() for name in _semaphore_names(part, depth + 1)]
