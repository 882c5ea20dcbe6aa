"""The forms of a page, as a browser without JavaScript sees them: action, hidden fields."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Form:
    action: str  # absolute
    fields: dict[str, str] = field(default_factory=dict)
    button: str = ""


class _Forms(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.forms: list[Form] = []
        self._open: Form | None = None
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._open = Form(urljoin(self.base_url, found.get("action") or self.base_url))
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and found.get("name"):
            self._open.fields[found["name"]] = found.get("value", "")
        elif tag == "button" and self._open is not None:
            self._in_button = True

    def handle_data(self, data: str) -> None:
        if self._in_button and self._open is not None:
            self._open.button += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False
        elif tag == "form":
            self._open = None


def form_with_button(html: str, base_url: str, button_starts: str) -> Form:
    for form in _parse(html, base_url):
        if " ".join(form.button.split()).startswith(button_starts):
            return form
    raise LookupError(f"no form with a button '{button_starts}…' on {base_url}")


def _parse(html: str, base_url: str) -> list[Form]:
    parser = _Forms(base_url)
    parser.feed(html)
    return parser.forms


def csrf_token_of(html: str) -> str:
    found = _CSRF.search(html)
    if not found:
        raise LookupError("no CSRF token on the page")
    return unescape(found.group(1))
