"""The contrast arithmetic the focus check relies on, against known WCAG figures."""

from __future__ import annotations

import pytest

from tests.e2e.checks import painted
from tests.e2e.contrast import contrast_ratio, from_hex, parse_css_colour

WHITE = from_hex("#ffffff")
HEADER_GREEN = from_hex("#0b6e4f")  # --accent in static/cart.css


@pytest.mark.parametrize(
    ("outline", "background", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#f4a261", "#ffffff", 2.06),  # the focus ring before issue 9: too faint on white
        ("#000000", "#0b6e4f", 3.36),  # today's ring where the skip link meets the header
        ("#ffffff", "#0b6e4f", 6.25),  # today's ring in the header
    ],
)
def test_contrast_ratio_matches_the_wcag_formula(
    outline: str, background: str, expected: float
) -> None:
    assert contrast_ratio(from_hex(outline), from_hex(background)) == pytest.approx(
        expected, abs=0.01
    )


def test_computed_colours_are_read_with_their_alpha() -> None:
    assert parse_css_colour("rgb(244, 162, 97)") == ((244.0, 162.0, 97.0), 1.0)
    assert parse_css_colour("rgba(0, 0, 0, 0)") == ((0.0, 0.0, 0.0), 0.0)
    with pytest.raises(ValueError):
        parse_css_colour("color(srgb 1 0 0)")


def test_a_transparent_stack_is_the_canvas_and_a_tint_is_blended_over_it() -> None:
    assert painted(["rgba(0, 0, 0, 0)", "rgba(0, 0, 0, 0)"]) == WHITE
    assert painted(["rgba(0, 0, 0, 0)", "rgb(11, 110, 79)"]) == HEADER_GREEN
    assert painted(["rgba(0, 0, 0, 0.5)"]) == (127.5, 127.5, 127.5)
