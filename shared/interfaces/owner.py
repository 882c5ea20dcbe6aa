"""Who a cart or a booking belongs to: a signed-in user, else an anonymous session."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    user_id: int | None = None
    session_id: str | None = None

    def __post_init__(self) -> None:
        if self.user_id is None and not self.session_id:
            raise ValueError("an owner is a user id or a session id")

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None
