"""What can go wrong talking to SumUp, as typed exceptions with SumUp's own codes.

Messages carry SumUp's error code and text, never the API key (the client scrubs it).
"""

from __future__ import annotations


class SumUpError(Exception):
    """SumUp refused or could not answer. `code` is SumUp's error_code (or ours), `status`
    the HTTP status when there was an answer."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message, status)
        self.code = code
        self.message = message
        self.status = status

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"SumUp {self.code}{status}: {self.message}"


class SumUpUnavailable(SumUpError):
    """No usable answer: network failure, timeout, 5xx or rate limiting. Try again later."""


class SumUpAuthError(SumUpError):
    """The API key is missing, wrong or not allowed to do this (401/403)."""


class SumUpNotFound(SumUpError):
    """No such checkout (404)."""


class DuplicatedCheckout(SumUpError):
    """The checkout reference is taken by another checkout (409 DUPLICATED_CHECKOUT)."""


class CheckoutProcessed(SumUpError):
    """The checkout is already paid, so it cannot be deactivated (409 CHECKOUT_PROCESSED)."""


class SumUpRefundError(SumUpError):
    """SumUp refused a refund (400/403/404/409/422); `message` is SumUp's `detail`."""


class SumUpBadResponse(SumUpError):
    """SumUp answered, but not in the documented shape."""
