"""Hypothesis strategies for odd requests to this app: every route of `app.url_map` (so a new
route is fuzzed without a word here), the forms its pages render, and its JSON endpoints.

Values are drawn from what the seeded shop really has (ids, references, tokens, forms), from
near misses of them, and from a store of odd text: control characters, huge and negative
numbers, exponents, unicode digits, NUL, percent-encodings, other origins, very long text.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule

from tests.fuzz.harness import STATS, FuzzRequest
from tests.fuzz.shop import ANON_NOBODY, HOST, SANDBOX_AUTH, Shop

ODD_METHODS = (
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
    "PROPFIND", "BREW", "get", "post", "pOsT", "M-SEARCH", "X" * 64,
)  # fmt: skip
# Control characters, those that str.split() and str.strip() take for whitespace first.
WHITESPACE_CONTROL = ("\x0b", "\x0c", " ", "\x1c", "\x85", "\u2028")
CONTROL = WHITESPACE_CONTROL + tuple(
    chr(c) for c in (*range(0x0B), 0x0D, *range(0x0E, 0x1C), 0x7F, 0xA0, 0x202E, 0xFEFF)
)
URL_PREFIXES = (
    "/", "/cart/", "/shop/bakery/", "http://localhost/cart/", "http://127.0.0.1:8001/shop/",
    "//", "https://localhost/",
)  # fmt: skip
ODD_STRINGS = (
    "", " ", "0", "-1", "-0", "1.5", "1e3", "1e309", "1E+999998", "-1E+999998", "1e-999999",
    "NaN", "Infinity", "-inf", "99999999999999999999999999999999", str(2**31), str(2**31 - 1),
    str(2**63), str(-(2**63) - 1), "007", "+1", " 2", "0x10", "1_000", "١٢٣", "𝟡", "½", "²",
    "\x00", "\x0b", "\x0c", "\r\n", "\t", "%00", "%0a", "%", "%zz", "%ff", "..", "../..",
    "//evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
    "http://evil.example/", "http://localhost/cart/", "http://127.0.0.1:8001/shop/",
    "http://127.0.0.1:8002/cart/", "https://127.0.0.1:8002@evil.example/", "http:/cart",
    "http://[::1/", "http://localhost:99999/", "data:text/html,x", "null", "None", "true",
    "[]", "{}", '{"a": 1}', "<script>alert(1)</script>", "' OR '1'='1", "{{7*7}}", "%s%n",
    "é", "日本語", "🛒", "ｆｕｌｌ", "\u202e/cart/", "A" * 65, "a" * 16, "a" * 64,
)  # fmt: skip
HOSTS = (
    "a" * 64 + ".example", "a" * 63 + ".example", "x" * 300, "", "localhost:", "localhost:0",
    "localhost:99999", "localhost:abc", "localhost:8002:8002", "[::1]:8002", "[::1",
    "[zz]", "localhost.", "..", "a..b", "-a.example", "a_b.example", "xn--", "xn--zz.example",
    "evil.example", "localhost@evil.example", "user:pw@localhost", "localhost/x",
    "localhost#x", "localhost?x", "%6c%6f%63alhost", "1.2.3.4.5", "0x7f.1", "é.example",
    "\xff\xfe", "localhost, evil.example", "*", "127.0.0.1:8002 ",
)  # fmt: skip
ORIGINS = (
    "http://localhost", "http://127.0.0.1:8001", "http://127.0.0.1:8002", "null",
    "http://evil.example", "https://localhost", "http://localhost:80", "", "*", "file://",
)  # fmt: skip
ACCEPTS = (
    "text/html", "application/json", "*/*", "application/json;q=0.9, text/html;q=abc",
    "text/html;q=-1", "application/json;q=1e999", "image/*", ";;;", "*/json", "a/b/c",
)  # fmt: skip
CONTENT_TYPES = (
    "application/x-www-form-urlencoded", "application/json", "multipart/form-data",
    "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
    "multipart/form-data; boundary=" + "b" * 80, "text/plain",
    "application/x-www-form-urlencoded; charset=utf-999",
    "application/x-www-form-urlencoded; charset=latin-1", "application/json; charset=ebcdic",
    "application/problem+json", "application/xml", "*/*", ";", "application/json;;q=1",
)  # fmt: skip
JSON_NUMBERS = (
    "1", "0", "-1", "10.00", "10.001", "0.01", "1E+999998", "1e309", "1E-999999", "1e2",
    "-0", "0.0", "99999999999999999999999999", "1" * 5000, "NaN", "Infinity", "-Infinity",
    '"10.00"', "true", "null", "[]", "{}", "1.0e+9999999999", "1E+99999", "-1E+999998",
    "1E+30", "1E+999999999",
)  # fmt: skip
SESSION_KEYS = ("csrf_token", "cart_anon_id", "user_id", "_flashes", "_permanent", "other")
FIELD_NAMES = (
    "csrf_token", "next", "product_id", "quantity", "checkout_key", "fingerprint", "slot_id",
    "user_id", "card_number",
)  # fmt: skip
QUERY_NAMES = ("page", "next", "checkout_reference", "id", "q")
URL_FIELDS = frozenset({"next", "return_url", "redirect_url"})
ACTIONS = ("keep", "keep", "keep", "drop", "odd", "twice")  # what a tampered form does a field
URL_FIELD_ACTIONS = ("keep", "odd", "odd", "drop", "twice")
_ARGUMENT = re.compile(r"<(?:([a-zA-Z_][\w]*)(?:\([^)]*\))?:)?([a-zA-Z_][\w]*)>")

# --- How long ---------------------------------------------------------------------------

# FUZZ_EXAMPLES_SCALE multiplies every test's number of examples (e.g. 5 for a longer hunt).
SCALE = float(os.environ.get("FUZZ_EXAMPLES_SCALE", "1"))
# FUZZ_SHRINK=0 reports each failure as first met, without shrinking it (a quicker survey).
PHASES = tuple(
    p for p in Phase if os.environ.get("FUZZ_SHRINK", "1") != "0" or p is not Phase.shrink
)


def fuzz_settings(examples: int) -> Any:
    """The same examples every run (derandomized), so many of them, no deadline."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        derandomize=True,
        database=None,
        print_blob=False,
        phases=PHASES,
        # One shop for all the examples of a test is the point: it is put back after each
        # request that changed it. Slow or large draws are expected of odd requests.
        suppress_health_check=list(HealthCheck),
    )


