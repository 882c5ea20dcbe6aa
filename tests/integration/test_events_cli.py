"""`manage.py events ...`: exit statuses, what the operator reads, audit lines, and the
dispatcher running on its own as a process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from manage import main
from shared.config import PROJECT_ROOT
from shared.db import make_sessionmaker
from shared.events.claims import DispatchPolicy
from shared.events.dispatcher import dispatch_once
from tests.integration.event_data import Recorder, emit_committed, outbox_row, targets_with


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "APP_MODE": "development",
        "DATABASE_URL_ASYNC": database_url,
        "CART_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "t" * 32,
        "BACKGROUND_JOBS": "false",
        "AUDIT_LOG": str(tmp_path / "audit.log"),
        # Never the real stream, should Redis be configured around the tests.
        "EVENTS_STREAM": f"test:events:{uuid.uuid4().hex}",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    return env


async def _manage(*argv: str) -> int:
    # main() runs its own event loop (asyncio.run): in a thread, beside the test's.
    return await asyncio.to_thread(main, list(argv))


def _audit_lines(env: dict[str, str]) -> list[dict[str, object]]:
    path = Path(env["AUDIT_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def _park(engine: AsyncEngine, ref: str) -> str:
    sessions = make_sessionmaker(engine)
    [event_id] = await emit_committed(sessions, ref, "order.created")
    await dispatch_once(
        sessions,
        targets_with(Recorder(failing={ref}, error="ledger away")),
        policy=DispatchPolicy(max_attempts=1),
    )
    return event_id


async def test_parked_lists_the_backlog_and_each_parked_event_with_its_error(
    engine: AsyncEngine, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    event_id = await _park(engine, "ref-a")
    await emit_committed(make_sessionmaker(engine), "ref-b", "order.paid")

    assert await _manage("events", "parked") == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 undelivered events, 1 parked"
    assert event_id in out[1] and "order.created" in out[1] and "order ref-a" in out[1]
    assert "1 attempts" in out[1]
    assert out[2].strip() == "RuntimeError: ledger away"
    assert _audit_lines(cli_env) == []  # looking changes nothing


async def test_replay_unparks_the_event_and_dispatch_once_delivers_it(
    engine: AsyncEngine,
    db: AsyncSession,
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    event_id = await _park(engine, "ref-a")
    number = (await outbox_row(db, event_id)).id

    assert await _manage("events", "replay", event_id) == 0
    assert f"replayed 1: #{number}" in capsys.readouterr().out
    row = await outbox_row(db, event_id)
    assert (row.parked_at, row.attempts) == (None, 0)

    assert await _manage("events", "dispatch", "--once") == 0
    assert "1 claimed: 1 delivered" in capsys.readouterr().out
    assert (await outbox_row(db, event_id)).delivered_at is not None

    replay, dispatch = _audit_lines(cli_env)
    assert (replay["command"], replay["target"], replay["outcome"]) == (
        "events replay",
        event_id,
        "replayed",
    )
    assert replay["event_numbers"] == [number]
    assert (dispatch["command"], dispatch["outcome"], dispatch["delivered"]) == (
        "events dispatch --once",
        "ok",
        1,
    )


async def test_replay_refusals_say_why_with_their_exit_status(
    engine: AsyncEngine, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await _manage("events", "replay", "--all") == 1
    assert "no parked events" in capsys.readouterr().err
    assert await _manage("events", "replay", str(uuid.uuid4())) == 1
    assert "is not parked" in capsys.readouterr().err
    assert await _manage("events", "replay", "not-an-id") == 2
    assert "neither an event number nor an event id" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # argparse: one of <event> or --all
        await _manage("events", "replay")
    assert usage.value.code == 2
    assert [line["outcome"] for line in _audit_lines(cli_env)] == ["refused", "refused"]

    await _park(engine, "ref-a")
    await _park(engine, "ref-b")
    assert await _manage("events", "replay", "--all") == 0
    assert "replayed 2" in capsys.readouterr().out
    assert _audit_lines(cli_env)[-1]["target"] == "all parked events"


async def test_dispatch_once_reports_failures_with_exit_status_1(
    engine: AsyncEngine,
    cli_env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The only target that can fail from the command line: a Redis that is not there.
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    await emit_committed(make_sessionmaker(engine), "ref-a", "order.paid")

    assert await _manage("events", "dispatch", "--once") == 1

    captured = capsys.readouterr()
    assert "1 claimed: 0 delivered, 1 retrying" in captured.out
    assert "1 deliveries failed" in captured.err
    assert _audit_lines(cli_env)[-1]["outcome"] == "failed"


async def test_dispatch_runs_as_its_own_process_until_terminated(
    engine: AsyncEngine, db: AsyncSession, cli_env: dict[str, str]
) -> None:
    [event_id] = await emit_committed(make_sessionmaker(engine), "ref-a", "order.paid")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROJECT_ROOT / "manage.py"),
        "events",
        "dispatch",
        env={**os.environ, **cli_env},
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(200):
            if (await outbox_row(db, event_id)).delivered_at is not None:
                break
            await asyncio.sleep(0.05)
        assert (await outbox_row(db, event_id)).delivered_at is not None
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, err
    assert b"dispatching; Ctrl-C stops" in err
