"""A real outage: a PostgreSQL of the test's own, stopped (`pg_ctl -m immediate`) under a
running app and started again.

It stops between a checkout's order and its payment, as the restart that prompted this did:
the shopper is led to the saved order (whose page says "try again in a moment" until the
database is back), every page answers 503 while it is down, and once it is up again the
pages work, the form sent during the outage finds the same order, and nothing is
half-written. PostgreSQL only (its binaries from /usr/lib/postgresql/*/bin); the machine's
own PostgreSQL is never touched.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import bp.cart.checkout_routes as checkout_routes
from models import Order, OrderItem, PaymentAttempt
from shared.config import Settings
from shared.db import make_engine, make_sessionmaker
from shared.errors import DATABASE_UNREACHABLE_MESSAGE, MAY_HAVE_BEEN_SAVED
from shared.events import OutboxEvent
from shared.http_client import HTTP_CLIENT_KEY
from tests.conftest import ON_POSTGRES, ArrivingFromOutside, run_migrations
from tests.factories import Factory
from tests.http.checkout_forms import TOKEN, rendered_checkout_form, start_session
from tests.http.payment_steps import local
from tests.integration.checkout_data import ANON, bakery_cart

pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")

ANON_ID = ANON.session_id
SAVED_BUT_NOT_STARTED = re.compile(
    r"Your order ([0-9A-Z-]+) is saved, but the payment could not be started: "
    r"the shop could not reach its database\."
)


def _postgres_bin() -> Path | None:
    found = sorted(
        (Path(path) for path in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    usable = [path for path in found if (path / "initdb").exists() and (path / "pg_ctl").exists()]
    return usable[-1] if usable else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    """A cluster in a temporary directory on a free port: initdb, start, stop, start."""

    def __init__(self, bin_dir: Path, base: Path, run_as: list[str]) -> None:
        self.bin_dir, self.base, self.run_as = bin_dir, base, run_as
        self.data = base / "data"
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin_dir / program), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def init(self) -> None:
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base}"
            " -c fsync=off -c full_page_writes=off"
        )
        log = str(self.base / "postgres.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "30", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")


@pytest.fixture(scope="module")
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    run_as: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="cart-outage-"))
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(base)
            pytest.skip("running as root and there is no postgres user to run a cluster")
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(base)
            pytest.skip("running as root without runuser")
        os.chown(base, account.pw_uid, account.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    cluster = ThrowawayPostgres(bin_dir, base, run_as)
    try:
        cluster.init()
        cluster.start()
        run_migrations(cluster.url)
        yield cluster
    finally:
        try:
            cluster.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(base, ignore_errors=True)


async def test_the_database_stopped_mid_checkout_and_started_again(  # type: ignore[no-untyped-def]
    throwaway_postgres: ThrowawayPostgres, settings: Settings, monkeypatch
) -> None:
    from app import create_app

    engine = make_engine(throwaway_postgres.url)
    sessions = make_sessionmaker(engine)
    async with sessions() as seeding:
        await bakery_cart(Factory(seeding))
    quart_app = create_app(settings.with_overrides(redis_url=None))
    quart_app.extensions["db_engine"] = engine
    quart_app.extensions["db_sessionmaker"] = sessions
    quart_app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ArrivingFromOutside(quart_app)),
        base_url=settings.app_urls["cart"],
    )
    try:
        async with quart_app.test_app() as test_app:
            client = test_app.test_client()
            await start_session(client, ANON_ID)
            action, fields = await rendered_checkout_form(client, "/cart/bakery/")

            # The order is committed; then the database stops, before the payment starts.
            start_payment = checkout_routes.start_payment

            async def stop_then_start_payment(*args, **kwargs):  # type: ignore[no-untyped-def]
                throwaway_postgres.stop("immediate")
                return await start_payment(*args, **kwargs)

            monkeypatch.setattr(checkout_routes, "start_payment", stop_then_start_payment)
            checkout = await client.post(action, form=fields)
            monkeypatch.setattr(checkout_routes, "start_payment", start_payment)

            # The shopper is sent to the order; its page cannot be shown yet, but the
            # message says the order is saved.
            assert checkout.status_code == 303
            return_path = local(checkout.headers["Location"])
            assert return_path.startswith("/checkout/return/")
            landing = await client.get(return_path)
            html = await landing.get_data(as_text=True)
            assert landing.status_code == 503 and DATABASE_UNREACHABLE_MESSAGE in html
            saved = SAVED_BUT_NOT_STARTED.search(html)
            assert saved is not None
            number = saved.group(1)

            # While it is down: every page 503, every form says an order may be saved.
            for path in ("/cart/", "/cart/bakery/", "/orders/", return_path):
                response = await client.get(path)
                html = await response.get_data(as_text=True)
                assert response.status_code == 503, path
                assert DATABASE_UNREACHABLE_MESSAGE in html and "Traceback" not in html, path
            for post, form in (
                ("/cart/add", {"csrf_token": TOKEN, "product_id": "1"}),
                (action, fields),  # "Check out" pressed again
            ):
                response = await client.post(post, form=form)
                html = await response.get_data(as_text=True)
                assert response.status_code == 503 and MAY_HAVE_BEEN_SAVED in html, post
            assert (await client.get("/readyz")).status_code == 503

            # The database is back: so are the pages, and the order is there, whole.
            throwaway_postgres.start()
            assert (await client.get("/readyz")).status_code == 200
            back = await client.get(return_path)
            html = await back.get_data(as_text=True)
            assert back.status_code == 200
            assert f"Order {number} is not paid yet" in html and "Bread" in html
            assert (await client.get("/cart/bakery/")).status_code == 200
            orders = await client.get("/orders/")
            assert orders.status_code == 200 and number in await orders.get_data(as_text=True)

            # The form sent during the outage, sent again: the same order, now being paid.
            again = await client.post(action, form=fields)
            assert again.status_code == 303
            assert local(again.headers["Location"]).startswith("/sumup-sandbox/")

        async with sessions() as db:
            assert await db.scalar(select(Order.number)) == number
            assert await db.scalar(select(func.count()).select_from(Order)) == 1
            # Nothing half-written: no order without its lines, one order.created for it.
            assert await db.scalar(select(func.count()).where(~Order.items.any())) == 0
            assert await db.scalar(select(func.count()).select_from(OrderItem)) == 3
            assert await db.scalar(select(func.count()).select_from(OutboxEvent)) == 1
            [attempt_status] = (await db.scalars(select(PaymentAttempt.status))).all()
            assert attempt_status == "PENDING"
    finally:
        await engine.dispose()