# --- Text ----------------------------------------------------------------------------------

control_in_url = st.builds(
    lambda prefix, ch, rest: prefix + ch + rest,
    st.sampled_from(URL_PREFIXES),
    st.sampled_from(WHITESPACE_CONTROL) | st.sampled_from(CONTROL),
    st.sampled_from(("", "x", "/", "?a=1")),
)
long_text = st.builds(
    lambda ch, n: ch * n,
    st.sampled_from(("a", "9", "é", "/", "%", "\x0b", "日")),
    st.sampled_from((256, 2_001, 5_000, 70_000)),
)
odd_urls = st.one_of(
    control_in_url,
    st.sampled_from([s for s in ODD_STRINGS if "/" in s or ":" in s]),
    st.builds(
        lambda prefix, rest: prefix + rest, st.sampled_from(URL_PREFIXES), st.text(max_size=8)
    ),
)
# Where a form may ask to be sent back to: this site and its siblings, with a twist.
redirect_targets = st.one_of(
    control_in_url,
    odd_urls,
    st.builds(
        lambda prefix, text: prefix + text, st.sampled_from(URL_PREFIXES), st.text(max_size=12)
    ),
)
odd_text = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=24),
    control_in_url,
    long_text,
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
# What a header line can carry: latin-1 bytes, as h11 reads them (obs-text included).
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=40,
)


