"""A statement built once, as the SQL text and positional arguments asyncpg takes (issue 10).

SQLAlchemy compiles a statement once (`_compiled`), but a statement with an expanding `IN
(...)` is expanded again at every execution: one placeholder per value of the list, named,
ordered and given its type's bind processor, which was the largest part of what SQLAlchemy
still cost the cart page (0.18 of its 3.0 ms of CPU; 0.07 after). The text and the order of
the arguments depend only on the lengths of the lists, so they are worked out once per
length: the expansion is run on placeholders (`_Slot`) standing for the values, and what
comes out says where each value goes. A statement whose expansion does something else with
its values (a literal rendered into the text, a tuple unpacked) is expanded at each call, as
before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Executable
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Argument:
    """Where a positional argument's value comes from: a parameter (an item of it, when it is
    a list), or the statement itself (a value written into it when it was built)."""

    name: str | None  # None: `constant`, its bind processor applied already
    index: int | None
    constant: Any
    process: _Processor

    def value(self, params: Mapping[str, Any]) -> Any:
        if self.name is None:
            return self.constant  # processed already
        if self.index is None:
            value = params[self.name]
        else:
            value = params[self.name][self.index]
        return value if self.process is None else self.process(value)


@dataclass(frozen=True, slots=True)
class _Expansion:
    text: str
    arguments: tuple[_Argument, ...]


def text_and_arguments(
    statement: Executable, dialect: Dialect, params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """The SQL text of `statement` for `params` and its positional arguments, processed."""
    shape = tuple(
        (name, len(value)) for name, value in params.items() if isinstance(value, list | tuple)
    )
    expansion = _expansion_for_shape(statement, dialect, frozenset(params), shape)
    if expansion is not None:
        return expansion.text, [argument.value(params) for argument in expansion.arguments]
    text, arguments = _expanded(_compiled(statement, dialect), params)
    return text, [value if process is None else process(value) for _, value, process in arguments]


@lru_cache(maxsize=256)
def _compiled(statement: Executable, dialect: Dialect) -> SQLCompiler:
    return statement.compile(dialect=dialect)  # type: ignore[attr-defined,no-any-return]


class _Slot:
    """Stands for a value during the expansion: which parameter, which item of its list."""

    __slots__ = ("name", "index")

    def __init__(self, name: str, index: int | None) -> None:
        self.name, self.index = name, index


@lru_cache(maxsize=1024)
def _expansion_for_shape(
    statement: Executable,
    dialect: Dialect,
    names: frozenset[str],
    shape: tuple[tuple[str, int], ...],
) -> _Expansion | None:
    lengths = dict(shape)
    slots: dict[str, Any] = {
        name: [_Slot(name, index) for index in range(lengths[name])]
        if name in lengths
        else _Slot(name, None)
        for name in names
    }
    compiled = _compiled(statement, dialect)
    try:
        text, expanded = _expanded(compiled, slots)
    except Exception:  # the expansion looked into a value (a literal, a tuple): no shortcut
        return None
    arguments = []
    for name, value, process in expanded:
        if isinstance(value, _Slot):
            arguments.append(_Argument(value.name, value.index, None, process))
        elif name not in names and name in compiled.binds:
            # The statement's own value: processed here, once, not at every call.
            constant = value if process is None else process(value)
            arguments.append(_Argument(None, None, constant, None))
        else:
            return None  # a parameter's value changed on the way: expanded at each call
    expected = {
        id(slot)
        for name in compiled.binds
        if name in slots
        for slot in (slots[name] if name in lengths else [slots[name]])
    }
    if {id(value) for _, value, _ in expanded if isinstance(value, _Slot)} != expected:
        return None  # a value went into the text, not into an argument
    return _Expansion(text, tuple(arguments))


def _expanded(
    compiled: SQLCompiler, params: Mapping[str, Any]
) -> tuple[str, list[tuple[str, Any, _Processor]]]:
    """SQLAlchemy's own expansion of `params`: the text, and each argument's name, value (not
    yet processed) and its type's bind processor."""
    expanded = compiled.construct_expanded_state(params)
    processors = expanded.processors
    return expanded.statement, [
        (name, value, processors.get(name))
        for name, value in zip(
            expanded.positiontup or (), expanded.positional_parameters, strict=True
        )
    ]
