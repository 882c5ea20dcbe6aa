"""A bad setting stops the real commands with one line and a non-zero exit status: the app
under `hypercorn app:app` (whose parent used to exit 0 after a worker failed to start),
and `python manage.py migrate` (issue 8, finding 6)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from shared.config import PROJECT_ROOT

HYPERCORN = PROJECT_ROOT / ".venv" / "bin" / "hypercorn"
TIMEOUT = 60
# Settings of the test run or of the machine that must not leak into these commands.
_OURS = ("APP_MODE", "DATABASE_URL_ASYNC", "SECRET_KEY", "REDIS_URL", "SUMUP_", "APP_URL_")

needs_hypercorn = pytest.mark.skipif(not HYPERCORN.exists(), reason="needs .venv/bin/hypercorn")


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(CART_VAR_DIR=str(tmp_path / "var"), BACKGROUND_JOBS="false", **values)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hypercorn(tmp_path: Path, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HYPERCORN), "app:app", "--bind", f"127.0.0.1:{_free_port()}"],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _manage(tmp_path: Path, *argv: str, **values: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *argv],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path, **values),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _one_line(result: subprocess.CompletedProcess[str], *says: str) -> None:
    assert result.returncode != 0, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cart: cannot start: "), lines[0]
    for words in says:
        assert words in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@needs_hypercorn
@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"TRUSTED_PROXY_HOPS": "-1"}, "TRUSTED_PROXY_HOPS"),
        (
            # Once a 65-line traceback and exit 0.
            {
                "APP_MODE": "production",
                "SECRET_KEY": "s" * 40,
                "DATABASE_URL_ASYNC": "postgresql+asyncpg://cart:pw@db.internal:abc/coop",
            },
            "DATABASE_URL_ASYNC",
        ),
        # The mode rule: shared settings, no APP_MODE.
        (
            {"SECRET_KEY": "s" * 40, "DATABASE_URL_ASYNC": "postgresql+asyncpg://cart@db/coop"},
            "set APP_MODE=production",
        ),
    ],
)
def test_hypercorn_with_a_bad_setting_exits_non_zero_with_one_line(
    tmp_path: Path, values: dict[str, str], says: str
) -> None:
    _one_line(_hypercorn(tmp_path, **values), says)


@needs_hypercorn
def test_hypercorn_with_good_settings_serves(tmp_path: Path) -> None:
    """The refusal above stops hypercorn only when the app refuses: a good start serves."""
    port = _free_port()
    server = subprocess.Popen(
        [str(HYPERCORN), "app:app", "--bind", f"127.0.0.1:{port}"],
        cwd=PROJECT_ROOT,
        env=_env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "hypercorn did not answer /healthz"
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=TIMEOUT)
    assert server.returncode == 0


def test_manage_migrate_with_a_malformed_database_url_exits_non_zero_with_one_line(
    tmp_path: Path,
) -> None:
    result = _manage(
        tmp_path,
        "migrate",
        APP_MODE="development",
        DATABASE_URL_ASYNC="postgresql+asyncpg://cart:pw@db.internal:abc/coop",
    )
    _one_line(result, "DATABASE_URL_ASYNC is not a database URL")
    assert "pw@" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "values", "says"),
    [
        (["migrate"], {"APP_MODE": "development", "LOCALE": "xx_YY"}, "LOCALE"),
        (["migrate"], {"APP_MODE": "development", "SECRET_KEY": "x"}, "SECRET_KEY"),
        (
            ["seed"],
            {"APP_MODE": "development", "SUMUP_SECRETS_FILE": "/nonexistent/sumup.yaml"},
            "SumUp secrets file",
        ),
        (["orders", "list"], {"REDIS_URL": "redis://cache.internal:6379/0"}, "REDIS_URL"),
        (["events", "parked"], {"SUMUP_TIMEOUT_SECONDS": "nan"}, "SUMUP_TIMEOUT_SECONDS"),
    ],
)
def test_every_manage_command_refuses_a_bad_setting_with_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    values: dict[str, str],
    says: str,
) -> None:
    from manage import main

    for name in list(os.environ):
        if name.startswith(_OURS):
            monkeypatch.delenv(name)
    for name, value in _env(tmp_path, **values).items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SystemExit) as exited:
        main(argv)

    # sys.exit(text): Python prints the text as one line on stderr and exits with status 1.
    message = exited.value.code
    assert isinstance(message, str) and "\n" not in message
    assert message.startswith("cart: cannot start: ") and says in message
    assert not (tmp_path / "var" / "cart.sqlite3").exists()  # nothing was migrated