non_empty_odd_text = odd_text.filter(lambda s: s != "")
# Most header values are ones h11 lets through; a few carry a control character it refuses.
_H11_REFUSES = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
odd_header_text = st.one_of(
    header_text,
    odd_text.map(lambda s: _H11_REFUSES.sub("", as_header(s)).strip()),
    odd_text.map(lambda s: as_header(s)),
)
TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
header_names = st.sampled_from(("X-Odd", "Forwarded", "Expect", "Connection", "TE", "Via")) | (
    st.text(alphabet=TOKEN_CHARS, min_size=1, max_size=20)
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        odd_text.filter(lambda s: len(s) < 300),
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=5,
)
junk_percent = st.sampled_from(("",) * 6 + ("%", "%zz", "%ff", "%c0%af", "%00", "%2f", "%2e%2e"))
framings = st.sampled_from(
    ("length",) * 14 + ("chunked", "none", "one short", "300000", "0", "abc", "-1")
)
webhook_events = st.sampled_from(("CHECKOUT_STATUS_CHANGED", "OTHER", "")) | odd_text
webhook_odd_fields = st.lists(st.sampled_from(("event_type", "id", "extra")), max_size=2)
json_odd_values = st.sampled_from(JSON_NUMBERS) | json_values.map(json.dumps)
checkout_optional = st.lists(
    st.sampled_from(("return_url", "redirect_url", "description", "hosted_checkout")),
    max_size=3,
)
checkout_optional_values = (
    st.sampled_from(('{"enabled": true}', '"http://localhost/checkout/webhook"'))
    | odd_text.map(json.dumps)
    | json_values.map(json.dumps)
)


def rarely(draw: Any, one_in: int) -> bool:
    """True once in `one_in` draws. False is the simplest choice, the one hypothesis shrinks
    to: every rare oddity here shrinks away unless the failure needs it."""
    return bool(draw(st.integers(0, one_in - 1)) == one_in - 1)


def as_header(text: str) -> str:
    """A header value as it goes on the wire: UTF-8 bytes, one latin-1 char a byte."""
    return text.encode("utf-8").decode("latin-1")


def odd_header(*specific: str) -> st.SearchStrategy[str]:
    return st.sampled_from(specific) | odd_header_text if specific else odd_header_text


def rules_of(shop: Shop) -> list[Rule]:
    return sorted(shop.app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def encode_segment(text: str, *, keep_slash: bool) -> str:
    return quote(text, safe="-._~!$&'()*+,;=:@" + ("/" if keep_slash else ""))


def form_body(fields: list[tuple[str, str]]) -> bytes:
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in fields).encode("ascii")


def multipart_body(fields: list[tuple[str, str]], boundary: str, *, broken: bool) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields
    ]
    end = "" if broken else f"--{boundary}--\r\n"
    return ("".join(parts) + end).encode("utf-8")


