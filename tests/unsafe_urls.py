"""Values of `next` and the Referer that must never be followed: a route that gets one goes to
its own default instead (tests/unit/test_safe_redirect_controls.py,
tests/http/test_header_values.py)."""

from __future__ import annotations

# C0 and DEL; C1; line and paragraph separators and other non-ASCII a header cannot carry
# as it is (no-break space, a letter, a byte-order mark).
CONTROLS = [chr(code) for code in range(0x20)] + ["\x7f"]
C1_CONTROLS = [chr(code) for code in range(0x80, 0xA0)]
NON_ASCII = ["\u2028", "\u2029", "\u00a0", "\u00e9", "\ufeff"]

INSIDE = [f"/shop/bakery/{ch}x" for ch in CONTROLS + C1_CONTROLS + NON_ASCII]
AT_THE_ENDS = [
    *(f"{ch}/shop/bakery/" for ch in (" ", "\t", "\n", "\x00", "\x0b", "\x0c", "\x1f")),
    *(f"/shop/bakery/{ch}" for ch in (" ", "\t", "\r\n", "\x0b", "\x0c", "\x7f", "\x85")),
]
TRICKS = [
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\\/evil.example/",
    "\\/evil.example/",
    "http:\\\\evil.example/",
    "http://127.0.0.1:8002\\@evil.example/",
    "/\t/evil.example/",
    "\t//evil.example/",
    " //evil.example/",
    "/\x0b/evil.example/",
    "http://[evil.example/",  # urlsplit raises on these two
    "http://[::1/",
    "javascript:alert(1)",
    "https://evil.example/",
]

UNSAFE_BACK_URLS = INSIDE + AT_THE_ENDS + TRICKS


def as_header(value: str) -> bytes:
    """The bytes a client would send for `value` in a header: Latin-1 where it can (which
    is how the app decodes them back), else UTF-8 (U+2028 arrives as three bytes)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


# What a server hands the app in a header: never CR or LF (h11 and h2 refuse them).
UNSAFE_REFERERS = [as_header(url) for url in UNSAFE_BACK_URLS if not {"\r", "\n"} & set(url)]
