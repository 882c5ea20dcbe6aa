"""Static file names the filesystem cannot hold are simply not found.

Quart serves /static/<path> by opening the file: a name longer than the filesystem allows
raises OSError (ENAMETOOLONG), which would be a 500. No file of ours has such a name.
"""

from __future__ import annotations

from quart import Quart, abort, request

# Most filesystems allow 255 bytes a name; ours are short ("cart.css").
MAX_NAME_BYTES = 255


def init_static_names(app: Quart) -> None:
    @app.before_request
    async def _refuse_impossible_static_names() -> None:
        if request.endpoint != "static":
            return
        names = request.path.split("/")
        if any(len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES for name in names):
            abort(404)
