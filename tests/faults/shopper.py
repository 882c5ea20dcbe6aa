"""A shopper over real HTTP: a cookie jar of their own, forms read from the pages served, and
every response kept (what they saw), redirects followed as a browser does within the shop.

During an outage a shopper does what the 503 page asks: tries again in a moment, and a form
is sent again as it was (its one-time checkout key makes the same order, never a second).
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from dataclasses import dataclass, field

import httpx

from tests.http.checkout_forms import checkout_forms

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_PRODUCT = re.compile(r'name="product_id" value="(\d+)"')
_SLOT = re.compile(r'name="slot_id" value="(\d+)"')
_ORDER_LINK = re.compile(r'href="/orders/([A-Za-z0-9_-]+)">Order ([0-9A-Z-]+)</a>')
_PAY_AGAIN = re.compile(r'<form method="post" action="([^"]+/pay-again)"')
_TITLE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
_MESSAGE = re.compile(r'<p class="message[^"]*"[^>]*>(.*?)</p>', re.S)
_TAGS = re.compile(r"<[^>]+>")
# What a page says when nothing was written: never to be the last word to a shopper whose
# order exists.
NOTHING_DONE = re.compile(r"nothing was (changed|ordered)", re.I)
RETRY_PAUSE_SECONDS = 0.5


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", fragment)).split())


@dataclass(frozen=True)
class Seen:
    method: str
    url: str
    status: int  # 0: no answer at all (the connection failed or was dropped)
    body: str
    at: float = field(default_factory=time.monotonic)

    def says(self) -> str:
        """The page's heading and messages, in a line: what the shopper read."""
        if self.status == 0:
            return f"no answer ({self.body})"
        parts = [_text(m) for m in _TITLE.findall(self.body)[:1] + _MESSAGE.findall(self.body)]
        return " | ".join(p for p in parts if p) or self.body[:120]


class NoAnswer(Exception):
    """The app did not answer (connection refused, dropped mid-request)."""


@dataclass
class Shopper:
    name: str
    base: str
    timeout: float = 30.0
    seen: list[Seen] = field(default_factory=list)
    csrf: str | None = None
    products: list[int] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    sent_to_sumup: list[str] = field(default_factory=list)  # hosted checkout URLs off the shop

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(base_url=self.base, timeout=self.timeout)

    async def close(self) -> None:
        await self.client.aclose()

    @property
    def last(self) -> Seen:
        return self.seen[-1]

    def statuses(self) -> list[int]:
        return [s.status for s in self.seen]

    async def go(self, method: str, url: str, data: dict[str, str] | None = None) -> Seen:
        """One request and the redirects after it, as a browser (303: GET the Location);
        a Location off the shop (SumUp's page) is noted, not followed."""
        for _ in range(10):
            try:
                response = await self.client.request(method, url, data=data)
            except httpx.TransportError as error:
                self.seen.append(Seen(method, url, 0, type(error).__name__))
                raise NoAnswer(type(error).__name__) from None
            seen = Seen(method, url, response.status_code, response.text)
            self.seen.append(seen)
            if response.status_code not in (301, 302, 303, 307, 308):
                return seen
            location = str(response.url.join(response.headers["Location"]))
            if "/sumup-sandbox/pay/" in location or not location.startswith(self.base + "/"):
                self.sent_to_sumup.append(location)
            if not location.startswith(self.base + "/"):
                return seen  # SumUp's own page: not the shop's to show
            method, url, data = "GET", location, None
        raise AssertionError(f"{self.name}: too many redirects from {url}")

    async def patiently(
        self, method: str, url: str, data: dict[str, str] | None = None, *, deadline: float
    ) -> Seen:
        """As `go`; while the answer is a 503, after a pause, the page shown is loaded again
        (or the form sent again, when the 503 answered the form itself), until the
        deadline."""
        seen = await self.go(method, url, data)
        while seen.status == 503 and time.monotonic() < deadline:
            await asyncio.sleep(RETRY_PAUSE_SECONDS)
            if seen.method == "GET":
                seen = await self.go("GET", seen.url)
            else:
                seen = await self.go(method, url, data)
        return seen

    # --- the shop's pages -------------------------------------------------------------

    async def open_shop(self, slug: str, *, deadline: float) -> Seen:
        seen = await self.patiently("GET", f"/shop/{slug}/", deadline=deadline)
        assert seen.status == 200, f"{self.name}: the shop answered {seen.status}"
        token = _CSRF.search(seen.body)
        assert token is not None
        self.csrf = html.unescape(token.group(1))
        self.products = [int(p) for p in _PRODUCT.findall(seen.body)]
        self.slots = [int(s) for s in _SLOT.findall(seen.body)]
        return seen

    async def add(self, product_id: int, *, quantity: int = 1, deadline: float) -> Seen:
        assert self.csrf
        form = {"csrf_token": self.csrf, "product_id": str(product_id), "quantity": str(quantity)}
        return await self.patiently("POST", "/cart/add", form, deadline=deadline)

    async def book(self, slug: str, slot_id: int, *, deadline: float) -> Seen:
        assert self.csrf
        form = {"csrf_token": self.csrf, "slot_id": str(slot_id)}
        return await self.patiently("POST", f"/shop/{slug}/book", form, deadline=deadline)

    async def fill_cart(self, slug: str, *, deadline: float) -> None:
        """Open the shop, add its first product, book its first slot."""
        await self.open_shop(slug, deadline=deadline)
        assert self.products and self.slots, f"{self.name}: nothing to buy in {slug}"
        added = await self.add(self.products[0], deadline=deadline)
        booked = await self.book(slug, self.slots[0], deadline=deadline)
        assert added.status == booked.status == 200, (added.says(), booked.says())

    async def checkout_form(self, slug: str, *, deadline: float) -> tuple[str, dict[str, str]]:
        seen = await self.patiently("GET", f"/cart/{slug}/", deadline=deadline)
        assert seen.status == 200, f"{self.name}: the cart answered {seen.status}"
        forms = checkout_forms(seen.body)
        assert len(forms) == 1, f"{self.name}: {len(forms)} checkout forms on /cart/{slug}/"
        return forms[0]

    async def check_out(self, slug: str, *, deadline: float) -> Seen:
        """Press "Check out" (again, the same form, while the answer is a 503)."""
        action, fields = await self.checkout_form(slug, deadline=deadline)
        return await self.patiently("POST", action, fields, deadline=deadline)

    async def pay_again(self, return_page: Seen) -> Seen:
        found = _PAY_AGAIN.search(return_page.body)
        assert found is not None, f"{self.name}: no Pay again on {return_page.url}"
        assert self.csrf
        return await self.go("POST", html.unescape(found.group(1)), {"csrf_token": self.csrf})

    async def orders(self, *, deadline: float) -> dict[str, str]:
        """Your orders: public reference -> number."""
        seen = await self.patiently("GET", "/orders/", deadline=deadline)
        assert seen.status == 200, f"{self.name}: Your orders answered {seen.status}"
        return {ref: number for ref, number in _ORDER_LINK.findall(seen.body)}

    async def sandbox_pay(self, hosted_url: str) -> Seen:
        """Pay on the development sandbox's hosted page with its prefilled test card."""
        assert self.csrf
        return await self.go("POST", f"{hosted_url}/pay", {"csrf_token": self.csrf})
