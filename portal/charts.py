"""The dashboard's charts as SVG markup made on the server: no chart library, no script.

Pure functions of their data: the same series give the same bytes. Every piece of text
(status codes, titles) goes through format_html, so the markup is escaped and is well-formed
XML as well as HTML. Each chart is an image with a title and a description for assistive
technology; the page puts the numbers themselves in a visually hidden table next to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from portal.usage import OK, Percentiles

WIDTH, HEIGHT = 440, 230
LEFT, RIGHT, TOP, BOTTOM = 50, 16, 12, 46
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
TICKS = 4
INK, MUTED, GRID = "#1d2330", "#566072", "#e3e8ef"

OK_COLOUR = "#1b7a3d"
# Distinct from the green of OK and from each other (Okabe-Ito based); beyond this many error
# codes the rarest are folded into one "other errors" layer rather than reusing a colour.
ERROR_COLOURS = ("#c62828", "#e69f00", "#0072b2", "#cc79a7", "#6a3d9a", "#56b4e9", "#8c564b", "#d55e00")
OTHER_ERRORS, OTHER_COLOUR = "Other errors", "#6b7280"

# One colour and dash per endpoint, in the registry's order (Okabe-Ito based, apart from the
# status colours' reds and greens so that the two splits are not read as each other).
ENDPOINT_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#6a3d9a", "#8c564b", "#b46900", "#56b4e9")
ENDPOINT_DASHES = ("", "6 4", "2 3", "8 3 2 3")

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Layer:
    """One status's part of the stacked bars."""

    label: str
    colour: str
    counts: list[int]


@dataclass(frozen=True)
class Line:
    """One percentile's line: None where a day had no calls (the line breaks there)."""

    label: str
    colour: str
    dash: str
    values: list[float | None]


@dataclass(frozen=True)
class Axis:
    """The x axis: a label per bucket, shown every `every` buckets counted back from the last
    (so that the newest is always labelled); `unit` names a bucket in the description."""

    labels: list[str]
    unit: str = "day"
    every: int = 7


def day_axis(days: Sequence[date]) -> Axis:
    return Axis([day_label(day) for day in days])


def _as_axis(days: Sequence[date] | Axis) -> Axis:
    return days if isinstance(days, Axis) else day_axis(days)


def _plural(count: int, unit: str) -> str:
    return f"{count:,} {unit}{'' if count == 1 else 's'}"


def day_label(day: date) -> str:
    # Not strftime: month names must not depend on the server's locale.
    return f"{MONTHS[day.month - 1]} {day.day}"


def status_layers(statuses: Sequence[str], counts: dict[str, list[int]]) -> list[Layer]:
    """OK in green and each error code in its own colour, in the order given (OK first, then
    the most frequent errors)."""
    errors = [status for status in statuses if status != OK]
    shown, folded = errors[: len(ERROR_COLOURS)], errors[len(ERROR_COLOURS) :]
    if folded:
        # The last colour goes to "other errors" so that every layer still has its own.
        shown, folded = errors[: len(ERROR_COLOURS) - 1], errors[len(ERROR_COLOURS) - 1 :]
    layers = [Layer(OK, OK_COLOUR, list(counts[OK]))] if OK in statuses else []
    layers += [
        Layer(status, colour, list(counts[status]))
        for status, colour in zip(shown, ERROR_COLOURS, strict=False)
    ]
    if folded:
        other = [sum(day) for day in zip(*(counts[status] for status in folded), strict=True)]
        layers.append(Layer(OTHER_ERRORS, OTHER_COLOUR, other))
    return layers


def latency_lines(latency: Sequence[Percentiles | None]) -> list[Line]:
    """p50, p95, p99: told apart by dash pattern as well as colour."""
    return [
        Line("p50", "#1f5fbf", "", [day.p50 if day else None for day in latency]),
        Line("p95", "#b46900", "6 4", [day.p95 if day else None for day in latency]),
        Line("p99", "#b3261e", "2 3", [day.p99 if day else None for day in latency]),
    ]


def endpoint_layers(
    endpoints: Sequence[str], counts: dict[str, list[int]], labels: dict[str, str]
) -> list[Layer]:
    """A layer per endpoint in the order given, each in its own colour (grey beyond the palette)."""
    return [
        Layer(
            labels.get(name, name),
            ENDPOINT_COLOURS[index] if index < len(ENDPOINT_COLOURS) else OTHER_COLOUR,
            list(counts[name]),
        )
        for index, name in enumerate(endpoints)
    ]