class Strategies:
    """The strategies for one seeded shop, each built once (hypothesis validates every new
    strategy object, which costs more than the request it draws)."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.rules = rules_of(shop)
        self._known: dict[str, st.SearchStrategy[str]] = {}
        self._arguments: dict[tuple[str, str], st.SearchStrategy[str]] = {}
        personas = list(shop.personas.values())
        self.persona_tokens = st.sampled_from([p["csrf_token"] for p in personas])
        self.session_values = {
            key: json_values | st.sampled_from([p[key] for p in personas if p.get(key)] or [0])
            for key in SESSION_KEYS
        }
        self.optional_headers: dict[str, st.SearchStrategy[str]] = {
            "Referer": odd_header("http://localhost/cart/", "http://127.0.0.1:8001/shop/")
            | odd_urls.map(as_header),
            "Origin": st.sampled_from(ORIGINS) | header_text,
            "Accept": st.sampled_from(ACCEPTS) | header_text,
            "X-Request-ID": odd_header("abcdefgh12345678", "a" * 65, "bad id!"),
            "X-CSRF-Token": odd_header(*[p["csrf_token"] for p in personas]),
            "X-Forwarded-For": odd_header("1.2.3.4", "1.2.3.4, 5.6.7.8", "::1", "unknown"),
            "X-Forwarded-Proto": odd_header("https", "http", "javascript", "HTTPS, http"),
            "X-Forwarded-Host": st.sampled_from(HOSTS) | header_text,
            "X-Forwarded-Prefix": odd_header("/cart", "//evil.example"),
            "Authorization": odd_header(SANDBOX_AUTH, "Basic Og==", "Bearer "),
            "If-Modified-Since": odd_header("Thu, 01 Jan 1970 00:00:00 GMT", "yesterday"),
            "If-None-Match": odd_header('"x"', "*", 'W/"'),
            "Range": odd_header("bytes=0-1", "bytes=5-1", "bytes=-0", "lines=1-2"),
            "Accept-Language": odd_header("en-GB", "*;q=x"),
            "User-Agent": odd_header(),
        }
        self.header_choice = st.lists(
            st.sampled_from(sorted(self.optional_headers)), max_size=4, unique=True
        )
        self.calm_header_choice = st.lists(
            st.sampled_from(("Referer", "Accept", "X-Request-ID")), max_size=1
        )
        self.odd_hosts = st.sampled_from(HOSTS) | header_text
        self.content_types = st.sampled_from(CONTENT_TYPES) | header_text | st.none()
        self.routes = st.sampled_from([*self.rules, None])
        self.forms = st.sampled_from(shop.forms)
        self.json_endpoints = st.sampled_from(JSON_ENDPOINTS)
        self.json_content_types = st.sampled_from(JSON_CONTENT_TYPES) | st.none()
        self.query_pairs = st.lists(
            st.tuples(st.sampled_from(QUERY_NAMES) | st.text(max_size=5), odd_text), max_size=3
        )
        self.field_names = st.lists(st.sampled_from(FIELD_NAMES[1:]), max_size=4)
        self.extra_field = st.tuples(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), odd_text)
        self.session_keys = st.lists(st.sampled_from(SESSION_KEYS), max_size=3, unique=True)
        self.cookie_extras = st.lists(st.tuples(header_text, header_text), max_size=2)
        self.garbage_cookie = header_text.filter(lambda s: ";" not in s)
        self.random_segments = st.lists(non_empty_odd_text, min_size=1, max_size=3)
        # The top-level strategies the tests draw from.
        # The cart's forms go back where they came from (next, else the Referer).
        self.cart_forms = st.sampled_from(
            [(p, f) for p, f in shop.forms if f.method == "POST" and f.action.startswith("/cart/")]
        )
        self.route_requests = st.composite(self._route_request)()
        self.redirect_requests = st.composite(self._redirect_request)()
        self.proxied_requests = st.composite(self._proxied_request)()
        self.form_requests = st.composite(self._form_request)()
        self.json_requests = st.composite(self._json_request)()

    # --- values ------------------------------------------------------------------------

    def known(self, name: str) -> st.SearchStrategy[str]:
        """A valid value of that name (a real id, reference, token...) or an odd one."""
        found = self._known.get(name)
        if found is None:
            values = self.shop.values.get(name) or []
            odd = control_in_url | odd_urls | odd_text if name in URL_FIELDS else odd_text
            found = st.sampled_from(values) | odd if values else odd
            self._known[name] = found
        return found

    def argument(self, converter: str, name: str) -> st.SearchStrategy[str]:
        """A path argument's text: valid, nearly, or odd (not yet encoded)."""
        found = self._arguments.get((converter, name))
        if found is None:
            known = self.shop.values.get(name, [])
            choices = [st.sampled_from(known)] if known else []
            if converter == "int":
                choices.append(
                    st.sampled_from(("0", "-1", "007", "١", "٣٤", "+1", "1.0", "4294967296"))
                    | st.integers(min_value=0, max_value=10**40).map(str)
                )
            choices += [non_empty_odd_text, long_text]
            found = st.one_of(*choices)
            self._arguments[(converter, name)] = found
        return found

    def draw_argument(self, draw: Any, converter: str, name: str) -> str:
        encoded = encode_segment(draw(self.argument(converter, name)), keep_slash=rarely(draw, 6))
        return str(draw(junk_percent) + encoded + draw(junk_percent))

    def draw_session(self, draw: Any) -> dict[str, Any] | None:
        """A session as a sibling service could have signed it: a shopper's, or one with odd
        values. Signing in adopts the anonymous cart (on any request, refused or not), so a
        signed-in session here never names a cart that has lines."""
        kind = draw(st.sampled_from(("none", "A", "A", "U", "S", "odd")))
        if kind == "none":
            return None
        data: dict[str, Any] = dict(self.shop.personas[kind]) if kind != "odd" else {}
        for key in draw(self.session_keys):
            data[key] = draw(self.session_values[key])
        user = data.get("user_id")
        if isinstance(user, int) and not isinstance(user, bool) and user > 0:
            if isinstance(data.get("cart_anon_id"), str):
                data["cart_anon_id"] = ANON_NOBODY
        return data

    def draw_cookies(self, draw: Any, session: dict[str, Any] | None) -> list[str]:
        """Cookie header values: the session signed, or garbage, forged, huge; others."""
        name = self.shop.cookie_name
        cookies: list[str] = []
        kind = draw(st.sampled_from(("signed", "signed", "signed", "garbage", "forged", "huge")))
        if session is not None and kind == "signed":
            cookies.append(f"{name}={self.shop.signed(session)}")
        elif kind == "garbage":
            cookies.append(f"{name}={draw(self.garbage_cookie)}")
        elif kind == "forged":
            payload, _, signature = self.shop.signed(session or {"user_id": 1}).rpartition(".")
            forged = draw(st.sampled_from((signature[::-1], "", "A" * len(signature), "x")))
            cookies.append(f"{name}={payload}.{forged}")
        elif kind == "huge":
            cookies.append(f"{name}={'A' * draw(st.sampled_from((4_096, 12_000, 20_000)))}")
        for key, value in draw(self.cookie_extras):
            if key.strip(";= "):
                cookies.append(f"{key.strip(';= ')}={value.strip(';')}")
        if cookies and rarely(draw, 10):
            cookies.append(f"{name}=duplicate")
        if not cookies:
            return []
        return cookies if draw(st.booleans()) else ["; ".join(cookies)]

    def draw_csrf(self, draw: Any, session: dict[str, Any] | None) -> str | None:
        """The form's token: the session's (usually), none, a forged one or another's."""
        own = (session or {}).get("csrf_token")
        own = own if isinstance(own, str) and own else None
        kind = draw(st.sampled_from(("own",) * 4 + ("none", "forged", "other", "odd")))
        if kind == "own" and own:
            return own
        if kind == "forged" and own:
            return own[:-1] + ("x" if own[-1] != "x" else "y")
        if kind == "other":
            return str(draw(self.persona_tokens))
        if kind == "odd":
            return str(draw(odd_text))
        return None

    # --- bodies ------------------------------------------------------------------------

    def draw_fields(self, draw: Any, session: dict[str, Any] | None) -> list[tuple[str, str]]:
        fields = [(n, draw(self.known(n))) for n in draw(self.field_names)]
        if draw(st.booleans()):
            fields.append(draw(self.extra_field))
        token = self.draw_csrf(draw, session)
        if token is not None:
            fields.insert(draw(st.integers(0, len(fields))), ("csrf_token", token))
        return fields

    def draw_body(self, draw: Any, session: dict[str, Any] | None) -> tuple[bytes, str | None]:
        """A body and the Content-Type that says what it is (or an odd one)."""
        kind = draw(st.sampled_from(("none", "form", "form", "form", "json", "raw", "multi")))
        content_type: str | None
        if kind == "none":
            body, content_type = b"", None
        elif kind == "form":
            body = form_body(self.draw_fields(draw, session))
            if rarely(draw, 10):
                body += draw(st.sampled_from((b"&%zz=%ff%fe", b"&&=&a", b";a=b", b"&a=%c0%af")))
            content_type = "application/x-www-form-urlencoded"
        elif kind == "json":
            body, content_type = self.draw_json_body(draw), "application/json"
        elif kind == "multi":
            boundary = draw(st.sampled_from(("b0undary", "x" * 70, "a b")))
            fields = self.draw_fields(draw, session)
            body = multipart_body(fields, boundary, broken=draw(st.booleans()))
            content_type = f"multipart/form-data; boundary={boundary}"
        else:
            body = draw(st.binary(max_size=200)) + draw(st.sampled_from((b"", b"\xff" * 3)))
            content_type = None
        if rarely(draw, 4):
            content_type = draw(self.content_types)
        return body, content_type

    def draw_json_body(self, draw: Any, meant_for: str = "any") -> bytes:
        """JSON for the webhook and the sandbox's API: well formed, nearly, or not at all;
        mostly the kind the endpoint takes (`meant_for`)."""
        kinds = ("webhook", "checkout", "refund", "any", "raw")
        if meant_for in kinds and not rarely(draw, 3):
            kind = meant_for if not rarely(draw, 3) else "raw"
        else:
            kind = draw(st.sampled_from(kinds))
        fields: dict[str, str]
        if kind == "webhook":
            event = draw(webhook_events)
            checkout = draw(self.known("checkout_id"))
            fields = {"event_type": json.dumps(event), "id": json.dumps(checkout)}
            for name in draw(webhook_odd_fields):
                fields[name] = draw(json_odd_values)
        elif kind == "checkout":  # valid but for the amount, mostly
            fields = {
                "checkout_reference": json.dumps("coop-x-1"),
                "amount": draw(st.sampled_from(JSON_NUMBERS)),
                "currency": json.dumps("GBP"),
                "merchant_code": json.dumps(self.shop.values["merchant_code"][0]),
            }
            if rarely(draw, 3):  # one of them missing or odd
                name = draw(st.sampled_from(sorted(fields)))
                if draw(st.booleans()):
                    del fields[name]
                else:
                    fields[name] = draw(json_odd_values | odd_text.map(json.dumps))
            for name in draw(checkout_optional):
                fields[name] = draw(checkout_optional_values)
        elif kind == "refund":
            fields = {"amount": draw(st.sampled_from(JSON_NUMBERS))}
        elif kind == "any":
            return json.dumps(draw(json_values)).encode()
        else:
            return bytes(draw(st.sampled_from(RAW_JSON)))
        return ("{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in fields.items()) + "}").encode()

    # --- targets -----------------------------------------------------------------------

    def draw_query(self, draw: Any) -> str:
        pairs = draw(self.query_pairs)
        query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs)
        if rarely(draw, 8):
            query += draw(st.sampled_from(("&%zz=%ff", "&&=;", "&page", "#frag", "&a=%00")))
        return f"?{query}" if query or draw(st.booleans()) else ""

    def draw_path(self, draw: Any, rule: Rule | None) -> str:
        if rule is None:  # somewhere no route goes
            segments = draw(self.random_segments)
            return "/" + "/".join(encode_segment(s, keep_slash=True) for s in segments)
        path, at = "", 0
        for match in _ARGUMENT.finditer(rule.rule):
            path += rule.rule[at : match.start()]
            path += self.draw_argument(draw, match.group(1) or "default", match.group(2))
            at = match.end()
        return path + rule.rule[at:]

    # --- the request -------------------------------------------------------------------

    def draw_request(
        self,
        draw: Any,
        *,
        method: str,
        target: str,
        session: dict[str, Any] | None,
        body: bytes,
        content_type: str | None,
        odd_headers: bool = True,
    ) -> FuzzRequest:
        headers: list[tuple[str, str]] = []
        http_version = "1.0" if odd_headers and rarely(draw, 10) else "1.1"
        host_kind = draw(st.integers(0, 9)) if odd_headers else 0
        if host_kind < 6:
            headers.append(("Host", HOST))
        elif host_kind < 8:
            headers.append(("Host", "127.0.0.1:8002"))
        elif host_kind == 8:
            headers.append(("Host", draw(self.odd_hosts)))
        elif http_version == "1.1":  # two Host headers (HTTP/1.0 may send none at all)
            headers += [("Host", HOST), ("Host", draw(self.odd_hosts))]
        headers += [("Cookie", value) for value in self.draw_cookies(draw, session)]
        if content_type is not None:
            headers.append(("Content-Type", as_header(content_type)))
        wanted = draw(self.header_choice if odd_headers else self.calm_header_choice)
        for name in wanted:
            if name == "X-CSRF-Token" and session and not draw(st.booleans()):
                headers.append((name, as_header(str(session.get("csrf_token")))))
            else:
                headers.append((name, draw(self.optional_headers[name])))
        if odd_headers and rarely(draw, 10):
            headers.append((draw(header_names), draw(header_text)))
        framing = "length"
        if odd_headers:
            framing = draw(framings)
            if framing == "one short":
                framing = str(max(0, len(body) - 1))
        signed = session if any(h[1].startswith(self.shop.cookie_name) for h in headers) else None
        return FuzzRequest(method, target, tuple(headers), body, framing, http_version, signed)

    def _route_request(self, draw: Any) -> FuzzRequest:
        """Any route of the app (or none), any method, odd paths, headers, cookies, bodies."""
        rule = draw(self.routes)
        own = ("GET", "POST")
        if rule is not None:  # its own methods, the one it is for first
            own = tuple(sorted(rule.methods or (), key=lambda m: (m in ("HEAD", "OPTIONS"), m)))
        method = draw(st.sampled_from(ODD_METHODS) if draw(st.booleans()) else st.sampled_from(own))
        target = self.draw_path(draw, rule) + self.draw_query(draw)
        if rarely(draw, 20):  # absolute-form and asterisk-form targets
            prefix = draw(st.sampled_from(("*", "http://localhost", "http://evil.example")))
            target = prefix + (target if prefix != "*" else "")
        session = self.draw_session(draw)
        body, content_type = self.draw_body(draw, session)
        if method.upper() in ("GET", "HEAD") and not rarely(draw, 4):
            body, content_type = b"", None
        return self.draw_request(
            draw,
            method=method,
            target=target,
            session=session,
            body=body,
            content_type=content_type,
        )

    def _proxied_request(self, draw: Any) -> FuzzRequest:
        """A route request as a trusted reverse proxy passes it on: X-Forwarded-For, -Proto
        and -Host, each odd or not, replacing any the client sent."""
        request = self._route_request(draw)
        forwarded = [(n, v) for n, v in request.headers if not n.startswith("X-Forwarded-")]
        for name, plain in FORWARDED.items():
            if rarely(draw, 5):
                continue
            odd = rarely(draw, 3)
            forwarded.append((name, draw(self.optional_headers[name] if odd else plain)))
        return replace(request, headers=tuple(forwarded))

    def _form_request(self, draw: Any) -> FuzzRequest:
        """A form a page rendered, posted back as rendered or changed: fields dropped, odd,
        added or repeated, another shopper's session, another token, another target."""
        persona, form = draw(self.forms)
        session = self.draw_session(draw) if rarely(draw, 5) else dict(self.shop.personas[persona])
        fields: list[tuple[str, str]] = []
        for name, value in form.fields:
            action = draw(st.sampled_from(URL_FIELD_ACTIONS if name in URL_FIELDS else ACTIONS))
            if name == "csrf_token":
                token = self.draw_csrf(draw, session)
                if token is not None:
                    fields.append((name, token))
            elif action == "keep":
                fields.append((name, value))
            elif action == "odd":
                fields.append((name, draw(self.known(name))))
            elif action == "twice":
                fields += [(name, value), (name, draw(self.known(name)))]
        if rarely(draw, 3):
            fields.append(("next", draw(self.known("next"))))
        if rarely(draw, 5):
            fields.append(draw(self.extra_field))
        body = form_body(fields)
        content_type: str | None = "application/x-www-form-urlencoded"
        if rarely(draw, 6):
            body, content_type = self.draw_body(draw, session)
        method = draw(st.sampled_from(ODD_METHODS)) if rarely(draw, 10) else form.method
        action = form.action
        if rarely(draw, 6):  # the same form aimed at another line, order, shop
            action = re.sub(
                r"/(\d+|[A-Za-z0-9_-]{8,})/",
                lambda m: "/" + self.draw_argument(draw, "default", "x") + "/",
                action,
                count=1,
            )
        return self.draw_request(
            draw,
            method=method,
            target=action,
            session=session,
            body=body,
            content_type=content_type,
            odd_headers=rarely(draw, 3),
        )

    def _redirect_request(self, draw: Any) -> FuzzRequest:
        """A cart form posted as its page rendered it, by its own shopper, with an odd `next`
        or Referer: the values a redirect may carry into `Location`."""
        persona, form = draw(self.cart_forms)
        session = dict(self.shop.personas[persona])
        fields = [(name, value) for name, value in form.fields if name != "next"]
        headers: list[tuple[str, str]] = [("Host", HOST)]
        headers.append(("Cookie", f"{self.shop.cookie_name}={self.shop.signed(session)}"))
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        where = draw(st.sampled_from(("next", "Referer", "both")))
        if where != "Referer":
            fields.append(("next", draw(redirect_targets)))
        if where != "next":
            headers.append(("Referer", _H11_REFUSES.sub("", as_header(draw(redirect_targets)))))
        return FuzzRequest("POST", form.action, tuple(headers), form_body(fields), session=session)

    def _json_request(self, draw: Any) -> FuzzRequest:
        """SumUp's webhook and the sandbox's API (with its key, mostly): JSON bodies well
        formed, odd (amounts like 1E+999998, deep nesting, wrong types) or not JSON."""
        method, template, kind = draw(self.json_endpoints)
        target = re.sub(
            r"\{(\w+)\}", lambda m: self.draw_argument(draw, "default", m.group(1)), template
        )
        if method == "GET" and template.endswith("checkouts"):
            target += self.draw_query(draw)
        if rarely(draw, 10):
            method = draw(st.sampled_from(ODD_METHODS))
        if not rarely(draw, 6):
            body = self.draw_json_body(draw, meant_for=kind)
        else:
            body = self.draw_body(draw, None)[0]
        content_type = draw(self.json_content_types)
        request = self.draw_request(
            draw,
            method=method,
            target=target,
            session=None,
            body=body,
            content_type=content_type,
            odd_headers=rarely(draw, 3),
        )
        if target.startswith("/sumup-sandbox") and not rarely(draw, 5):
            headers = [h for h in request.headers if h[0] != "Authorization"]
            headers.append(("Authorization", SANDBOX_AUTH))
            request = replace(request, headers=tuple(headers))
        return request


