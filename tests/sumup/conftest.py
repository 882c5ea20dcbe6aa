"""The SumUp client talking to the app's own sandbox through ASGI, every exchange checked
against SumUp's schemas; webhooks the sandbox sends are recorded instead of delivered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from shared.config import SANDBOX_PATH, Settings
from shared.http_client import HTTP_CLIENT_KEY
from sumup.client import SumUpClient
from sumup.factory import make_sumup_client
from sumup.sandbox import sandbox_store
from sumup.sandbox_store import SandboxStore
from tests.sumup.openapi import document
from tests.sumup.spec_transport import SpecCheckingTransport

CSRF = "sandbox-csrf-token-" + "q" * 20


@pytest.fixture(scope="session", autouse=True)
def sumup_openapi_is_there() -> None:
    document()  # fails loudly (FileNotFoundError) when tests/sumup/vendor/openapi.json is missing


@dataclass
class WebhookRecorder:
    """Stands in for the app's outgoing HTTP: keeps what the sandbox posts to return_url."""

    status: int = 204
    received: list[tuple[str, bytes, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(
            (str(request.url), request.content, request.headers.get("content-type", ""))
        )
        return httpx.Response(self.status)


@pytest.fixture
async def webhooks(app) -> AsyncIterator[WebhookRecorder]:  # type: ignore[no-untyped-def]
    recorder = WebhookRecorder()
    quart_app = app.app
    original = quart_app.extensions[HTTP_CLIENT_KEY]
    quart_app.extensions[HTTP_CLIENT_KEY] = httpx.AsyncClient(
        transport=httpx.MockTransport(recorder)
    )
    yield recorder
    await quart_app.extensions[HTTP_CLIENT_KEY].aclose()
    quart_app.extensions[HTTP_CLIENT_KEY] = original


@pytest.fixture
def spec(app) -> SpecCheckingTransport:  # type: ignore[no-untyped-def]
    return SpecCheckingTransport(httpx.ASGITransport(app=app.app), api_prefix=SANDBOX_PATH)


@pytest.fixture
async def sumup(spec: SpecCheckingTransport, settings: Settings) -> AsyncIterator[SumUpClient]:
    async with httpx.AsyncClient(transport=spec) as http:
        yield make_sumup_client(http, settings)


@pytest.fixture
def store(app) -> SandboxStore:  # type: ignore[no-untyped-def]
    return sandbox_store(app.app)


@pytest.fixture
async def shopper(client):  # type: ignore[no-untyped-def]
    """The test client with a CSRF token in its session, as a shopper's browser has."""
    async with client.session_transaction() as session:
        session["csrf_token"] = CSRF
    return client
