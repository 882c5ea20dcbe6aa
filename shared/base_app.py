"""The base every one of the five services is built on.

`create_base_app()` gives a Quart app with the shared session cookie, CSRF protection,
error pages, security headers, request ids in the logs, the database session per request,
Redis when configured, and /healthz and /readyz.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import templating as flask_templating
from hypercorn.middleware import ProxyFixMiddleware
from quart import Quart

from shared.canonical_host import init_canonical_host
from shared.config import PROJECT_ROOT, Settings
from shared.csrf import init_csrf
from shared.db import init_db
from shared.disconnect import init_finish_when_client_leaves
from shared.errors import init_error_pages
from shared.health import bp as health_bp
from shared.host_guard import init_host_guard
from shared.http_client import init_http_client
from shared.money import format_money
from shared.redis_client import init_redis
from shared.request_id import configure_logging, init_request_id
from shared.security_headers import init_security_headers
from shared.session_shape import init_session_shape
from shared.static_names import init_static_names

MAX_REQUEST_BYTES = 256 * 1024  # forms are small; anything larger is refused with 413


def create_base_app(
    name: str, settings: Settings, *, extra_form_actions: tuple[str, ...] = ()
) -> Quart:
    configure_logging()
    app = Quart(
        name,
        root_path=str(PROJECT_ROOT),
        template_folder="templates",
        static_folder="static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        DATABASE_POOL_SIZE=settings.database_pool_size,
        REDIS_URL=settings.redis_url,
        SIBLING_ORIGINS=settings.sibling_origins,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        # The session cookie is shared with the blog service, which signs users in.
        SESSION_COOKIE_NAME=settings.session_cookie_name,
        SESSION_COOKIE_DOMAIN=settings.session_cookie_domain,
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
    )
    app.extensions["settings"] = settings
    app.jinja_env.globals["format_money"] = lambda minor, currency: format_money(
        minor, currency, settings.locale
    )
    app.jinja_env.globals["production"] = settings.production
    app.jinja_env.globals["app_urls"] = settings.app_urls
    app.jinja_env.globals["site"] = settings.site

    init_request_id(app)
    init_db(app)
    init_redis(app)
    init_http_client(app)
    init_session_shape(app)  # before anything flashes or renders
    init_static_names(app)
    init_canonical_host(app, settings)  # development: one host name; before the CSRF check
    init_csrf(app)
    init_security_headers(app, extra_form_actions=extra_form_actions)
    init_error_pages(app)
    app.register_blueprint(health_bp)

    # A client that leaves once its request is read does not cancel the handler: it runs to
    # its end (its session committed or rolled back) and its response is dropped (issue 10).
    init_finish_when_client_leaves(app)

    # A malformed Host is a plain 400 before Quart reads it. Wrapped before the proxy fix,
    # so behind trusted proxies it checks the X-Forwarded-Host and -Proto the app will use.
    init_host_guard(app)
    if settings.trusted_proxy_hops:
        # Behind the reverse proxy: take scheme, host and client address from its headers.
        app.asgi_app = ProxyFixMiddleware(  # type: ignore[method-assign]
            app.asgi_app, mode="legacy", trusted_hops=settings.trusted_proxy_hops
        )
    return app


def drop_flask_context_processors(app: Quart) -> None:
    """Take Flask's own template context processor off the blueprints; call once all are
    registered.

    Flask's Scaffold gives every blueprint its synchronous default processor (g, request,
    session), which Quart then runs in a worker thread at every render of the blueprint's
    pages: a thread hand-off per page (2 % of the cart page's CPU) for what Quart's own
    async processor, the app's, already puts in the context.
    """
    for processors in app.template_context_processors.values():
        processors[:] = [
            processor
            for processor in processors
            if processor is not flask_templating._default_template_ctx_processor
        ]


def settings_of(app: Any) -> Settings:
    return app.extensions["settings"]