def endpoint_latency_lines(
    endpoints: Sequence[str], latency: dict[str, list[Percentiles | None]], labels: dict[str, str]
) -> list[Line]:
    """Each endpoint's median latency: told apart by dash pattern as well as colour."""
    return [
        Line(
            labels.get(name, name),
            ENDPOINT_COLOURS[index] if index < len(ENDPOINT_COLOURS) else OTHER_COLOUR,
            ENDPOINT_DASHES[index % len(ENDPOINT_DASHES)],
            [day.p50 if day else None for day in latency[name]],
        )
        for index, name in enumerate(endpoints)
    ]


def nice_scale(maximum: float, *, whole: bool) -> tuple[float, float]:
    """The axis top and tick step: a step of 1, 2, 2.5 or 5 times a power of ten giving at most
    TICKS steps up to `maximum`, and the top the first step at or above it (whole numbers
    only for counts)."""
    if maximum <= 0:
        return float(TICKS), 1.0
    # Counts: a step of at least one call.
    raw = max(1.0, maximum / TICKS) if whole else maximum / TICKS
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(
        m * magnitude
        for m in (1, 2, 2.5, 5, 10)
        if m * magnitude >= raw and (not whole or (m * magnitude).is_integer())
    )
    return step * math.ceil(maximum / step), step


def number(value: float) -> str:
    """A tick or a latency as people read it: 1,250 / 42 / 2.5 / 0.25."""
    if value >= 10:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def calls_chart_svg(
    days: Sequence[date] | Axis, layers: Sequence[Layer], *, chart_id: str, title: str
) -> SafeString:
    """A stacked bar per day (or hour), one layer per status or endpoint."""
    axis = _as_axis(days)
    count_of = len(axis.labels)
    totals = [sum(layer.counts[index] for layer in layers) for index in range(count_of)]
    top, step = nice_scale(max(totals, default=0), whole=True)
    slot = PLOT_WIDTH / max(1, count_of)
    bars = []
    for index, label in enumerate(axis.labels):
        base = 0
        for layer in layers:
            count = layer.counts[index]
            if not count:
                continue
            y_top, y_bottom = _y(base + count, top), _y(base, top)
            bars.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} {}</title></rect>',
                    _f(LEFT + index * slot + slot * 0.15),
                    _f(y_top),
                    _f(slot * 0.7),
                    _f(y_bottom - y_top),
                    layer.colour,
                    label,
                    f"{count:,}",
                    layer.label,
                )
            )
            base += count
    busiest = max(range(count_of), key=lambda index: totals[index], default=None)
    description = f"{sum(totals):,} calls over {_plural(count_of, axis.unit)}"
    if busiest is not None and totals[busiest]:
        description += f"; the busiest {axis.unit}, {axis.labels[busiest]}, had {totals[busiest]:,}"
    return _svg(
        chart_id=chart_id,
        title=title,
        description=description + ".",
        body=[
            _y_axis(top, step, "Calls"),
            _x_axis(axis),
            _joined(bars),
        ],
    )


def latency_chart_svg(
    days: Sequence[date] | Axis, lines: Sequence[Line], *, chart_id: str, title: str
) -> SafeString:
    """A line per percentile (or endpoint), a dot per day (or hour) with calls."""
    axis = _as_axis(days)
    highest = max((value for line in lines for value in line.values if value is not None), default=0.0)
    top, step = nice_scale(highest, whole=False)
    slot = PLOT_WIDTH / max(1, len(axis.labels))
    parts = []
    for line in lines:
        points = [
            (LEFT + (index + 0.5) * slot, _y(value, top), index, value)
            for index, value in enumerate(line.values)
            if value is not None
        ]
        for run in _runs(points):
            if len(run) > 1:
                parts.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{}/>',
                        " ".join(f"{_f(x)},{_f(y)}" for x, y, _, _ in run),
                        line.colour,
                        format_html(' stroke-dasharray="{}"', line.dash) if line.dash else "",
                    )
                )
        parts.extend(
            format_html(
                '<circle cx="{}" cy="{}" r="2.5" fill="{}"><title>{} {}: {} ms</title></circle>',
                _f(x),
                _f(y),
                line.colour,
                axis.labels[index],
                line.label,
                number(value),
            )
            for x, y, index, value in points
        )
    with_calls = sum(
        1 for index in range(len(axis.labels)) if any(line.values[index] is not None for line in lines)
    )
    return _svg(
        chart_id=chart_id,
        title=title,
        description=f"{', '.join(line.label for line in lines)} latency in milliseconds "
        f"for the {with_calls} of {_plural(len(axis.labels), axis.unit)} that had calls.",
        body=[
            _y_axis(top, step, "Latency (ms)"),
            _x_axis(axis),
            _joined(parts),
        ],
    )


