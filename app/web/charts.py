"""Chart geometry for server-rendered SVG: no JavaScript, no chart library.

A chart is worked out here (scales, ticks, bar and point positions in an SVG
viewBox, UK labels, a one-sentence text alternative) and drawn by the Jinja
macros in templates/admin/_charts.html, so the picture scales with the page
(phones, print) and the same numbers are printed in a table under it.

Flask-free and pure: figures in, frozen dataclasses out. The figures come from
app.services.analytics; nothing here counts anything.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

# Horizontal bars: one category a row, its label on a line above the bar, so a
# long course title never squeezes the bar on a phone.
BAR_WIDTH = 400
BAR_ROW = 42
BAR_THICKNESS = 16
# Columns and lines: a fixed viewBox that scales to the page width.
PLOT_WIDTH = 400
PLOT_HEIGHT = 220
LEFT = 52        # room for the value axis labels
RIGHT = 12
TOP = 12
BOTTOM = 40      # room for the category labels
MAX_AXIS_LABELS = 6  # crowded time axes label every n-th period only

Formatter = Callable[[float], str]


@dataclass(frozen=True)
class Tick:
    """A gridline on the value axis: its position in the viewBox and its label."""
    position: float
    label: str


@dataclass(frozen=True)
class Mark:
    """One category or period: a bar or column (x, y, width, height) or a line's
    point (cx, cy), with the label and formatted value the table also shows."""
    label: str
    value: float
    text: str
    name: str = ""            # the label in full words, for the table and summary
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0
    cx: float = 0.0
    cy: float = 0.0
    show_label: bool = True
    lines: tuple[str, ...] = ()  # the axis label, wrapped to fit under its column

    @property
    def full_name(self) -> str:
        return self.name or self.label


Item = tuple[str, float] | tuple[str, float, str]  # (axis label, value[, name in full])


def _unpack(item: Item) -> tuple[str, float, str]:
    label, value, *rest = item
    return label, float(value or 0), (rest[0] if rest else label)


@dataclass(frozen=True)
class Chart:
    """Everything the SVG macro draws. `summary` is the text alternative; `marks`
    are also the rows of the table of numbers under the chart."""
    kind: str                 # "bars" (horizontal), "columns" or "line"
    title: str
    summary: str
    label_heading: str
    value_heading: str
    width: int
    height: int
    marks: tuple[Mark, ...]
    ticks: tuple[Tick, ...] = ()
    plot_left: float = 0.0
    plot_top: float = 0.0
    plot_right: float = 0.0
    plot_bottom: float = 0.0
    points: str = ""          # a line's polyline

    @property
    def empty(self) -> bool:
        return not self.marks


# -- formats ---------------------------------------------------------------------
def pounds_axis(pence: float) -> str:
    """Short money for an axis: '£0', '£850', '£1,200', '£12k', '£1.5m'."""
    pounds = pence / 100
    if abs(pounds) >= 1_000_000:
        return f"£{pounds / 1_000_000:.3g}m"
    if abs(pounds) >= 10_000:
        return f"£{pounds / 1000:.3g}k"
    return f"£{pounds:,.0f}" if pounds == int(pounds) else f"£{pounds:,.2f}"


def pounds_full(pence: float) -> str:
    """'£1,234.50': money as the tables show it."""
    whole, rest = divmod(int(round(pence)), 100)
    return f"£{whole:,}.{rest:02d}"


def percent(ratio: float) -> str:
    """'62.5%' for 0.625."""
    return f"{ratio * 100:.1f}%".replace(".0%", "%")


def count(value: float) -> str:
    return f"{int(round(value)):,}"


def period_label(start: date, grain: str) -> str:
    """A period as an axis names it: day '3 Mar', week 'w/c 3 Mar', month 'Mar 2026'."""
    if grain == "month":
        return f"{start:%b %Y}"
    if grain == "week":
        return f"w/c {start.day} {start:%b}"
    return f"{start.day} {start:%b}"


def period_name(start: date, grain: str) -> str:
    """A period in words for tables and summaries: '3 March 2026', 'week
    commencing 2 March 2026', 'March 2026'."""
    if grain == "month":
        return f"{start:%B %Y}"
    if grain == "week":
        return f"week commencing {start.day} {start:%B %Y}"
    return f"{start.day} {start:%B %Y}"


