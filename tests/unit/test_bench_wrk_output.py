"""The load bench's pure parts (bench/harness): wrk's output read into numbers, the HTML
check and the SQL check between the baseline and the project, the README's generated
section."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from harness import html_check, report, sql_check, wrk  # noqa: E402

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:40211/cart/bench-shop/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   118.45ms   30.12ms   1.20s    91.00%
    Req/Sec    67.20     20.11   110.00     70.00%
  Latency Distribution
     50%  112.30ms
     75%  130.00ms
     90%  150.00ms
     99%    1.02s
  673 requests in 5.01s, 9.63MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:    134.33
Transfer/sec:      1.92MB
bench-bad-answers: 7
"""


def test_wrk_output_is_read_with_its_units_and_every_kind_of_error() -> None:
    result = wrk.parse(WRK_OUTPUT)
    assert (result.requests, result.requests_per_second) == (673, 134.33)
    assert result.p50_ms == pytest.approx(112.3) and result.p99_ms == pytest.approx(1020.0)
    # The Lua script's bad answers include the non-2xx ones; socket errors come on top.
    assert (result.bad_answers, result.socket_errors, result.errors) == (7, 5, 12)


def test_microseconds_and_no_errors() -> None:
    quiet = WRK_OUTPUT.replace("112.30ms", "950.00us").replace(
        "  Socket errors: connect 0, read 2, write 0, timeout 3\n", ""
    )
    result = wrk.parse(quiet.replace("bench-bad-answers: 7", "bench-bad-answers: 0"))
    assert result.p50_ms == pytest.approx(0.95) and result.errors == 0


def test_output_without_figures_is_refused() -> None:
    with pytest.raises(ValueError):
        wrk.parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_checkout_key_is_the_only_difference_forgiven() -> None:
    page = '<form>\n<input type="hidden" name="checkout_key" value="{}">\n<p>£1.00</p>\n</form>\n'
    assert html_check.differing_bytes(page.format("a" * 32), page.format("b" * 32)) == 0
    other = page.replace("£1.00", "£2.00")
    assert html_check.differing_bytes(page.format("a"), other.format("b")) == len(
        "<p>£1.00</p>\n".encode()
    )


def test_the_readme_keeps_its_hand_written_text_around_the_figures(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Benches\nintro\n{report.START}\nold figures\n{report.END}\nafter\n")
    report.write_readme(readme, "new figures")
    assert (
        readme.read_text()
        == f"# Benches\nintro\n{report.START}\nnew figures\n{report.END}\nafter\n"
    )


PAGE_SQL = [
    "SELECT posts.id, posts.slug, posts.title FROM posts WHERE posts.slug = $1::VARCHAR",
    "SELECT products.id FROM products WHERE products.id IN ($1::INTEGER)",
]


def test_the_same_statements_on_both_sides_raise_no_warning() -> None:
    assert sql_check.differences({"page1": PAGE_SQL}, {"page1": list(PAGE_SQL)}) == []


def test_a_statement_that_drifted_is_named_with_both_texts_where_they_part() -> None:
    drifted = [
        PAGE_SQL[0].replace("posts.title FROM", "posts.title, posts.created_at FROM"),
        PAGE_SQL[1],
    ]
    [warning] = sql_check.differences({"page1": PAGE_SQL}, {"page1": drifted})
    assert warning.startswith("page1: statement 1 (project sends 2, baseline 2): ")
    assert "posts.title FROM posts" in warning and "posts.title, posts.created_at" in warning


def test_a_statement_the_baseline_leaves_out_is_named() -> None:
    [warning] = sql_check.differences({"add": PAGE_SQL}, {"add": PAGE_SQL[:1]})
    assert warning.startswith("add: statement 2 (project sends 2, baseline 1): ")
    assert "baseline «(none)»" in warning


@pytest.mark.parametrize(
    ("shares", "busy"),
    [
        ((0.5, 0.5), True),
        ((0.25, 0.75), True),
        ((0.01, 0.99), False),  # one worker took every connection: one worker's pace
        ((1.0,), False),  # one worker only: not a split at all
        ((), False),  # not measured
    ],
)
def test_a_round_counts_as_both_workers_busy_only_when_each_did_a_quarter(
    shares: tuple[float, ...], busy: bool
) -> None:
    result = wrk.WrkResult(
        requests=100,
        requests_per_second=20.0,
        p50_ms=1.0,
        p99_ms=2.0,
        bad_answers=0,
        socket_errors=0,
        worker_shares=shares,
    )
    assert result.both_workers_busy is busy
