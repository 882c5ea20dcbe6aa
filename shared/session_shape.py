"""The shared session's keys this service reads, in the shape it expects, or not at all.

The session cookie is signed with the secret the five services share, so its content is
trusted as to who wrote it, but not as to its shape: a sibling on another version (or a
bug anywhere) may leave a value this service's code cannot use. Quart's flash() appends to
`_flashes` and the templates iterate over it, so a value of another shape there would be a
500 on every page. Such a value is dropped at the start of the request instead.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, session

FLASHES_KEY = "_flashes"


def _is_flashes(value: Any) -> bool:
    """A list of (category, message) pairs of strings, as Quart's flash() writes them."""
    return isinstance(value, list) and all(
        isinstance(item, list | tuple)
        and len(item) == 2
        and all(isinstance(part, str) for part in item)
        for item in value
    )


def init_session_shape(app: Quart) -> None:
    @app.before_request
    async def _drop_malformed_flashes() -> None:
        if FLASHES_KEY in session and not _is_flashes(session[FLASHES_KEY]):
            session.pop(FLASHES_KEY)
