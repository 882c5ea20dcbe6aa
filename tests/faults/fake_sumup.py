"""A stand-in for SumUp's checkout API that can be made unreachable, slow or silent.

Served from a thread of the test process (so it answers while the test waits on a
subprocess, `manage.py orders reconcile` say) on a port of its own, which the app reaches as
SUMUP_API_BASE. It answers what the app's client asks, minimally but as SumUp does (the
fields and status codes of SumUp's OpenAPI): create (201; 409 DUPLICATED_CHECKOUT for a
reference it has), get, list by checkout_reference, deactivate (409 CHECKOUT_PROCESSED once
paid). A create reaches it or not, and is answered or not, as the test says:

- `refuse()`: nothing listens on the port (connection refused); `answer()` listens again;
- `slow(seconds)`: every call does what it asks at once, and answers that much later;
- `script(...)`: the next creates, in turn, `"hang"` (never seen: held unanswered and not
  recorded, as a request lost on its way) or `"record_then_hang"` (made at SumUp, its answer
  never comes), held until `release()`.

The test pays a checkout as its shopper would on SumUp's page (`pay`), with or without the
webhook SumUp then posts to the checkout's return_url. `checkouts_made` counts, per
checkout_reference, the checkouts made: SumUp must never be made to hold two.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from sumup.client import dumps_exact

API_KEY = "sup_sk_faults_0000000000000000"  # what the app is given as SUMUP_API_KEY
HANG_LIMIT_SECONDS = 60.0  # a held call is let go after this even if nobody releases it


@dataclass
class FakeCheckout:
    id: str
    checkout_reference: str
    amount: Decimal
    currency: str
    merchant_code: str
    description: str
    return_url: str | None
    redirect_url: str | None
    status: str = "PENDING"
    transactions: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, base: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "checkout_reference": self.checkout_reference,
            "amount": self.amount,
            "currency": self.currency,
            "merchant_code": self.merchant_code,
            "description": self.description,
            "status": self.status,
            "date": "2026-01-01T00:00:00.000+00:00",
            "hosted_checkout_url": f"{base}/pay/{self.id}",
            "transactions": self.transactions,
        }
        if self.return_url:
            data["return_url"] = self.return_url
        if self.redirect_url:
            data["redirect_url"] = self.redirect_url
        paid = [t for t in self.transactions if t["status"] == "SUCCESSFUL"]
        if paid:
            data["transaction_id"] = paid[-1]["id"]
            data["transaction_code"] = paid[-1]["transaction_code"]
        return data


class FakeSumUp:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.checkouts: dict[str, FakeCheckout] = {}
        self.create_requests: list[tuple[str, str]] = []  # (reference, what happened)
        self.checkouts_made: Counter[str] = Counter()  # reference -> checkouts made
        self.calls: Counter[str] = Counter()  # "POST create", "GET list", ... as answered
        self.delay_seconds = 0.0
        self._script: list[str] = []
        self.held = 0  # creates being held now
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # --- what the test does to it ---------------------------------------------------------

    def answer(self) -> None:
        """Listen (again) and answer at once."""
        self.delay_seconds = 0.0
        if self._server is None:
            server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._server = server

    def refuse(self) -> None:
        """Nothing listens: connecting is refused, as with SumUp out of reach."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def slow(self, seconds: float) -> None:
        self.answer()
        self.delay_seconds = seconds

    def script(self, *behaviours: str) -> None:
        assert all(b in ("hang", "record_then_hang", "answer") for b in behaviours)
        with self.lock:
            self._script.extend(behaviours)

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self.release()
        self.refuse()

    def pay(self, checkout_id: str, *, webhook: bool) -> None:
        """The shopper pays on SumUp's page; SumUp posts its webhook (or it is lost)."""
        with self.lock:
            checkout = self.checkouts[checkout_id]
            assert checkout.status == "PENDING", checkout.status
            checkout.status = "PAID"
            checkout.transactions.append(
                {
                    "id": str(uuid.uuid4()),
                    "transaction_code": f"T{uuid.uuid4().hex[:9].upper()}",
                    "amount": checkout.amount,
                    "currency": checkout.currency,
                    "status": "SUCCESSFUL",
                    "timestamp": "2026-01-01T00:00:00.000+00:00",
                }
            )
            return_url = checkout.return_url
        if webhook and return_url:
            response = httpx.post(
                return_url,
                json={"event_type": "CHECKOUT_STATUS_CHANGED", "id": checkout_id},
                timeout=30,
            )
            assert response.status_code == 204, response.status_code

    def by_reference(self, reference: str) -> FakeCheckout | None:
        with self.lock:
            for checkout in self.checkouts.values():
                if checkout.checkout_reference == reference:
                    return checkout
        return None

    def statuses(self) -> Counter[str]:
        with self.lock:
            return Counter(c.status for c in self.checkouts.values())

    # --- SumUp's side -------------------------------------------------------------------

    def _next_behaviour(self) -> str:
        with self.lock:
            return self._script.pop(0) if self._script else "answer"

    def _hold(self) -> None:
        with self.lock:
            self.held += 1
        self._release.wait(HANG_LIMIT_SECONDS)

    def create(self, body: dict[str, Any]) -> tuple[int, Any] | None:
        """None: the request is held and never answered."""
        reference = str(body.get("checkout_reference") or "")
        behaviour = self._next_behaviour()
        if behaviour == "hang":
            with self.lock:
                self.create_requests.append((reference, "held, not seen"))
            self._hold()
            return None
        with self.lock:
            if any(c.checkout_reference == reference for c in self.checkouts.values()):
                self.create_requests.append((reference, "409 duplicated"))
                return 409, {
                    "error_code": "DUPLICATED_CHECKOUT",
                    "message": "Checkout with this checkout reference already exists",
                }
            checkout = FakeCheckout(
                id=str(uuid.uuid4()),
                checkout_reference=reference,
                amount=Decimal(str(body["amount"])),
                currency=str(body["currency"]),
                merchant_code=str(body["merchant_code"]),
                description=str(body.get("description") or ""),
                return_url=body.get("return_url"),
                redirect_url=body.get("redirect_url"),
            )
            self.checkouts[checkout.id] = checkout
            self.checkouts_made[reference] += 1
            self.create_requests.append(
                (reference, "made, answer held" if behaviour == "record_then_hang" else "made")
            )
        if behaviour == "record_then_hang":
            self._hold()
            return None
        return 201, checkout.to_json(self.base)

    def get(self, checkout_id: str) -> tuple[int, Any]:
        with self.lock:
            checkout = self.checkouts.get(checkout_id)
            if checkout is None:
                return 404, {"error_code": "NOT_FOUND", "message": "Resource not found"}
            return 200, checkout.to_json(self.base)

    def find(self, reference: str) -> tuple[int, Any]:
        with self.lock:
            return 200, [
                c.to_json(self.base)
                for c in self.checkouts.values()
                if c.checkout_reference == reference
            ]

    def deactivate(self, checkout_id: str) -> tuple[int, Any]:
        with self.lock:
            checkout = self.checkouts.get(checkout_id)
            if checkout is None:
                return 404, {"error_code": "NOT_FOUND", "message": "Resource not found"}
            if checkout.status == "PAID":
                return 409, {
                    "error_code": "CHECKOUT_PROCESSED",
                    "message": "Checkout is already processed",
                }
            checkout.status = "EXPIRED"
            return 200, checkout.to_json(self.base)