JSON_CONTENT_TYPES = ("application/json",) * 4 + ("text/plain", "application/x-www-form-urlencoded")
RAW_JSON = (  # nested deeper than Python's recursion limit, within the webhook's 4 KiB
    b"[" * 1_500 + b"]" * 1_500,
    b"[" * 2_000 + b"]" * 2_000,
    b'{"a":' * 600 + b"[" * 1_000 + b"]" * 1_000 + b"}" * 600,
    b'{"a":' * 1_000 + b"1" + b"}" * 1_000,
    b"[" * 60_000 + b"]" * 60_000,
    b"{",
    b'{"event_type": "CHECKOUT_STATUS_CHANGED", "id": "\\ud800"}',
    b"\xef\xbb\xbf{}",
    b"\xff\xfe{\x00}\x00",
    b'{"a": 1, "a": 2}',
    b"",
)
JSON_ENDPOINTS = (  # (method, path, the body it takes)
    ("POST", "/checkout/webhook", "webhook"),
    ("POST", "/checkout/webhook", "webhook"),
    ("POST", "/checkout/webhook", "webhook"),
    ("POST", "/sumup-sandbox/v0.1/checkouts", "checkout"),
    ("POST", "/sumup-sandbox/v0.1/checkouts", "checkout"),
    (
        "POST",
        "/sumup-sandbox/v1.0/merchants/{merchant_code}/payments/{transaction_id}/refunds",
        "refund",
    ),
    ("DELETE", "/sumup-sandbox/v0.1/checkouts/{checkout_id}", "any"),
    ("GET", "/sumup-sandbox/v0.1/checkouts/{checkout_id}", "any"),
    ("GET", "/sumup-sandbox/v0.1/checkouts", "any"),
    ("POST", "/sumup-sandbox/checkouts/{checkout_id}/expire", "any"),
    ("POST", "/sumup-sandbox/checkouts/{checkout_id}/webhook", "any"),
)


# What a reverse proxy in front says of the browser's request, when all is well.
FORWARDED = {
    "X-Forwarded-For": st.sampled_from(("203.0.113.7", "203.0.113.7, 10.0.0.1")),
    "X-Forwarded-Proto": st.sampled_from(("https", "http")),
    "X-Forwarded-Host": st.sampled_from((HOST, "127.0.0.1:8002")),
}


def strategies_for(shop: Shop) -> Strategies:
    if shop.strategies is None:
        shop.strategies = Strategies(shop)
        STATS.routes = len(shop.strategies.rules)
    return shop.strategies  # type: ignore[no-any-return]
