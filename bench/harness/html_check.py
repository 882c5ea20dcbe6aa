"""The baseline's pages against the project's: the same bytes but for per-render values."""

from __future__ import annotations

import difflib
import re

# A value that differs on every rendering: the checkout form's one-time key.
_PER_RENDER = [re.compile(r'(name="checkout_key" value=")[^"]*(")')]


def normalise(html: str) -> str:
    for pattern in _PER_RENDER:
        html = pattern.sub(r"\1…\2", html)
    return html


def differing_bytes(project: str, baseline: str) -> int:
    """How many bytes of the longer side the differing lines hold (0: the same page)."""
    a, b = (
        normalise(project).splitlines(keepends=True),
        normalise(baseline).splitlines(keepends=True),
    )
    differing = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            differing += max(
                sum(len(x.encode()) for x in a[i1:i2]), sum(len(x.encode()) for x in b[j1:j2])
            )
    return differing


def first_difference(project: str, baseline: str) -> str:
    diff = difflib.unified_diff(
        normalise(project).splitlines(),
        normalise(baseline).splitlines(),
        "project",
        "baseline",
        lineterm="",
        n=1,
    )
    return "\n".join(list(diff)[:20])