def _handler_for(fake: FakeSumUp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet: the test prints what it needs

        def _route(self) -> tuple[int, Any] | None:
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                return 401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized."}
            parts = urlsplit(self.path)
            path = parts.path.rstrip("/")
            if path == "/v0.1/checkouts" and self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}", parse_float=Decimal)
                fake.calls["POST create"] += 1
                return fake.create(body)
            if path == "/v0.1/checkouts" and self.command == "GET":
                fake.calls["GET list"] += 1
                reference = parse_qs(parts.query).get("checkout_reference", [""])[0]
                return fake.find(reference)
            if path.startswith("/v0.1/checkouts/"):
                checkout_id = path.rsplit("/", 1)[1]
                if self.command == "GET":
                    fake.calls["GET checkout"] += 1
                    return fake.get(checkout_id)
                if self.command == "DELETE":
                    fake.calls["DELETE checkout"] += 1
                    return fake.deactivate(checkout_id)
            return 404, {"error_code": "NOT_FOUND", "message": "Resource not found"}

        def _serve(self) -> None:
            self.close_connection = True
            answer = self._route()
            if answer is None:
                return  # held until released: the client has long given up
            if fake.delay_seconds:
                time.sleep(fake.delay_seconds)
            status, data = answer
            payload = dumps_exact(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                # No keep-alive: once refuse() closes the port, no pooled connection answers.
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up waiting (a timeout): its problem, as with SumUp

        do_GET = do_POST = do_DELETE = _serve

    return Handler
