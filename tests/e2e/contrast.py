"""WCAG 2.1 colour contrast, from the colours Chromium computes (`rgb(…)`, `rgba(…)`)."""

from __future__ import annotations

import re

Rgb = tuple[float, float, float]

_CSS_COLOUR = re.compile(
    r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+))?\s*\)"
)


def parse_css_colour(text: str) -> tuple[Rgb, float]:
    """`rgb(244, 162, 97)` or `rgba(0, 0, 0, 0.5)` as ((r, g, b), alpha)."""
    match = _CSS_COLOUR.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a computed rgb()/rgba() colour: {text!r}")
    red, green, blue, alpha = match.groups()
    return (float(red), float(green), float(blue)), 1.0 if alpha is None else float(alpha)


def from_hex(text: str) -> Rgb:
    text = text.lstrip("#")
    return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))


def over(top: Rgb, alpha: float, bottom: Rgb) -> Rgb:
    """A translucent colour painted over an opaque one."""
    return (
        top[0] * alpha + bottom[0] * (1 - alpha),
        top[1] * alpha + bottom[1] * (1 - alpha),
        top[2] * alpha + bottom[2] * (1 - alpha),
    )


def relative_luminance(rgb: Rgb) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: Rgb, b: Rgb) -> float:
    light, dark = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
