"""Every operator command that changes something writes one audit line.

A JSON object per line, appended to AUDIT_LOG (default var/audit.log) and logged to the
`cart.audit` logger: when, who (the OS user), what command, on what, and how it ended.
No secret goes in: callers pass order references and amounts, never keys.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from pathlib import Path
from typing import Any

from shared.config import Settings
from shared.models import utcnow

log = logging.getLogger("cart.audit")


def audit_log_path(settings: Settings) -> Path:
    return Path(os.environ.get("AUDIT_LOG") or settings.var_dir / "audit.log")


def write_audit_line(
    settings: Settings, *, command: str, target: str, outcome: str, **details: Any
) -> None:
    entry = {
        "at": utcnow().isoformat(),
        "operator": _operator(),
        "command": command,
        "target": target,
        "outcome": outcome,
        **details,
    }
    line = json.dumps(entry, sort_keys=True, default=str)
    path = audit_log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    log.info("%s", line)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container, say)
        return f"uid:{os.getuid()}"
