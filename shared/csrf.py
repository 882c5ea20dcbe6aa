"""CSRF protection for every form POST.

The token lives in the session that all five services share (same secret, same cookie), so
the market and events services can render add-to-cart forms that post here. A POST must
carry that token (form field `csrf_token` or header `X-CSRF-Token`) and, when the browser
says where it comes from (Origin), come from this service or a sibling. Hand-written rather
than Quart-WTF: the token must be the one the sibling services put in the shared session,
and it is a dozen lines.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from quart import Quart, current_app, request, session
from werkzeug.exceptions import BadRequest

SESSION_KEY = "csrf_token"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CSRFError(BadRequest):
    description = (
        "This form has expired or did not come from this site. Go back, reload the page "
        "and try again."
    )


def csrf_token() -> str:
    """The session's token, made on first use (templates call this)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def csrf_exempt(view: Callable[..., Any]) -> Callable[..., Any]:
    """For endpoints that are not forms (SumUp's webhook), which prove themselves otherwise."""
    view._csrf_exempt = True  # type: ignore[attr-defined]
    return view


def init_csrf(app: Quart) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    async def _check_csrf() -> None:
        if request.method not in UNSAFE_METHODS:
            return
        view = current_app.view_functions.get(request.endpoint or "")
        if view is None or getattr(view, "_csrf_exempt", False):
            return
        origin = request.headers.get("Origin")
        if origin and origin != "null" and origin not in _allowed_origins():
            raise CSRFError()
        expected = session.get(SESSION_KEY)
        sent = request.headers.get(HEADER) or (await request.form).get(FORM_FIELD)
        if not (
            isinstance(expected, str)
            and expected
            and sent
            and secrets.compare_digest(expected.encode(), sent.encode())
        ):
            raise CSRFError()


def _allowed_origins() -> frozenset[str]:
    own = f"{request.scheme}://{request.host}"
    return current_app.config["SIBLING_ORIGINS"] | {own}
