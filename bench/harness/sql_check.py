"""Whether the baseline still sends the project's SQL: the statement texts of each request
on both sides, compared one by one (the project changes its queries; the baseline's are
pasted text, bench/baseline/queries.py)."""

from __future__ import annotations

CONTEXT = 60  # characters shown around the first difference


def differences(project: dict[str, list[str]], baseline: dict[str, list[str]]) -> list[str]:
    """One line per request whose statements differ, naming the first differing one."""
    found = []
    for name, sent in project.items():
        theirs = baseline.get(name, [])
        if sent == theirs:
            continue
        index = next(
            (i for i, (a, b) in enumerate(zip(sent, theirs, strict=False)) if a != b), None
        )
        if index is None:  # one side sends a statement more
            index = min(len(sent), len(theirs))
        found.append(
            f"{name}: statement {index + 1} (project sends {len(sent)}, baseline {len(theirs)}): "
            + _excerpts(_at(sent, index), _at(theirs, index))
        )
    return found


def _at(statements: list[str], index: int) -> str:
    return statements[index] if index < len(statements) else "(none)"


def _excerpts(project: str, baseline: str) -> str:
    """Both texts around where they first part."""
    start = next(
        (i for i, (a, b) in enumerate(zip(project, baseline, strict=False)) if a != b),
        min(len(project), len(baseline)),
    )
    begin = max(0, start - CONTEXT)

    def excerpt(text: str) -> str:
        return (
            ("…" if begin else "")
            + text[begin : start + CONTEXT]
            + "…" * (start + CONTEXT < len(text))
        )

    return f"project «{excerpt(project)}» baseline «{excerpt(baseline)}»"
