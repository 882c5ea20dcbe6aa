"""What is checked on every page a journey reaches.

- axe-core (npm, `node_modules/axe-core`), WCAG 2.1 A and AA rules: zero violations;
- no horizontal scrolling at 390 px wide;
- the focus indicator: every element that Tab reaches (up to MAX_TAB_STOPS a page) has a
  visible outline whose colour contrasts 3:1 or more with what is behind it (the page,
  a section's tint, the header's green), sampled just outside the outline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, ViewportSize

from shared.config import PROJECT_ROOT
from tests.e2e.contrast import Rgb, contrast_ratio, over, parse_css_colour

AXE_SOURCE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# A same-origin address the browser context answers from AXE_SOURCE: the pages' content
# policy (script-src 'self') refuses inline scripts, so axe is added as a script by URL.
AXE_PATH = "/__e2e__/axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}

MIN_FOCUS_CONTRAST = 3.0
MIN_OUTLINE_PX = 2.0
MAX_TAB_STOPS = 40

_RUN_AXE = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
  });
  return {
    version: axe.version,
    rules: axe.getRules(tags).length,
    violations: result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      nodes: v.nodes.map(n => ({
        target: n.target.join(' '), html: n.html.slice(0, 200), summary: n.failureSummary,
      })),
    })),
  };
}
"""

_OVERFLOW = """
() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]
"""

# The focused element's outline and, at four points just beyond its outer edge, the colour
# actually painted there: the stack of boxes at that point (document.elementsFromPoint)
# composed from the first opaque background up, over the canvas's white.
_FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const cs = getComputedStyle(el);
  const width = parseFloat(cs.outlineWidth) || 0;
  const offset = parseFloat(cs.outlineOffset) || 0;
  const r = el.getBoundingClientRect();
  const out = offset + width + 1;
  const points = [
    [r.left - out, r.top + r.height / 2], [r.right + out, r.top + r.height / 2],
    [r.left + r.width / 2, r.top - out], [r.left + r.width / 2, r.bottom + out],
  ];
  const behind = [];
  for (const [x, y] of points) {
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) continue;
    const layers = [];
    for (const box of document.elementsFromPoint(x, y)) {
      if (box === el || el.contains(box)) continue;
      const colour = getComputedStyle(box).backgroundColor;
      layers.push(colour);
      if (/^rgb\\(/.test(colour)) break;  // opaque: nothing below shows through
    }
    behind.push(layers);
  }
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  const name = (el.getAttribute('aria-label') || label || el.innerText || el.value || '')
    .replace(/\\s+/g, ' ').trim().slice(0, 60);
  return {
    key: el.tagName + '|' + name + '|' + Math.round(r.left) + ',' + Math.round(r.top + scrollY),
    element: el.tagName.toLowerCase() + (name ? ` "${name}"` : ''),
    style: cs.outlineStyle, width, colour: cs.outlineColor, behind,
  };
}
"""

# Moves the sequential focus starting point to the top of the page: a focused element put
# first in the body and taken away leaves it there, so the next Tab goes to the first
# focusable element, as on a page just loaded.
_FROM_THE_TOP = """
() => {
  window.scrollTo(0, 0);
  const mark = document.createElement('span');
  mark.tabIndex = -1;
  document.body.prepend(mark);
  mark.focus();
  mark.remove();
}
"""

WHITE: Rgb = (255.0, 255.0, 255.0)


def painted(layers: list[str]) -> Rgb:
    """The colour of a stack of backgrounds, topmost first, over the canvas's white."""
    colour = WHITE
    for css in reversed(layers):
        rgb, alpha = parse_css_colour(css)
        colour = over(rgb, alpha, colour)
    return colour


@dataclass
class FocusStop:
    element: str
    style: str
    width: float
    colour: str
    contrast: float  # the lowest against what is behind it

    @property
    def problem(self) -> str | None:
        if self.style in ("none", "hidden") or self.width < MIN_OUTLINE_PX:
            return f"no visible outline (outline: {self.style} {self.width}px)"
        if self.style == "auto":
            return "the browser's own focus ring, not the site's (outline-style: auto)"
        if self.contrast < MIN_FOCUS_CONTRAST:
            return f"outline {self.colour} contrasts {self.contrast:.2f}:1 with its background"
        return None


@dataclass
class PageReport:
    journey: str
    label: str
    path: str
    axe_rules: int = 0
    axe_version: str = ""
    focus_stops: int = 0
    min_focus_contrast: float | None = None