# -- scales ----------------------------------------------------------------------
def nice_scale(largest: float, *, steps: int = 4, whole: bool = False,
               ceiling: float | None = None) -> tuple[float, float]:
    """The axis top and the gridline step for values up to `largest`: steps of
    1, 2, 2.5 or 5 times a power of ten (whole numbers when `whole`), never
    above `ceiling` when the value has one (a rate's 100%)."""
    if ceiling is not None and largest >= ceiling * 0.8:
        return ceiling, ceiling / steps
    if largest <= 0:
        return (ceiling if ceiling is not None else float(steps)), \
            ((ceiling / steps) if ceiling is not None else 1.0)
    raw = largest / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    multiples = (1, 2, 5, 10) if whole and magnitude < 10 else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in multiples if raw <= m * magnitude)
    if whole:
        step = max(1.0, float(math.ceil(step)))
    top = step * math.ceil(largest / step)
    if ceiling is not None:
        top = min(top, ceiling)
    return top, step


def _ticks(top: float, step: float, position: Callable[[float], float],
           fmt: Formatter) -> tuple[Tick, ...]:
    count_ = int(round(top / step))
    return tuple(Tick(position(i * step), fmt(i * step)) for i in range(count_ + 1))


# -- summaries (text alternatives) -------------------------------------------------
def _summary(title: str, marks: Sequence[Mark], *, total: str | None = None,
             trend: bool = False) -> str:
    if not marks:
        return f"{title}: nothing to show for this range."
    noun = "period" if trend else "item"
    parts = [f"{title}: {len(marks)} {noun}{'s' if len(marks) != 1 else ''}"]
    if total is not None:
        parts.append(f"total {total}")
    highest = max(marks, key=lambda m: m.value)
    lowest = min(marks, key=lambda m: m.value)
    parts.append(f"highest {highest.full_name} at {highest.text}")
    if len(marks) > 1:
        parts.append(f"lowest {lowest.full_name} at {lowest.text}")
    if trend and len(marks) > 1:
        first, last = marks[0], marks[-1]
        direction = ("up" if last.value > first.value
                     else "down" if last.value < first.value else "unchanged")
        parts.append(f"{direction} from {first.text} in {first.full_name} "
                     f"to {last.text} in {last.full_name}")
    return "; ".join(parts) + "."


# -- charts ----------------------------------------------------------------------
def bars(items: Sequence[Item], *, title: str, label_heading: str,
         value_heading: str, fmt: Formatter, axis_fmt: Formatter | None = None,
         ceiling: float | None = None, whole: bool = False,
         total: str | None = None) -> Chart:
    """Horizontal bars, one a row in the order given: categories with long names
    (courses, towns). `ceiling` fixes the axis top (1.0 for rates)."""
    axis_fmt = axis_fmt or fmt
    label_room = 18
    height = max(1, len(items)) * BAR_ROW + 24
    left, right = 4.0, BAR_WIDTH - 64.0  # the value is printed after the bar
    items = [_unpack(item) for item in items]
    largest = max((v for _l, v, _n in items), default=0)
    top, step = nice_scale(largest, whole=whole, ceiling=ceiling)
    scale = (right - left) / top if top else 0

    marks = []
    for i, (label, value, name) in enumerate(items):
        y = i * BAR_ROW + label_room
        marks.append(Mark(label=label, value=value, text=fmt(value), name=name, x=left, y=y,
                          width=max(0.0, value * scale), height=BAR_THICKNESS,
                          cx=left + max(0.0, value * scale) + 4, cy=y + BAR_THICKNESS - 3))
    axis_y = height - 16
    ticks = _ticks(top, step, lambda v: left + v * scale, axis_fmt) if items else ()
    return Chart(kind="bars", title=title, summary=_summary(title, marks, total=total),
                 label_heading=label_heading, value_heading=value_heading,
                 width=BAR_WIDTH, height=height, marks=tuple(marks), ticks=ticks,
                 plot_left=left, plot_top=0, plot_right=right, plot_bottom=axis_y)


