"""Error pages for the five services: a plain message, never a trace."""

from __future__ import annotations

import logging

from quart import Quart, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

TITLES = {
    400: "That request could not be understood",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    413: "Too large",
    500: "Something went wrong on our side",
}
SERVER_ERROR_MESSAGE = (
    "We could not finish that; nothing was changed. Please try again in a moment."
)


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return request.is_json or best == "application/json"


async def render_error(status: int, message: str):  # type: ignore[no-untyped-def]
    if wants_json():
        return jsonify({"error": TITLES.get(status, "error"), "message": message}), status
    title = TITLES.get(status, "Error")
    return await render_template("error.html", status=status, title=title, message=message), status


def init_error_pages(app: Quart) -> None:
    # Tests see the error page a shopper would, not the exception.
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if status >= 500:
            return await _server_error(error)
        return await render_error(status, error.description or TITLES.get(status, ""))

    @app.errorhandler(Exception)
    async def _server_error(error: Exception):  # type: ignore[no-untyped-def]
        if not isinstance(error, HTTPException):
            log.exception("unhandled error on %s %s", request.method, request.path)
        return await render_error(500, SERVER_ERROR_MESSAGE)