@dataclass
class Record:
    """What the run checked, for the summary at its end (conftest.pytest_terminal_summary)."""

    database: str = ""
    pages: list[PageReport] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


def run_axe(page: Page, origin: str) -> dict[str, Any]:
    """axe-core on the page as it is now (the browser context answers AXE_PATH)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=origin + AXE_PATH)
    result: dict[str, Any] = page.evaluate(_RUN_AXE, list(WCAG_TAGS))
    return result


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}: {node['html']}")
            for summary_line in (node["summary"] or "").splitlines():
                lines.append(f"      {summary_line}")
    return "\n".join(lines)


def horizontal_overflow(page: Page) -> tuple[int, int]:
    """(scrollWidth, clientWidth) of the document at 390 px wide."""
    size = page.viewport_size
    if size != PHONE:
        page.set_viewport_size(PHONE)
    scroll_width, client_width = page.evaluate(_OVERFLOW)
    if size is not None and size != PHONE:
        page.set_viewport_size(size)
    return int(scroll_width), int(client_width)


def focused(page: Page) -> tuple[str, FocusStop] | None:
    """The focused element's outline, measured against what is painted around it."""
    seen = page.evaluate(_FOCUSED)
    if seen is None:
        return None
    outline, _alpha = parse_css_colour(seen["colour"])
    contrasts = [contrast_ratio(outline, painted(layers)) for layers in seen["behind"]]
    stop = FocusStop(
        element=seen["element"],
        style=seen["style"],
        width=float(seen["width"]),
        colour=seen["colour"],
        contrast=min(contrasts) if contrasts else float("inf"),
    )
    return seen["key"], stop


def tab_through(page: Page) -> list[FocusStop]:
    """Tab from the top of the page through its focusable elements, measuring each."""
    page.evaluate(_FROM_THE_TOP)
    stops: list[FocusStop] = []
    seen: set[str] = set()
    for _ in range(MAX_TAB_STOPS):
        page.keyboard.press("Tab")
        found = focused(page)
        if found is None:  # past the last element: focus left the document
            break
        key, stop = found
        if key in seen:  # wrapped round to the top
            break
        seen.add(key)
        stops.append(stop)
    return stops


# Each body cell of the tables matching a selector: its column's heading, its data-label,
# and what its ::before shows (the label on a phone, where the headings are hidden).
_TABLE_CELLS = """
(selector) => Array.from(document.querySelectorAll(selector)).flatMap(table => {
  const head = table.querySelector('thead');
  const headings = head ? Array.from(head.querySelectorAll('th')).map(th => th.innerText.trim())
                        : [];
  const headingsShown = !!head && getComputedStyle(head).display !== 'none';
  return Array.from(table.querySelectorAll('tbody tr')).flatMap(row =>
    Array.from(row.children).map((cell, column) => ({
      column, heading: headings[column] || '', headingsShown,
      label: cell.getAttribute('data-label'),
      before: getComputedStyle(cell, '::before').content,
      align: getComputedStyle(cell).textAlign,
      money: cell.classList.contains('money'),
    })));
})
"""


@dataclass(frozen=True)
class TableCell:
    column: int
    heading: str
    headings_shown: bool
    label: str | None
    before: str
    align: str
    money: bool


def table_cells(page: Page, selector: str) -> list[TableCell]:
    return [
        TableCell(
            column=int(cell["column"]),
            heading=str(cell["heading"]),
            headings_shown=bool(cell["headingsShown"]),
            label=cell["label"],
            before=str(cell["before"]),
            align=str(cell["align"]),
            money=bool(cell["money"]),
        )
        for cell in page.evaluate(_TABLE_CELLS, selector)
    ]


def unlabelled_on_a_phone(page: Page, selector: str) -> list[str]:
    """At 390 px the tables' headings are hidden: every cell but a row's first (what the
    row is) must show its column's heading itself. The cells that do not, described."""
    cells = table_cells(page, selector)
    assert cells, f"no table rows match {selector}"
    problems = []
    for cell in cells:
        if cell.column == 0 or cell.headings_shown:
            continue
        if cell.label != cell.heading or cell.before in ("none", "normal", ""):
            problems.append(
                f"column {cell.column} ({cell.heading!r}): data-label {cell.label!r}, "
                f"::before {cell.before}"
            )
    return problems
