"""Headers every response carries: no framing, no sniffing, a strict content policy."""

from __future__ import annotations

from quart import Quart, Response


def init_security_headers(app: Quart, *, extra_form_actions: tuple[str, ...] = ()) -> None:
    # form-action also governs where a form's redirect may go, so the payment provider's
    # hosted checkout must be named here for the checkout redirect to be followed.
    form_action = " ".join(("'self'", *extra_form_actions))
    policy = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )

    @app.after_request
    async def _add_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        # Carts and orders are personal: no shared cache may keep them.
        headers.setdefault("Cache-Control", "no-store")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
