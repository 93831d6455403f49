"""Charts as vector SVG, their text in the same CJK font as the document (so no glyph is ever missing).

Every label is escaped here; the SVG that comes back is safe to place in a template as markup.
"""
from __future__ import annotations

import math

from markupsafe import Markup

from pipeline.xml_text import escape

# The core face first (pipeline.fonts), the whole one for any other character. WeasyPrint splits an SVG
# font-family at commas and strips quotes but not spaces: no quotes, no space after a comma.
FONT = "Noto Sans CJK SC Core,Noto Sans CJK SC,sans-serif"
WIDTH, HEIGHT = 440.0, 180.0          # pt: the 156 mm text block is 442 pt wide
# The title sits 18 pt down, so a chart at the top of a page (where its margin is dropped) keeps its
# first glyphs below the 37 mm line like any text.
LEFT, RIGHT, TOP, BOTTOM = 42.0, 10.0, 34.0, 46.0
TITLE_BASELINE = 18.0
COLOURS = ("#1f4e79", "#c55a11", "#548235", "#7f6000")
QUOTA_COLOUR = "#c00000"


LABEL_SIZE = 7.5
MIN_LABELLED_BAR = 7.0                  # pt: a thinner bar gets no value over it
UPRIGHT_ROOM = 40.0                     # pt below the axis at most for upright labels
MAX_BARS = 40                           # categories one chart shows side by side, each still legible


def text_width(words: str, size: float) -> float:
    """About how wide a text is set (a CJK character one em, anything else a little over half)."""
    return size * sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in str(words))


def fitted(words: str, room: float, size: float) -> str:
    """The text, cut short with … when it would be wider than `room`."""
    words = str(words)
    if text_width(words, size) <= room:
        return words
    while words and text_width(words + "…", size) > room:
        words = words[:-1]
    return words + "…"


def _text(x: float, y: float, words: str, size: float = 8.0, anchor: str = "middle", colour: str = "#000",
          rotate: float | None = None) -> str:
    turn = f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"' if rotate is not None else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size:g}" text-anchor="{anchor}"'
            f' fill="{colour}"{turn}>{escape(str(words))}</text>')


def axis(value: float, percent: bool) -> tuple[float, int]:
    """The top of the value axis and its number of intervals: 0–100 % in fifths for shares; for counts
    the smallest step of 1, 2 or 5 × 10^n that reaches `value` in at most six whole steps."""
    if percent:
        return 1.0, 5
    if value <= 0:
        return 1.0, 1
    power = 1.0
    while True:
        for step in (1, 2, 5):
            ticks = math.ceil(value / (step * power))
            if ticks <= 6:
                return float(ticks * step * power), ticks
        power *= 10


def number_text(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else f"{value:g}"


def _frame(title: str, top: float, ticks: int, percent: bool, bottom: float = BOTTOM) -> list[str]:
    plot_h = HEIGHT - TOP - bottom
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:g}pt" height="{HEIGHT:g}pt"'
             f' viewBox="0 0 {WIDTH:g} {HEIGHT:g}" role="img">', _text(WIDTH / 2, TITLE_BASELINE, title, 10)]
    for i in range(ticks + 1):
        value = top * i / ticks
        y = TOP + plot_h - plot_h * i / ticks
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#d9d9d9"'
                     f' stroke-width="0.5"/>')
        parts.append(_text(LEFT - 4, y + 3, number_text(value, percent), 7, "end"))
    parts.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#000"'
                 f' stroke-width="0.8"/>')
    return parts


def _legend(names: list[str], y: float, extra: list[tuple[str, str]] = ()) -> list[str]:
    parts, x = [], LEFT
    for index, name in enumerate(names):
        parts.append(f'<rect x="{x:.1f}" y="{y - 7:.1f}" width="9" height="7" fill="{COLOURS[index % len(COLOURS)]}"/>')
        parts.append(_text(x + 12, y, name, 7.5, "start"))
        x += 20 + 8 * len(name)
    for label, colour in extra:
        parts.append(f'<line x1="{x:.1f}" y1="{y - 3.5:.1f}" x2="{x + 14:.1f}" y2="{y - 3.5:.1f}" stroke="{colour}"'
                     f' stroke-width="1.2" stroke-dasharray="3 2"/>')
        parts.append(_text(x + 17, y, label, 7.5, "start"))
        x += 24 + 8 * len(label)
    return parts


