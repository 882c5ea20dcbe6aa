"""Where a form may send the shopper back to: this site, or a sibling service's."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


def header_safe(url: str) -> bool:
    """Whether `url` can go out in a Location header exactly as it is, and be read by every
    browser as it reads here.

    Only printable ASCII: a control character (C0, DEL) is refused by the server (VT, FF)
    or goes out as it is; browsers drop tabs and newlines anywhere in a URL and spaces and
    controls at its ends, so `/\\t/evil.example` would become `//evil.example`. C1 controls,
    U+2028 and any other non-ASCII are refused rather than percent-encoded: what this
    service and its siblings link to is already ASCII (url_for encodes, browsers send an
    encoded Referer), and encoding would give an attacker a normalisation step between the
    check and the browser. No backslash: browsers read `\\` as `/`.
    """
    return (
        url.isascii()
        and url.isprintable()
        and "\\" not in url
        and url == url.strip()
        and len(url) <= MAX_URL_LENGTH
    )


def safe_next(url: str | None, *, own_origin: str, sibling_origins: Collection[str]) -> str | None:
    """`url` when it points at this service or a sibling origin; None for anything else.

    A path of our own ("/shop/bakery/") is safe; "//evil.example", "/\\evil.example",
    "javascript:..." and other origins are not: browsers read them as another site. Nor is
    anything `header_safe` refuses (control characters, non-ASCII, whitespace at the ends).
    """
    if not url or not header_safe(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[x/": a bracketed host that is no IP address
        return None
    if not parts.scheme and not parts.netloc:
        return url if url.startswith("/") and not url.startswith("//") else None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    return url if origin == own_origin or origin in sibling_origins else None