def _labelled(n: int) -> Callable[[int], bool]:
    """Which of n category labels fit under a plot: all, or every k-th (and the last)."""
    every = max(1, math.ceil(n / MAX_AXIS_LABELS))
    return lambda i: i % every == 0


def wrap(label: str, room: float, char_width: float = 7.5) -> tuple[str, ...]:
    """`label` in at most two lines of about `room` viewBox units each."""
    fits = max(1, int(room / char_width))
    if len(label) <= fits or " " not in label:
        return (label,)
    words, first = label.split(), ""
    while words and len(f"{first} {words[0]}".strip()) <= fits:
        first = f"{first} {words.pop(0)}".strip()
    if not first:
        first = words.pop(0)
    return (first, " ".join(words)) if words else (first,)


def columns(items: Sequence[Item], *, title: str, label_heading: str,
            value_heading: str, fmt: Formatter, axis_fmt: Formatter | None = None,
            whole: bool = False, total: str | None = None, trend: bool = False) -> Chart:
    """Vertical columns in the order given: a distribution (lead-time bands) or periods."""
    axis_fmt = axis_fmt or fmt
    left, right = float(LEFT), float(PLOT_WIDTH - RIGHT)
    top_y, bottom_y = float(TOP), float(PLOT_HEIGHT - BOTTOM)
    items = [_unpack(item) for item in items]
    largest = max((v for _l, v, _n in items), default=0)
    top, step = nice_scale(largest, whole=whole)
    scale = (bottom_y - top_y) / top if top else 0
    slot = (right - left) / max(1, len(items))
    width = slot * 0.7
    shown = _labelled(len(items))

    marks = []
    for i, (label, value, name) in enumerate(items):
        h = max(0.0, value * scale)
        x = left + i * slot + (slot - width) / 2
        marks.append(Mark(label=label, value=value, text=fmt(value), name=name, x=x, y=bottom_y - h,
                          width=width, height=h, cx=x + width / 2, cy=bottom_y - h,
                          show_label=shown(i), lines=wrap(label, slot)))
    ticks = _ticks(top, step, lambda v: bottom_y - v * scale, axis_fmt) if items else ()
    return Chart(kind="columns", title=title,
                 summary=_summary(title, marks, total=total, trend=trend),
                 label_heading=label_heading, value_heading=value_heading,
                 width=PLOT_WIDTH, height=PLOT_HEIGHT, marks=tuple(marks), ticks=ticks,
                 plot_left=left, plot_top=top_y, plot_right=right, plot_bottom=bottom_y)


def line(items: Sequence[Item], *, title: str, label_heading: str,
         value_heading: str, fmt: Formatter, axis_fmt: Formatter | None = None,
         whole: bool = False, total: str | None = None) -> Chart:
    """A line through periods in time order (revenue by day, week or month)."""
    axis_fmt = axis_fmt or fmt
    left, right = float(LEFT), float(PLOT_WIDTH - RIGHT)
    top_y, bottom_y = float(TOP), float(PLOT_HEIGHT - BOTTOM)
    items = [_unpack(item) for item in items]
    largest = max((v for _l, v, _n in items), default=0)
    top, step = nice_scale(largest, whole=whole)
    scale = (bottom_y - top_y) / top if top else 0
    gap = (right - left) / (len(items) - 1) if len(items) > 1 else 0
    shown = _labelled(len(items))

    marks = []
    for i, (label, value, name) in enumerate(items):
        cx = left + i * gap if len(items) > 1 else (left + right) / 2
        cy = bottom_y - max(0.0, value * scale)
        marks.append(Mark(label=label, value=value, text=fmt(value), name=name, cx=cx, cy=cy,
                          show_label=shown(i)))
    points = " ".join(f"{m.cx:.1f},{m.cy:.1f}" for m in marks)
    ticks = _ticks(top, step, lambda v: bottom_y - v * scale, axis_fmt) if items else ()
    return Chart(kind="line", title=title,
                 summary=_summary(title, marks, total=total, trend=True),
                 label_heading=label_heading, value_heading=value_heading,
                 width=PLOT_WIDTH, height=PLOT_HEIGHT, marks=tuple(marks), ticks=ticks,
                 plot_left=left, plot_top=top_y, plot_right=right, plot_bottom=bottom_y,
                 points=points)
