"""An httpx transport that checks every request the client sends and every answer it gets
against SumUp's published schemas, and keeps them for the test to look at."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.sumup.openapi import validate_request, validate_response


@dataclass
class Exchange:
    method: str
    path: str
    request_headers: httpx.Headers
    request_text: str
    status: int
    response_body: Any


@dataclass
class SpecCheckingTransport(httpx.AsyncBaseTransport):
    """Wraps another transport; `api_prefix` is where SumUp's API is mounted (the sandbox
    lives under /sumup-sandbox); requests elsewhere (webhooks, pages) pass unchecked."""

    inner: httpx.AsyncBaseTransport
    api_prefix: str = ""
    # Off only in tests that send SumUp a request it documents as wrong, to see its answer.
    check_requests: bool = True
    exchanges: list[Exchange] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # As sent (still percent-encoded), so an id holding "/" stays one segment here too.
        path = request.url.raw_path.decode().split("?", 1)[0]
        if not path.startswith(self.api_prefix + "/v"):
            return await self.inner.handle_async_request(request)
        api_path = path[len(self.api_prefix) :]
        body_text = (await request.aread()).decode()
        if self.check_requests:
            validate_request(request.method, api_path, json.loads(body_text) if body_text else None)
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        answer = json.loads(content) if content else None
        validate_response(
            request.method,
            api_path,
            response.status_code,
            response.headers.get("content-type", ""),
            answer,
        )
        self.exchanges.append(
            Exchange(
                request.method, api_path, request.headers, body_text, response.status_code, answer
            )
        )
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )
