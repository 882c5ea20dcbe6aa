"""The shared base app: error pages, security headers, CSRF, cookies, request ids, health.

Test-only routes are registered on the app in the fixture below: one that fails with an
unexpected exception, one that writes and then fails, a plain form to post to.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Blueprint, abort, session
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.config import Settings, load_settings
from shared.csrf import SESSION_KEY as CSRF_SESSION_KEY
from shared.db import get_session, make_engine, make_sessionmaker
from shared.errors import SERVER_ERROR_MESSAGE
from shared.models import User
from shared.request_id import RequestIdFilter
from tests.conftest import redis_only

SECRET_IN_EXCEPTION = "sk_live_do_not_show_this"
TOKEN = "test-csrf-token-" + "x" * 20
MARKET_ORIGIN = "http://127.0.0.1:8001"  # a sibling service in config/app-config.yaml

test_routes = Blueprint("test_only", __name__)


@test_routes.get("/test/boom")
async def boom():  # type: ignore[no-untyped-def]
    raise RuntimeError(f"database password is {SECRET_IN_EXCEPTION}")


@test_routes.get("/test/forbidden")
async def forbidden():  # type: ignore[no-untyped-def]
    abort(403)


@test_routes.get("/test/users/<email>")
async def write_user(email: str):  # type: ignore[no-untyped-def]
    get_session().add(User(email=email, display_name="Written"))
    return "written", 201


@test_routes.get("/test/users/<email>/then-fail")
async def write_user_then_fail(email: str):  # type: ignore[no-untyped-def]
    db = get_session()
    db.add(User(email=email, display_name="Written"))
    await db.flush()
    raise RuntimeError("failed after writing")


@test_routes.get("/test/users/<email>/then-refuse")
async def write_user_then_refuse(email: str):  # type: ignore[no-untyped-def]
    db = get_session()
    db.add(User(email=email, display_name="Written"))
    await db.flush()
    abort(409)


@test_routes.post("/test/form")
async def form():  # type: ignore[no-untyped-def]
    return "form accepted"


@test_routes.get("/test/touch-session")
async def touch_session():  # type: ignore[no-untyped-def]
    session["touched"] = True
    return "touched"


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    """The conftest's app with the test-only routes (registered before its first request)."""
    app.app.register_blueprint(test_routes)
    return app


