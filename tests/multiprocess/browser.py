"""A browser-like client: httpx with a cookie jar (cookies per host name, as a browser keeps
them), following redirects, reading the forms of each page and submitting them with their
hidden fields (the CSRF token among them). No JavaScript, as the shop needs none."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    action: str  # absolute
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(
                action=urljoin(self.base_url, found.get("action") or self.base_url),
                method=(found.get("method") or "get").upper(),
            )
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and found.get("name"):
            self._form.fields[found["name"]] = found.get("value", "")
        elif tag == "button" and self._form is not None:
            self._button = []

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._form is not None and self._button is not None:
            self._form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None
        elif tag == "form":
            self._form = None


@dataclass
class Page:
    response: httpx.Response

    @property
    def url(self) -> str:
        return str(self.response.url)

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def text(self) -> str:
        return html.unescape(self.response.text)

    @property
    def redirects(self) -> list[tuple[int, str]]:
        """(status, Location) of each redirect followed to get here."""
        return [(r.status_code, r.headers["location"]) for r in self.response.history]

    def forms(self) -> list[Form]:
        parser = _Forms(self.url)
        parser.feed(self.response.text)
        return parser.forms

    def form(self, button: str) -> Form:
        """The one form with a button whose text starts with `button`."""
        found = [f for f in self.forms() if any(b.startswith(button) for b in f.buttons)]
        if len(found) != 1:
            raise AssertionError(
                f"{len(found)} forms with a button '{button}...' on {self.url} "
                f"({self.status}): {' '.join(self.text.split())[:400]}"
            )
        return found[0]


class Browser:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def open(self, url: str) -> Page:
        return Page(await self.http.get(url, follow_redirects=True))

    async def submit(self, form: Form, **values: str) -> Page:
        response = await self.http.request(
            form.method, form.action, data={**form.fields, **values}, follow_redirects=True
        )
        return Page(response)
