"""The cart service: `create_app()` builds it; `app` is what `hypercorn app:app` serves."""

from __future__ import annotations

import path_setup  # noqa: F401  (puts the project on sys.path for hypercorn and alembic)

from quart import Quart

from shared.base_app import create_base_app, drop_flask_context_processors
from shared.config import ConfigError, Settings, load_settings
from shared.gc_freeze import init_gc_freeze
from shared.startup import refuse_to_start
from sumup.factory import hosted_checkout_form_actions


def create_app(settings: Settings | None = None) -> Quart:
    settings = settings or load_settings()
    # The checkout form redirects to SumUp's hosted page: CSP's form-action must allow it.
    app = create_base_app(
        "cart", settings, extra_form_actions=hosted_checkout_form_actions(settings)
    )

    from services import register_domain_services

    register_domain_services()

    from shared.events.background import init_event_dispatcher

    # Domain events leave the outbox from a background task while the app serves (when
    # settings.background_jobs); `manage.py events dispatch` does the same on its own.
    init_event_dispatcher(app)

    from bp.order_ops.background import init_order_jobs

    # Payments reconciled with SumUp and unpaid orders expired, every minute while the app
    # serves (when settings.background_jobs); `manage.py orders reconcile|expire` likewise.
    init_order_jobs(app)

    from bp.cart import bp as cart_bp
    from bp.cart.identity_hook import init_identity
    from bp.cart.site_header import init_site_header

    init_identity(app)
    init_site_header(app)
    app.register_blueprint(cart_bp)

    from bp.checkout import bp as checkout_bp

    app.register_blueprint(checkout_bp)

    from bp.order import bp as order_bp
    from bp.orders import bp as orders_bp

    app.register_blueprint(orders_bp)
    app.register_blueprint(order_bp)

    if not settings.production:
        # The embedded default's stand-ins for the market and events services' pages and
        # the blog's sign-in; production has the real ones.
        from bp.demo import bp as demo_bp

        app.register_blueprint(demo_bp)

    if settings.sumup.sandbox:  # never in production: see SumUpSettings
        from sumup.sandbox import init_sumup_sandbox

        init_sumup_sandbox(app)
    drop_flask_context_processors(app)
    init_gc_freeze(app)  # last: what the other start-up hooks made is frozen with the rest
    return app


def _app_or_exit() -> Quart:
    try:
        return create_app()
    except ConfigError as error:
        # One line an operator can act on, not a traceback, and a non-zero exit status,
        # under `hypercorn app:app` too (shared/startup.py).
        refuse_to_start("cart", error)


app = _app_or_exit()
