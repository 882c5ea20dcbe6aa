"""The base of each domain's errors: a stable machine code, one table of human messages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class CodedError(Exception):
    """Raised with a code from the subclass's `messages`; `message` is what a person reads.

    Subclasses set `messages` (code -> message template), and `statuses` (code -> HTTP
    status) with `default_status` for the codes not named there.
    """

    messages: ClassVar[Mapping[str, str]] = {}
    statuses: ClassVar[Mapping[str, int]] = {}
    default_status: ClassVar[int] = 400

    def __init__(self, code: str, **params: Any) -> None:
        if code not in self.messages:
            raise ValueError(f"unknown {type(self).__name__} code {code!r}")
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        return self.messages[self.code].format(**self.params)

    @property
    def status(self) -> int:
        return self.statuses.get(self.code, self.default_status)
