"""Puts the project root on sys.path, so `app`, `shared`, `models`, `bp` import from anywhere
(hypercorn, alembic, the test runner, the command line)."""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
