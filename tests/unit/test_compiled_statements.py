"""The SQL text and arguments of a statement built once are SQLAlchemy's own expansion,
whether they come from the expansion kept for the lists' lengths or, for a statement whose
expansion reads its values, from SQLAlchemy at each call."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import DateTime, Integer, bindparam, column, literal, select, table, tuple_
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from shared import compiled_statements
from shared.compiled_statements import text_and_arguments

products = table(
    "products", column("id", Integer), column("page_id", Integer), column("created_at", DateTime)
)

BY_IDS_ON_A_PAGE = select(products.c.id).where(
    products.c.id.in_(bindparam("ids", expanding=True)),
    products.c.page_id == bindparam("page_id"),
    products.c.page_id != bindparam("page_id"),  # the same value in two places
)
DIALECTS = [PGDialect_asyncpg(), SQLiteDialect_aiosqlite()]


def sqlalchemy_expansion(statement: Any, dialect: Any, params: dict[str, Any]) -> tuple:
    expanded = statement.compile(dialect=dialect).construct_expanded_state(params)
    processors = expanded.processors
    return expanded.statement, [
        processors[name](value) if name in processors else value
        for name, value in zip(expanded.positiontup, expanded.positional_parameters, strict=True)
    ]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.driver)
@pytest.mark.parametrize("ids", [[], [7], [3, 1, 2], list(range(50))], ids=len)
def test_an_in_list_of_each_length_is_sqlalchemys_expansion(dialect: Any, ids: list[int]) -> None:
    params = {"ids": ids, "page_id": 5, "unused": "ignored"}
    assert text_and_arguments(BY_IDS_ON_A_PAGE, dialect, params) == sqlalchemy_expansion(
        BY_IDS_ON_A_PAGE, dialect, params
    )


def test_the_expansion_is_kept_per_length_and_each_call_gets_its_own_values() -> None:
    dialect = DIALECTS[0]
    compiled_statements._expansion_for_shape.cache_clear()
    calls = [
        {"ids": [1, 2], "page_id": 5},
        {"ids": [8, 9], "page_id": 6},
        {"ids": [8, 9, 10], "page_id": 6},
    ]
    got = [text_and_arguments(BY_IDS_ON_A_PAGE, dialect, params) for params in calls]

    assert got == [sqlalchemy_expansion(BY_IDS_ON_A_PAGE, dialect, params) for params in calls]
    assert sorted(got[1][1]) == [6, 8, 9]
    info = compiled_statements._expansion_for_shape.cache_info()
    assert (info.hits, info.misses) == (1, 2)


def test_a_value_written_into_the_statement_is_kept_with_its_expansion() -> None:
    statement = select(products.c.id).where(
        products.c.page_id == 5,  # a constant of the statement, not a parameter
        products.c.id.in_(bindparam("ids", expanding=True)),
    )
    dialect = DIALECTS[0]
    for ids in ([1], [2], [3, 4]):
        params = {"ids": ids}
        assert text_and_arguments(statement, dialect, params) == sqlalchemy_expansion(
            statement, dialect, params
        )
    kept = compiled_statements._expansion_for_shape(
        statement, dialect, frozenset({"ids"}), (("ids", 2),)
    )
    assert kept is not None and [a.constant for a in kept.arguments if a.name is None] == [5]


def test_bind_processors_still_run_on_every_call() -> None:
    # SQLite stores a datetime as text: its type's bind processor turns each value into it.
    statement = select(products.c.id).where(
        products.c.created_at.in_(bindparam("moments", expanding=True, type_=DateTime))
    )
    from datetime import datetime

    for moments in ([datetime(2026, 11, 30, 12)], [datetime(2026, 12, 1, 8)]):
        params = {"moments": moments}
        dialect = DIALECTS[1]
        assert text_and_arguments(statement, dialect, params) == sqlalchemy_expansion(
            statement, dialect, params
        )


@pytest.mark.parametrize(
    "statement, params",
    [
        # A value rendered into the text: no placeholder to put it in.
        (
            select(products.c.id).where(
                products.c.page_id == bindparam("page_id", literal_execute=True)
            ),
            [{"page_id": 5}, {"page_id": 6}],
        ),
        # A list of tuples, each unpacked into placeholders.
        (
            select(products.c.id).where(
                tuple_(products.c.id, products.c.page_id).in_(bindparam("pairs", expanding=True))
            ),
            [{"pairs": [(1, 2), (3, 4)]}, {"pairs": [(5, 6), (7, 8)]}],
        ),
        (select(literal(1)), [{}]),
    ],
    ids=["literal_execute", "tuple IN", "no parameters"],
)
def test_a_statement_whose_expansion_reads_its_values_is_expanded_at_each_call(
    statement: Any, params: list[dict[str, Any]]
) -> None:
    dialect = DIALECTS[0]
    for values in params:
        assert text_and_arguments(statement, dialect, values) == sqlalchemy_expansion(
            statement, dialect, values
        )
