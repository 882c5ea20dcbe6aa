"""What the sandbox's routes ask of a store, whichever keeps the checkouts.

SUMUP_SANDBOX_STORE says which: `database` (sumup/sandbox_db.py, the default: every process
sees every checkout) or `memory` (sumup/sandbox_store.py's SandboxStore: this process only,
which the in-process tests read and steer directly). The routes speak to both through this
one async interface; the memory store's synchronous methods are wrapped as they are.
"""

from __future__ import annotations

from typing import Any, Protocol

from quart import Quart

from sumup.sandbox_store import DECLINE_BUTTON, SandboxCheckout, SandboxStore

STORE_KEY = "sumup_sandbox"


class SandboxBackend(Protocol):
    @property
    def send_webhooks(self) -> bool:
        """Off in tests that play a late (or lost) webhook themselves."""
        ...

    def record_webhook(self, checkout_id: str, outcome: str) -> None: ...

    async def create(self, body: Any) -> SandboxCheckout: ...

    async def get(self, checkout_id: str) -> SandboxCheckout: ...

    async def find(self, reference: str | None) -> list[SandboxCheckout]: ...

    async def deactivate(self, checkout_id: str) -> SandboxCheckout: ...

    async def pay(
        self, checkout_id: str, *, succeed: bool, decline_reason: str = DECLINE_BUTTON
    ) -> tuple[SandboxCheckout, bool]:
        """The checkout, and whether this call made a payment attempt."""
        ...

    async def expire(self, checkout_id: str) -> SandboxCheckout: ...

    async def refund(self, merchant_code: str, transaction_id: str, body: Any) -> None: ...


class InMemory:
    """SandboxStore (synchronous: each call reads and writes with no await between) as a
    SandboxBackend."""

    def __init__(self, store: SandboxStore) -> None:
        self.store = store

    @property
    def send_webhooks(self) -> bool:
        return self.store.send_webhooks

    def record_webhook(self, checkout_id: str, outcome: str) -> None:
        self.store.record_webhook(checkout_id, outcome)

    async def create(self, body: Any) -> SandboxCheckout:
        return self.store.create(body)

    async def get(self, checkout_id: str) -> SandboxCheckout:
        return self.store.get(checkout_id)

    async def find(self, reference: str | None) -> list[SandboxCheckout]:
        return self.store.find(reference)

    async def deactivate(self, checkout_id: str) -> SandboxCheckout:
        return self.store.deactivate(checkout_id)

    async def pay(
        self, checkout_id: str, *, succeed: bool, decline_reason: str = DECLINE_BUTTON
    ) -> tuple[SandboxCheckout, bool]:
        attempts_before = len(self.store.get(checkout_id).transactions)
        checkout = self.store.pay(checkout_id, succeed=succeed, decline_reason=decline_reason)
        return checkout, len(checkout.transactions) > attempts_before

    async def expire(self, checkout_id: str) -> SandboxCheckout:
        return self.store.expire(checkout_id)

    async def refund(self, merchant_code: str, transaction_id: str, body: Any) -> None:
        self.store.refund(merchant_code, transaction_id, body)


def backend_of(app: Quart) -> SandboxBackend:
    """The app's store as the routes use it, read from the app on every call (a test may
    put a store of its own there)."""
    store = app.extensions[STORE_KEY]
    if isinstance(store, SandboxStore):
        return InMemory(store)
    backend: SandboxBackend = store
    return backend
