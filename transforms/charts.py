"""Small inline SVG charts for the HTML report: pure functions, text in, SVG text out.

The SVG is meant to be placed inline in an HTML page as it is, so every piece of
text that goes into it (titles, labels, period codes) is escaped here, and it refers
to nothing outside itself (no namespace URL, no links, no fonts, no scripts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from html import escape

BAR = "#8fb3d9"
BAR_HIGHLIGHT = "#1f4e79"
INK = "#222222"
GRID = "#dddddd"
CHAR_WIDTH = 6.6  # rough width of one character at font-size 11, for layout only


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _number(value: int) -> str:
    return f"{value:,}"


def nice_axis(largest: int, ticks: int = 4) -> tuple[int, int]:
    """The step and the top of a y axis from 0 that holds `largest`: steps of 1, 2 or 5 times a power of ten."""
    largest = max(int(largest), 1)
    raw = -(-largest // ticks)  # ceiling, in integers so that very large counts stay exact
    magnitude = 10 ** (len(str(raw)) - 1)
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return step, -(-largest // step) * step


def bar_chart(
    points: Sequence[tuple[str, int | None]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    highlight: Iterable[str] = (),
    notes: Mapping[str, str] | None = None,
    derived: Iterable[str] = (),
    height: int = 280,
    min_width: int = 360,
) -> str:
    """An inline SVG bar chart: one bar per (label, value), the value written above each bar.

    `highlight` names the labels drawn in the darker colour (the period reported on);
    `notes` adds a short mark after a value (such as a status "P"); `derived` names the
    labels whose figure no one reported but that adds up from shorter periods: their bars
    are drawn hatched, with a dashed outline, and "(derived)" in their tooltip. A value of None
    draws no bar and writes "—". Axis labels, ticks and every number are text in the
    SVG, so they can be read, searched and copied.
    """
    notes = notes or {}
    marked = set(highlight)
    added_up = {str(label) for label in derived}
    values = [v for _, v in points if v is not None]
    step, top = nice_axis(max(values, default=0))
    longest_label = max((len(str(label)) for label, _ in points), default=1)
    longest_value = max(
        (len(_number(v)) + len(notes.get(str(label), "")) + 1 for label, v in points if v is not None), default=1
    )
    slot = max(56.0, longest_value * CHAR_WIDTH + 10)
    rotate = longest_label * CHAR_WIDTH > slot - 4
    left = 16 + 14 + max(len(_number(top)), 1) * CHAR_WIDTH + 8  # y label, tick labels, gap
    if rotate:  # the first slanted label reaches left of its bar
        left = max(left, longest_label * CHAR_WIDTH * 0.71 - slot / 2 + 8)
    right, top_margin = 16, 40
    bottom = 34 + (longest_label * CHAR_WIDTH * 0.71 if rotate else 14)
    plot_width = slot * max(len(points), 1)
    width = max(float(min_width), left + plot_width + right, left + len(title) * 7.6 + right)
    plot_width = width - left - right
    slot = plot_width / max(len(points), 1)
    plot_height = height - top_margin - bottom
    if plot_height < 60:
        height = int(top_margin + bottom + 60)
        plot_height = 60
    base_y = top_margin + plot_height

    def y_of(value: int) -> float:
        return base_y - plot_height * value / top

    parts = [
        f'<svg class="chart" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'role="img" aria-label="{_text(title)}" font-family="sans-serif" font-size="11" fill="{INK}">',
        f"<title>{_text(title)}</title>",
        *(
            [
                '<defs><pattern id="derived-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
                'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
                f'<line x1="0" y1="0" x2="0" y2="6" stroke="{BAR}" stroke-width="3"/></pattern></defs>'
            ]
            if added_up & {str(label) for label, value in points if value is not None}
            else []
        ),
        f'<text x="{left:.1f}" y="18" font-size="13" font-weight="bold">{_text(title)}</text>',
    ]
    for tick in range(0, top + 1, step):
        y = y_of(tick)
        parts.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_width:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID if tick else INK}" stroke-width="1"/>'
        )
        parts.append(f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">{_number(tick)}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{top_margin:.1f}" x2="{left:.1f}" y2="{base_y:.1f}" stroke="{INK}"/>')
    bar_width = min(slot * 0.64, 64.0)
    for index, (label, value) in enumerate(points):
        label = str(label)
        centre = left + slot * (index + 0.5)
        if value is not None:
            y = y_of(value)
            colour = BAR_HIGHLIGHT if label in marked else BAR
            if label in added_up:
                parts.append(
                    f'<rect class="derived" x="{centre - bar_width / 2:.1f}" y="{y:.1f}" '
                    f'width="{bar_width:.1f}" height="{max(base_y - y, 0):.1f}" fill="url(#derived-hatch)" '
                    f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="4 2"><title>{_text(label)}: '
                    f"{_number(value)} (derived: added up from shorter periods)</title></rect>"
                )
            else:
                parts.append(
                    f'<rect x="{centre - bar_width / 2:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                    f'height="{max(base_y - y, 0):.1f}" fill="{colour}"><title>{_text(label)}: '
                    f"{_number(value)}</title></rect>"
                )
            note = notes.get(label, "")
            written = _number(value) + (f" {note}" if note else "")
            parts.append(
                f'<text class="value" x="{centre:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                f'font-weight="bold">{_text(written)}</text>'
            )
        else:
            parts.append(f'<text class="value" x="{centre:.1f}" y="{base_y - 4:.1f}" text-anchor="middle">—</text>')
        if rotate:
            parts.append(
                f'<text x="{centre:.1f}" y="{base_y + 14:.1f}" text-anchor="end" '
                f'transform="rotate(-45 {centre:.1f} {base_y + 14:.1f})">{_text(label)}</text>'
            )
        else:
            parts.append(f'<text x="{centre:.1f}" y="{base_y + 16:.1f}" text-anchor="middle">{_text(label)}</text>')
    parts.append(
        f'<text x="{left + plot_width / 2:.1f}" y="{height - 8:.1f}" text-anchor="middle">{_text(x_label)}</text>'
    )
    middle = top_margin + plot_height / 2
    parts.append(
        f'<text x="14" y="{middle:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle:.1f})">{_text(y_label)}</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
