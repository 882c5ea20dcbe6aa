"""The cart service: `create_app()` builds it; `app` is what `hypercorn app:app` serves."""

from __future__ import annotations

import path_setup  # noqa: F401  (puts the project on sys.path for hypercorn and alembic)

import sys

from quart import Quart

from shared.base_app import create_base_app
from shared.config import ConfigError, Settings, load_settings


def create_app(settings: Settings | None = None) -> Quart:
    settings = settings or load_settings()
    app = create_base_app("cart", settings)

    from services import register_domain_services

    register_domain_services()

    from bp.cart import bp as cart_bp
    from bp.cart.identity_hook import init_identity

    init_identity(app)
    app.register_blueprint(cart_bp)

    if not settings.production:
        # The embedded default's stand-ins for the market and events services' pages and
        # the blog's sign-in; production has the real ones.
        from bp.demo import bp as demo_bp

        app.register_blueprint(demo_bp)
    return app


def _app_or_exit() -> Quart:
    try:
        return create_app()
    except ConfigError as error:
        # One line an operator can act on, not a traceback.
        sys.exit(f"cart: cannot start: {error}")


app = _app_or_exit()
