"""A statement built once, as the SQL text and positional arguments asyncpg takes (issue 10).

SQLAlchemy compiles a statement once (`_compiled`), but a statement with an expanding
`IN (...)` is expanded again at every execution: one placeholder per value of the list,
named, ordered and given its type's bind processor, which was most of what SQLAlchemy still
cost the cart page (0.14 of its 3.2 ms of CPU). The text and the order of the arguments
depend only on the lengths of the lists, so they are worked out once per length: the
expansion is run on placeholders (`_Slot`) standing for the values, and what comes out says
where each value goes. A statement whose expansion does something else with its values
(a literal rendered into the text, a tuple unpacked) is expanded at each call, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Executable
from sqlalchemy.sql.compiler import SQLCompiler

_Where = tuple[str, int | None]  # a parameter's name, and its index when it is a list


@dataclass(frozen=True, slots=True)
class Expansion:
    """The SQL text of a statement for lists of given lengths, and how to order its values."""

    text: str
    arguments: tuple[tuple[_Where, Callable[[Any], Any] | None], ...]

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for (name, index), process in self.arguments:
            value = params[name] if index is None else params[name][index]
            values.append(value if process is None else process(value))
        return values


def text_and_arguments(
    statement: Executable, dialect: Dialect, params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """The SQL text of `statement` for `params` and its positional arguments, processed."""
    shape = tuple(
        (name, len(value)) for name, value in params.items() if isinstance(value, list | tuple)
    )
    expansion = _expansion_for_shape(statement, dialect, frozenset(params), shape)
    if expansion is not None:
        return expansion.text, expansion.values(params)
    text, arguments = _expanded(_compiled(statement, dialect), params)
    return text, [value if process is None else process(value) for value, process in arguments]


@lru_cache(maxsize=256)
def _compiled(statement: Executable, dialect: Dialect) -> SQLCompiler:
    return statement.compile(dialect=dialect)  # type: ignore[attr-defined,no-any-return]


class _Slot:
    """Stands for a value during the expansion: which parameter, which item of its list."""

    __slots__ = ("where",)

    def __init__(self, where: _Where) -> None:
        self.where = where


@lru_cache(maxsize=1024)
def _expansion_for_shape(
    statement: Executable,
    dialect: Dialect,
    names: frozenset[str],
    shape: tuple[tuple[str, int], ...],
) -> Expansion | None:
    lengths = dict(shape)
    slots: dict[str, Any] = {
        name: [_Slot((name, index)) for index in range(lengths[name])]
        if name in lengths
        else _Slot((name, None))
        for name in names
    }
    compiled = _compiled(statement, dialect)
    try:
        text, arguments = _expanded(compiled, slots)
    except Exception:  # the expansion looked into a value (a literal, a tuple): no shortcut
        return None
    placed = [slot for slot, _ in arguments]
    if not all(isinstance(where, _Slot) for where in placed):
        return None
    expected = {
        id(slot)
        for name in compiled.binds
        if name in slots
        for slot in (slots[name] if name in lengths else [slots[name]])
    }
    if {id(slot) for slot in placed} != expected:
        return None  # a value went into the text, not into an argument
    return Expansion(text, tuple((slot.where, process) for slot, process in arguments))


def _expanded(
    compiled: SQLCompiler, params: Mapping[str, Any]
) -> tuple[str, list[tuple[Any, Callable[[Any], Any] | None]]]:
    """SQLAlchemy's own expansion of `params`: the text, and each argument's value (not yet
    processed) with its type's bind processor."""
    expanded = compiled.construct_expanded_state(params)
    processors = expanded.processors
    return expanded.statement, [
        (value, processors.get(name))
        for name, value in zip(
            expanded.positiontup or (), expanded.positional_parameters, strict=True
        )
    ]