async def _started(app_settings: Settings, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    from app import create_app

    quart_app = create_app(app_settings)
    quart_app.register_blueprint(test_routes)
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = make_sessionmaker(engine)
    return quart_app


@pytest.fixture
async def production_app(database_url: str, var_dir: Path, engine: AsyncEngine):  # type: ignore[no-untyped-def]
    settings = load_settings(
        {
            "APP_MODE": "production",
            "SECRET_KEY": "p" * 40,
            "DATABASE_URL_ASYNC": database_url,
            "CART_VAR_DIR": str(var_dir),
        }
    )
    quart_app = await _started(settings, engine)
    async with quart_app.test_app() as test_app:
        yield test_app


async def _set_csrf_token(client) -> None:  # type: ignore[no-untyped-def]
    async with client.session_transaction() as client_session:
        client_session[CSRF_SESSION_KEY] = TOKEN


async def _count_users(db: AsyncSession, email: str) -> int:
    return await db.scalar(select(func.count()).select_from(User).where(User.email == email)) or 0


# --- error pages -------------------------------------------------------------------------


async def test_unexpected_exception_shows_plain_500_page_without_trace(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/test/boom")
    html = await response.get_data(as_text=True)

    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert SERVER_ERROR_MESSAGE in html
    assert SECRET_IN_EXCEPTION not in html and "Traceback" not in html
    assert "RuntimeError" not in html


async def test_500_asked_for_as_json_is_json_without_trace(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/test/boom", headers={"Accept": "application/json"})
    body = await response.get_json()

    assert response.status_code == 500
    assert body == {"error": "Something went wrong on our side", "message": SERVER_ERROR_MESSAGE}


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/no-such-page", 404, "Not found"),
        ("GET", "/test/forbidden", 403, "Not allowed"),
        ("GET", "/test/form", 405, "Not allowed here"),
        ("POST", "/test/form", 400, "That request could not be understood"),
    ],
)
async def test_client_errors_show_a_plain_page(client, method, path, status, title) -> None:  # type: ignore[no-untyped-def]
    response = await client.open(path, method=method)
    html = await response.get_data(as_text=True)

    assert response.status_code == status
    assert f"<h1>{title}</h1>" in html
    assert "Traceback" not in html and "werkzeug" not in html.lower()
    # The page is the site's own, with its navigation.
    assert 'href="/cart/"' in html


async def test_oversized_request_is_refused_with_413(client) -> None:  # type: ignore[no-untyped-def]
    await _set_csrf_token(client)
    response = await client.post(
        "/test/form", form={"csrf_token": TOKEN, "padding": "x" * (300 * 1024)}
    )
    assert response.status_code == 413
    assert "Too large" in await response.get_data(as_text=True)


# --- one database session per request ----------------------------------------------------


async def test_successful_request_commits_its_session(client, db: AsyncSession) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/test/users/kept@example.org")
    assert response.status_code == 201
    assert await _count_users(db, "kept@example.org") == 1


@pytest.mark.parametrize("suffix", ["then-fail", "then-refuse"])
async def test_failed_request_rolls_back_what_it_wrote(client, db: AsyncSession, suffix) -> None:  # type: ignore[no-untyped-def]
    response = await client.get(f"/test/users/lost@example.org/{suffix}")
    assert response.status_code in {409, 500}
    assert await _count_users(db, "lost@example.org") == 0


# --- security headers --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/no-such-page", "/test/boom"])
async def test_every_response_carries_the_security_headers(client, path) -> None:  # type: ignore[no-untyped-def]
    headers = (await client.get(path)).headers

    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"
    # Plain http in development: no HSTS (it would pin 127.0.0.1 to https).
    assert "Strict-Transport-Security" not in headers


# --- CSRF --------------------------------------------------------------------------------


async def test_post_without_a_token_is_refused_with_a_clear_message(client) -> None:  # type: ignore[no-untyped-def]
    await _set_csrf_token(client)
    response = await client.post("/test/form", form={"field": "value"})
    html = await response.get_data(as_text=True)

    assert response.status_code == 400
    assert "This form has expired or did not come from this site" in html
    assert "form accepted" not in html


async def test_post_with_a_wrong_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    await _set_csrf_token(client)
    response = await client.post("/test/form", form={"csrf_token": "not-the-session-token"})
    assert response.status_code == 400
    assert "did not come from this site" in await response.get_data(as_text=True)


async def test_post_with_a_token_but_no_session_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.post("/test/form", form={"csrf_token": TOKEN})
    assert response.status_code == 400


async def test_post_with_the_session_token_is_accepted(client) -> None:  # type: ignore[no-untyped-def]
    await _set_csrf_token(client)
    by_field = await client.post("/test/form", form={"csrf_token": TOKEN})
    by_header = await client.post("/test/form", headers={"X-CSRF-Token": TOKEN})

    assert by_field.status_code == 200
    assert await by_field.get_data(as_text=True) == "form accepted"
    assert by_header.status_code == 200


async def test_post_from_a_foreign_origin_is_refused_even_with_the_token(client) -> None:  # type: ignore[no-untyped-def]
    await _set_csrf_token(client)
    response = await client.post(
        "/test/form", form={"csrf_token": TOKEN}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 400
    assert "did not come from this site" in await response.get_data(as_text=True)


async def test_post_from_a_sibling_service_with_the_shared_token_is_accepted(client) -> None:  # type: ignore[no-untyped-def]
    await _set_csrf_token(client)
    response = await client.post(
        "/test/form", form={"csrf_token": TOKEN}, headers={"Origin": MARKET_ORIGIN}
    )
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "form accepted"


async def test_post_from_a_sibling_origin_without_the_token_is_refused(client) -> None:  # type: ignore[no-untyped-def]
    await _set_csrf_token(client)
    response = await client.post("/test/form", form={}, headers={"Origin": MARKET_ORIGIN})
    assert response.status_code == 400


# --- session cookie ----------------------------------------------------------------------


async def test_production_session_cookie_is_secure_httponly_and_lax(production_app) -> None:  # type: ignore[no-untyped-def]
    response = await production_app.test_client().get("/test/touch-session")
    cookie = response.headers["Set-Cookie"]

    assert cookie.startswith("coop_session=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_development_session_cookie_is_httponly_and_lax_but_not_secure(client) -> None:  # type: ignore[no-untyped-def]
    cookie = (await client.get("/test/touch-session")).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


@pytest.mark.parametrize("path", ["/", "/shop/the-bakery/", "/demo/sign-in"])
async def test_production_does_not_serve_the_demo_pages(production_app, path) -> None:  # type: ignore[no-untyped-def]
    response = await production_app.test_client().get(path)
    assert response.status_code == 404


async def test_production_refuses_the_demo_sign_in_post(production_app) -> None:  # type: ignore[no-untyped-def]
    client = production_app.test_client()
    await _set_csrf_token(client)
    response = await client.post("/demo/sign-in", form={"csrf_token": TOKEN, "user_id": "1"})
    assert response.status_code == 404
    async with client.session_transaction() as client_session:
        assert "user_id" not in client_session


# --- request ids -------------------------------------------------------------------------


async def test_request_id_is_made_when_absent_and_echoed_when_given(client) -> None:  # type: ignore[no-untyped-def]
    made = (await client.get("/healthz")).headers["X-Request-ID"]
    other = (await client.get("/healthz")).headers["X-Request-ID"]
    echoed = (await client.get("/healthz", headers={"X-Request-ID": "proxy-id-1234"})).headers

    assert len(made) == 16 and made != other
    assert echoed["X-Request-ID"] == "proxy-id-1234"


async def test_unsafe_incoming_request_id_is_replaced(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id<script>"})
    assert response.headers["X-Request-ID"] != "bad id<script>"
    assert len(response.headers["X-Request-ID"]) == 16


def _request_id_handler() -> logging.Handler:
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, RequestIdFilter) for f in handler.filters):
            return handler
    raise AssertionError("configure_logging() installed no handler with the request id")


async def test_log_lines_of_a_request_carry_its_request_id(client, caplog) -> None:  # type: ignore[no-untyped-def]
    handler = _request_id_handler()
    assert isinstance(handler, logging.StreamHandler)
    output = io.StringIO()
    previous = handler.setStream(output)
    try:
        with caplog.at_level(logging.ERROR, logger="shared.errors"):
            response = await client.get("/test/boom", headers={"X-Request-ID": "trace-me-42"})
    finally:
        handler.setStream(previous)

    assert response.headers["X-Request-ID"] == "trace-me-42"
    # The trace goes to the log (for the operator), tagged with the request id...
    records = [r for r in caplog.records if r.name == "shared.errors"]
    assert records and records[0].exc_info is not None
    assert "/test/boom" in records[0].getMessage()
    # ...and the configured handler writes the id into the line.
    lines = [line for line in output.getvalue().splitlines() if "unhandled error" in line]
    assert lines and all("[trace-me-42]" in line for line in lines)
    assert SECRET_IN_EXCEPTION in output.getvalue()  # the operator does see the detail


# --- health ------------------------------------------------------------------------------


async def test_healthz_answers_while_the_process_lives(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_answers(client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/readyz")
    body = await response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ok" and body["checks"]["database"] == "ok"


@redis_only
async def test_readyz_checks_redis_when_configured(client) -> None:  # type: ignore[no-untyped-def]
    body = await (await client.get("/readyz")).get_json()
    assert body["checks"] == {"database": "ok", "redis": "ok"}


@pytest.fixture
async def unreachable_database_app(settings: Settings) -> AsyncIterator:  # type: ignore[type-arg]
    # Nothing listens on port 1: every connection is refused at once.
    dead_engine = make_engine("postgresql+asyncpg://cart:pw@127.0.0.1:1/nowhere")
    quart_app = await _started(settings.with_overrides(redis_url=None), dead_engine)
    async with quart_app.test_app() as test_app:
        yield test_app
    await dead_engine.dispose()


async def test_readyz_is_503_when_the_database_is_unreachable(unreachable_database_app) -> None:  # type: ignore[no-untyped-def]
    response = await unreachable_database_app.test_client().get("/readyz")
    body = await response.get_json()

    assert response.status_code == 503
    assert body == {"status": "unavailable", "checks": {"database": "failing"}}
    # The healthz probe still says the process lives.
    assert (await unreachable_database_app.test_client().get("/healthz")).status_code == 200


async def test_readyz_is_503_when_configured_redis_is_unreachable(
    settings: Settings, engine: AsyncEngine
) -> None:
    quart_app = await _started(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"), engine)
    async with quart_app.test_app() as test_app:
        response = await test_app.test_client().get("/readyz")
        body = await response.get_json()

    assert response.status_code == 503
    assert body["checks"] == {"database": "ok", "redis": "failing"}
