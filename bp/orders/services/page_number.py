"""The ?page= of the order list, parsed strictly: a bad one is the shopper's 400, never a 500."""

from __future__ import annotations

import re

MAX_PAGE = 10_000  # far past any shopper's orders; keeps OFFSET small and the integer sane
_DIGITS = re.compile(r"[0-9]{1,5}")


class BadPageNumber(ValueError):
    message = f"Page numbers are whole numbers from 1 to {MAX_PAGE:,}."


def parse_page_number(raw: str | None) -> int:
    """None (no ?page=) is page 1; anything but 1..MAX_PAGE in plain digits is refused."""
    if raw is None:
        return 1
    # fullmatch on ASCII digits: int() would also take " 2", "+2", "2_0" and Arabic-Indic digits.
    if not _DIGITS.fullmatch(raw):
        raise BadPageNumber(raw)
    number = int(raw)
    if not 1 <= number <= MAX_PAGE:
        raise BadPageNumber(raw)
    return number
