"""Where a form may send the shopper back to: this site, or a sibling service's."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit


def safe_next(url: str | None, *, own_origin: str, sibling_origins: Collection[str]) -> str | None:
    """`url` when it points at this service or a sibling origin; None for anything else.

    A path of our own ("/shop/bakery/") is safe; "//evil.example", "/\\evil.example",
    "javascript:..." and other origins are not: browsers read them as another site.
    """
    if not url or len(url) > 2000 or any(ch in url for ch in "\\\r\n\t\x00"):
        return None
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc:
        return url if url.startswith("/") and not url.startswith("//") else None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    return url if origin == own_origin or origin in sibling_origins else None