def bar_chart(title: str, categories: list[str], series: dict[str, list[float]],
              lines: list[tuple[str, float]] = (), percent: bool = False) -> Markup:
    """Grouped bars per category, one colour per series, with dashed reference lines (a quota)."""
    values = [v for vs in series.values() for v in vs if v == v] + [v for _, v in lines]
    top, ticks = axis(max(values, default=0), percent)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(categories), 1)
    bar = min(22.0, slot * 0.8 / max(len(series), 1))
    # Labels wider than their slot are turned upright, the plot made shorter to give them room (up to
    # UPRIGHT_ROOM, beyond which they are cut short); values go over the bars only where a bar is wide
    # enough to carry them (the document's table has them all).
    upright = any(text_width(category, LABEL_SIZE) > slot * 0.95 for category in categories)
    room = min(max((text_width(c, LABEL_SIZE) for c in categories), default=0), UPRIGHT_ROOM)
    bottom = BOTTOM + max(room - (BOTTOM - 24), 0) if upright else BOTTOM
    plot_h = HEIGHT - TOP - bottom
    parts = _frame(title, top, ticks, percent, bottom)
    for c_index, category in enumerate(categories):
        start = LEFT + slot * c_index + (slot - bar * len(series)) / 2
        for s_index, values_of in enumerate(series.values()):
            value = values_of[c_index]
            if value != value:          # NaN: no bar
                continue
            height = plot_h * min(value, top) / top
            x = start + bar * s_index
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar * 0.92:.1f}"'
                         f' height="{height:.1f}" fill="{COLOURS[s_index % len(COLOURS)]}"/>')
            if bar >= MIN_LABELLED_BAR:
                parts.append(_text(x + bar * 0.46, TOP + plot_h - height - 2, number_text(value, percent), 6.5))
        centre = LEFT + slot * (c_index + 0.5)
        if upright:
            parts.append(_text(centre + LABEL_SIZE * 0.35, TOP + plot_h + 4, fitted(category, room, LABEL_SIZE),
                               LABEL_SIZE, "end", rotate=-90))
        else:
            parts.append(_text(centre, TOP + plot_h + 11, category, LABEL_SIZE))
    for label, value in lines:
        y = TOP + plot_h - plot_h * min(value, top) / top
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{QUOTA_COLOUR}"'
                     f' stroke-width="1" stroke-dasharray="4 2"/>')
    parts += _legend(list(series), HEIGHT - 8, [(label, QUOTA_COLOUR) for label, _ in lines])
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(title: str, labels: list[str], series: dict[str, list[float]], percent: bool = False) -> Markup:
    """One line per series over the labels (months), with each point's value."""
    values = [v for vs in series.values() for v in vs if v == v]
    top, ticks = axis(max(values, default=0), percent)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = _frame(title, top, ticks, percent)
    step = plot_w / max(len(labels), 1)
    for index, label in enumerate(labels):
        parts.append(_text(LEFT + step * (index + 0.5), TOP + plot_h + 11, label, 7.5))
    for s_index, values_of in enumerate(series.values()):
        colour = COLOURS[s_index % len(COLOURS)]
        points = [(LEFT + step * (i + 0.5), TOP + plot_h - plot_h * min(v, top) / top, v)
                  for i, v in enumerate(values_of) if v == v]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.4"/>')
        for x, y, value in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>')
            parts.append(_text(x, y - 4, number_text(value, percent), 6.5, colour=colour))
    parts += _legend(list(series), HEIGHT - 8)
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(title: str, values: list[float], bins: int = 8, unit: str = "分", counted: str = "人数") -> Markup:
    """How many values (scores, feedback items) fall in each of `bins` equal ranges."""
    values = [v for v in values if v == v]
    if not values:
        return bar_chart(title, [], {counted: []})
    low, high = math.floor(min(values)), math.ceil(max(values))
    width = max(1, math.ceil((high - low + 1) / bins))
    edges = [low + width * i for i in range(bins + 1) if low + width * i <= high + width]
    counts = [sum(1 for v in values if edges[i] <= v < edges[i + 1]) for i in range(len(edges) - 1)]
    labels = [f"{edges[i]:g}–{edges[i + 1] - 1:g}" if width > 1 else f"{edges[i]:g}" for i in range(len(edges) - 1)]
    return bar_chart(title, [f"{label}{unit}" for label in labels], {counted: counts})
