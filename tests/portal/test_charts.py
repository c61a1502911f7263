"""The dashboard's SVG charts: well-formed, escaped, drawn to scale, deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from portal import charts
from portal.usage import Percentiles

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2025, 11, 20) + timedelta(days=offset) for offset in range(3)]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


def test_it_draws_one_segment_per_status_and_day_with_calls_to_scale() -> None:
    layers = charts.status_layers(
        ["OK", "INVALID_ARGUMENT"], {"OK": [2, 0, 4], "INVALID_ARGUMENT": [1, 0, 0]}
    )
    root = parse(charts.calls_chart_svg(DAYS, layers, chart_id="c", title="Calls"))

    segments = bars(root)
    assert [(rect.get("fill"), rect.findtext(f"{SVG}title")) for rect in segments] == [
        (charts.OK_COLOUR, "Nov 20: 2 OK"),
        (charts.ERROR_COLOURS[0], "Nov 20: 1 INVALID_ARGUMENT"),
        (charts.OK_COLOUR, "Nov 22: 4 OK"),
    ]
    heights = [float(rect.get("height", "")) for rect in segments]
    # The axis tops at 4 calls: 4 calls fill the plot, 2 half of it, 1 a quarter.
    assert heights == pytest.approx(
        [charts.PLOT_HEIGHT / 2, charts.PLOT_HEIGHT / 4, charts.PLOT_HEIGHT], abs=0.1
    )
    # The error sits on top of the OK part of the same bar.
    ok_top = float(segments[0].get("y", ""))
    error_bottom = float(segments[1].get("y", "")) + heights[1]
    assert error_bottom == pytest.approx(ok_top, abs=0.1)


def test_it_names_itself_for_assistive_technology() -> None:
    layers = charts.status_layers(["OK"], {"OK": [5, 9, 1]})
    root = parse(charts.calls_chart_svg(DAYS, layers, chart_id="calls", title="Calls per day"))

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "calls-title calls-desc"
    assert root.findtext(f"{SVG}title") == "Calls per day"
    assert root.findtext(f"{SVG}desc") == "15 calls over 3 days; the busiest day, Nov 21, had 9."


def test_it_escapes_an_error_code_with_markup_in_it() -> None:
    hostile = '<script>alert("x")</script>&'
    layers = charts.status_layers(["OK", hostile], {"OK": [1, 0, 0], hostile: [0, 2, 0]})
    svg = charts.calls_chart_svg(DAYS, layers, chart_id="c", title="Calls <by> status")
    legend = charts.legend_html(layers)

    assert "<script>" not in svg and "<script>" not in legend
    root = parse(svg)
    assert root.findtext(f"{SVG}title") == "Calls <by> status"
    assert [rect.findtext(f"{SVG}title") for rect in bars(root)] == ["Nov 20: 1 OK", f"Nov 21: 2 {hostile}"]
    assert ["".join(item.itertext()) for item in parse(legend).iter("li")] == ["OK", hostile]


def test_every_error_code_gets_its_own_colour_and_the_rarest_fold_into_one() -> None:
    codes = [f"E{index}" for index in range(10)]
    counts = {"OK": [1, 1, 1], **{code: [index, 0, 1] for index, code in enumerate(codes)}}

    layers = charts.status_layers(["OK", *codes], counts)

    assert [layer.label for layer in layers] == ["OK", *codes[:7], charts.OTHER_ERRORS]
    colours = [layer.colour for layer in layers]
    assert len(set(colours)) == len(colours)
    assert layers[0].colour == charts.OK_COLOUR
    assert layers[-1].counts == [7 + 8 + 9, 0, 3]


def test_a_few_error_codes_are_not_folded() -> None:
    codes = [f"E{index}" for index in range(len(charts.ERROR_COLOURS))]
    layers = charts.status_layers(codes, {code: [1, 0, 0] for code in codes})

    assert [layer.label for layer in layers] == codes
    assert [layer.colour for layer in layers] == list(charts.ERROR_COLOURS)


def test_an_empty_month_still_has_axes_and_no_bars() -> None:
    root = parse(charts.calls_chart_svg(DAYS, [], chart_id="c", title="Calls"))

    assert bars(root) == []
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert labels[:5] == ["0", "1", "2", "3", "4"]
    assert "Nov 22" in labels and "Calls" in labels


def test_latency_lines_break_on_days_without_calls() -> None:
    latency: list[Percentiles | None] = [
        Percentiles(10, 20, 30),
        Percentiles(12, 22, 40),
        None,
        Percentiles(11, 21, 31),
    ]
    days = [date(2025, 1, 30) + timedelta(days=offset) for offset in range(4)]
    lines = charts.latency_lines(latency)

    root = parse(charts.latency_chart_svg(days, lines, chart_id="l", title="Latency"))

    polylines = root.findall(f"{SVG}polyline")
    # One segment per percentile for the first two days; the fourth day stands alone.
    assert [len((line.get("points") or "").split()) for line in polylines] == [2, 2, 2]
    assert {line.get("stroke") for line in polylines} == {line.colour for line in lines}
    dots = [circle.findtext(f"{SVG}title") for circle in root.iter(f"{SVG}circle")]
    assert len(dots) == 9
    assert "Feb 2 p99: 31 ms" in dots and "Jan 31 p99: 40 ms" in dots
    # The highest value, a p99 of 40 ms, tops the axis.
    assert [text.text for text in root.iter(f"{SVG}text")][:6] == [
        "0",
        "10",
        "20",
        "30",
        "40",
        "Latency (ms)",
    ]


def test_the_same_series_give_the_same_markup() -> None:
    layers = charts.status_layers(["OK", "QUOTA_EXHAUSTED"], {"OK": [3, 1, 4], "QUOTA_EXHAUSTED": [1, 5, 9]})
    first = charts.calls_chart_svg(DAYS, layers, chart_id="c", title="Calls")

    assert charts.calls_chart_svg(DAYS, layers, chart_id="c", title="Calls") == first


def test_line_legend_shows_each_dash_pattern() -> None:
    lines = charts.latency_lines([Percentiles(1, 2, 3)])
    legend = parse(charts.line_legend_html(lines))

    assert ["".join(item.itertext()) for item in legend.iter("li")] == ["p50", "p95", "p99"]
    dashes = [line.get("stroke-dasharray") for line in legend.iter("line")]
    assert len(set(dashes)) == 3


@pytest.mark.parametrize(
    ("maximum", "whole", "expected"),
    [
        (0, True, (4, 1)),
        (1, True, (1, 1)),
        (3, True, (3, 1)),
        (10, True, (10, 5)),
        (97, True, (100, 25)),
        (1234, True, (1500, 500)),
        (0.7, False, (0.8, 0.2)),
        (40, False, (40, 10)),
        (41, False, (60, 20)),
        (385.2, False, (400, 100)),
    ],
)
def test_axes_top_at_a_round_number(maximum: float, whole: bool, expected: tuple[float, float]) -> None:
    assert charts.nice_scale(maximum, whole=whole) == pytest.approx(expected)


def test_day_labels_do_not_depend_on_the_locale() -> None:
    assert [charts.day_label(date(2025, month, 5)) for month in (1, 12)] == ["Jan 5", "Dec 5"]


def test_an_hourly_axis_labels_every_sixth_hour_and_names_hours_in_its_description() -> None:
    axis = charts.Axis([f"{hour:02d}:00" for hour in range(24)], unit="hour", every=6)
    layers = charts.status_layers(["OK"], {"OK": [0] * 23 + [3]})

    root = parse(charts.calls_chart_svg(axis, layers, chart_id="h", title="Calls per hour"))

    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert [label for label in labels if label and label.endswith(":00")] == [
        "05:00",
        "11:00",
        "17:00",
        "23:00",
    ]
    assert "Hour" in labels
    assert root.findtext(f"{SVG}desc") == "3 calls over 24 hours; the busiest hour, 23:00, had 3."
    assert [bar.findtext(f"{SVG}title") for bar in bars(root)] == ["23:00: 3 OK"]


def test_endpoint_layers_keep_the_order_given_each_in_its_own_colour() -> None:
    counts = {"detect": [1, 0, 2], "compare": [0, 4, 0], "mask": [1, 1, 1]}
    layers = charts.endpoint_layers(["detect", "compare", "mask"], counts, {"detect": "Detect faces"})

    assert [layer.label for layer in layers] == ["Detect faces", "compare", "mask"]
    assert [layer.colour for layer in layers] == list(charts.ENDPOINT_COLOURS[:3])
    root = parse(charts.calls_chart_svg(DAYS, layers, chart_id="e", title="Calls by endpoint"))
    assert [bar.findtext(f"{SVG}title") for bar in bars(root)] == [
        "Nov 20: 1 Detect faces",
        "Nov 20: 1 mask",
        "Nov 21: 4 compare",
        "Nov 21: 1 mask",
        "Nov 22: 2 Detect faces",
        "Nov 22: 1 mask",
    ]
    legend = parse(charts.legend_html(layers))
    assert ["".join(item.itertext()) for item in legend.iter("li")] == ["Detect faces", "compare", "mask"]


def test_more_endpoints_than_colours_go_grey_rather_than_reuse_one() -> None:
    names = [f"e{index}" for index in range(len(charts.ENDPOINT_COLOURS) + 2)]
    layers = charts.endpoint_layers(names, {name: [1] for name in names}, {})
    assert [layer.colour for layer in layers[len(charts.ENDPOINT_COLOURS) :]] == [charts.OTHER_COLOUR] * 2
    assert len({layer.colour for layer in layers[: len(charts.ENDPOINT_COLOURS)]}) == len(
        charts.ENDPOINT_COLOURS
    )


def test_endpoint_latency_lines_are_each_endpoints_median() -> None:
    latency = {
        "detect": [Percentiles(10, 20, 30), None],
        "compare": [None, Percentiles(50, 60, 70)],
    }
    lines = charts.endpoint_latency_lines(["detect", "compare"], latency, {"compare": "Compare faces"})

    assert [(line.label, line.values) for line in lines] == [
        ("detect", [10, None]),
        ("Compare faces", [None, 50]),
    ]
    assert lines[0].dash != lines[1].dash
    root = parse(charts.latency_chart_svg(DAYS[:2], lines, chart_id="l", title="Median latency"))
    dots = [circle.findtext(f"{SVG}title") for circle in root.iter(f"{SVG}circle")]
    assert dots == ["Nov 20 detect: 10 ms", "Nov 21 Compare faces: 50 ms"]
    assert "for the 2 of 2 days that had calls" in (root.findtext(f"{SVG}desc") or "")