def legend_html(layers: Sequence[Layer]) -> SafeString:
    if not layers:
        return mark_safe("")  # no empty list for screen readers to announce
    return format_html(
        '<ul class="legend">{}</ul>',
        format_html_join(
            "",
            '<li><span class="swatch" style="background:{}" aria-hidden="true"></span>{}</li>',
            ((layer.colour, layer.label) for layer in layers),
        ),
    )


def line_legend_html(lines: Sequence[Line]) -> SafeString:
    return format_html(
        '<ul class="legend">{}</ul>',
        format_html_join(
            "",
            '<li><svg class="swatch-line" viewBox="0 0 24 10" width="24" height="10" aria-hidden="true">'
            '<line x1="0" y1="5" x2="24" y2="5" stroke="{}" stroke-width="2.5" stroke-dasharray="{}"/>'
            "</svg>{}</li>",
            ((line.colour, line.dash or "none", line.label) for line in lines),
        ),
    )


# -- parts -------------------------------------------------------------------------------


def _svg(*, chart_id: str, title: str, description: str, body: Sequence[SafeString]) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" viewBox="0 0 {w} {h}" '
        'role="img" aria-labelledby="{id}-title {id}-desc" focusable="false" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{description}</desc>{body}</svg>',
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        title=title,
        description=description,
        body=_joined(body),
    )


def _y_axis(top: float, step: float, label: str) -> SafeString:
    gridlines = []
    for index in range(round(top / step) + 1):
        tick = step * index
        y = _f(_y(tick, top))
        gridlines.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" fill="{}">{}</text>',
                LEFT,
                y,
                LEFT + PLOT_WIDTH,
                y,
                GRID,
                LEFT - 6,
                y,
                MUTED,
                number(tick),
            )
        )
    middle = TOP + PLOT_HEIGHT / 2
    title = format_html(
        '<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle" fill="{}">{}</text>',
        _f(middle),
        _f(middle),
        INK,
        label,
    )
    return format_html("{}{}", _joined(gridlines), title)


def _x_axis(axis: Axis) -> SafeString:
    count_of = len(axis.labels)
    slot = PLOT_WIDTH / max(1, count_of)
    baseline = TOP + PLOT_HEIGHT
    # A label every `every` buckets (a week of days), counted back from the newest so that
    # today (or this hour) is always labelled.
    labels = []
    for index, label in enumerate(axis.labels):
        if (count_of - 1 - index) % axis.every:
            continue
        x = _f(LEFT + (index + 0.5) * slot)
        labels.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>'
                '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>',
                x,
                baseline,
                x,
                baseline + 4,
                MUTED,
                x,
                baseline + 17,
                MUTED,
                label,
            )
        )
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>{}'
        '<text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>',
        LEFT,
        baseline,
        LEFT + PLOT_WIDTH,
        baseline,
        MUTED,
        _joined(labels),
        _f(LEFT + PLOT_WIDTH / 2),
        HEIGHT - 8,
        INK,
        axis.unit.capitalize(),
    )


def _runs(
    points: list[tuple[float, float, int, float]],
) -> list[list[tuple[float, float, int, float]]]:
    """Consecutive days with a value: a line is not drawn across a day without calls."""
    runs: list[list[tuple[float, float, int, float]]] = []
    for point in points:
        if runs and runs[-1][-1][2] == point[2] - 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _joined(parts: Sequence[SafeString]) -> SafeString:
    """Markup parts already escaped by format_html, run together."""
    return mark_safe("".join(parts))


def _y(value: float, top: float) -> float:
    return TOP + PLOT_HEIGHT * (1 - value / top)


def _f(value: float) -> str:
    """Coordinates to 0.1 px: enough on screen, and stable output for tests."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
