"""Chart geometry (app.web.charts): scales, positions inside the viewBox, UK
labels and the text alternative."""
from __future__ import annotations

from datetime import date

import pytest

from app.web import charts


@pytest.mark.parametrize(("largest", "whole", "expected"), [
    (0, False, (4.0, 1.0)),
    (7, True, (8.0, 2.0)),
    (9, True, (10.0, 5.0)),
    (123_456, False, (150_000.0, 50_000.0)),
    (90_000, False, (100_000.0, 25_000.0)),
    (3, True, (3.0, 1.0)),
])
def test_axis_tops_are_round_numbers_at_or_above_the_largest_value(largest, whole, expected):
    top, step = charts.nice_scale(largest, whole=whole)
    assert (top, step) == expected
    assert top >= largest


def test_a_rate_axis_never_goes_past_its_ceiling():
    assert charts.nice_scale(0.93, ceiling=1.0) == (1.0, 0.25)
    top, _step = charts.nice_scale(0.3, ceiling=1.0)
    assert top <= 1.0


def test_money_axis_labels_are_short_pounds_and_tables_show_pence():
    assert charts.pounds_axis(0) == "£0"
    assert charts.pounds_axis(85_000) == "£850"
    assert charts.pounds_axis(120_000) == "£1,200"
    assert charts.pounds_axis(1_250_000) == "£12.5k"
    assert charts.pounds_full(123_450) == "£1,234.50"
    assert charts.percent(0.625) == "62.5%" and charts.percent(1) == "100%"


def test_periods_are_named_the_uk_way():
    day = date(2026, 3, 2)
    assert charts.period_label(day, "day") == "2 Mar"
    assert charts.period_label(day, "week") == "w/c 2 Mar"
    assert charts.period_label(day, "month") == "Mar 2026"
    assert charts.period_name(day, "week") == "week commencing 2 March 2026"


def test_bars_are_proportional_and_stay_inside_the_viewbox():
    chart = charts.bars([("Emergency First Aid at Work", 0.5), ("Paediatric", 1.0)],
                        title="Fill rate by course", label_heading="Course",
                        value_heading="Fill rate", fmt=charts.percent, ceiling=1.0)
    half, full = chart.marks
    assert full.width == pytest.approx(2 * half.width)
    assert full.x + full.width <= chart.plot_right <= chart.width
    assert [t.label for t in chart.ticks][-1] == "100%"
    assert chart.height >= half.y + half.height


def test_columns_grow_upwards_from_the_axis_and_thin_out_crowded_labels():
    items = [(f"{d} Mar", d * 100, f"{d} March 2026") for d in range(1, 32)]
    chart = charts.columns(items, title="Revenue", label_heading="Day", value_heading="Gross",
                           fmt=charts.pounds_full, axis_fmt=charts.pounds_axis)
    for mark in chart.marks:
        assert mark.y + mark.height == pytest.approx(chart.plot_bottom)
        assert chart.plot_left <= mark.x and mark.x + mark.width <= chart.plot_right + 0.01
    assert chart.marks[-1].height > chart.marks[0].height
    assert 1 < sum(m.show_label for m in chart.marks) <= charts.MAX_AXIS_LABELS
    assert chart.ticks[0].position == chart.plot_bottom and chart.ticks[0].label == "£0"


def test_a_line_runs_left_to_right_through_every_period():
    chart = charts.line([("Jan 2026", 100), ("Feb 2026", 300), ("Mar 2026", 200)],
                        title="Revenue", label_heading="Month", value_heading="Gross",
                        fmt=charts.pounds_full)
    xs = [m.cx for m in chart.marks]
    assert xs == sorted(xs) and xs[0] == chart.plot_left and xs[-1] == chart.plot_right
    assert chart.marks[1].cy < chart.marks[2].cy < chart.marks[0].cy  # higher value, higher up
    assert len(chart.points.split()) == 3


def test_the_text_alternative_names_the_highest_lowest_and_trend():
    chart = charts.line([("Jan", 100_00, "January 2026"), ("Feb", 300_00, "February 2026")],
                        title="Revenue by month", label_heading="Month", value_heading="Gross",
                        fmt=charts.pounds_full, total="£400.00")
    assert chart.summary == ("Revenue by month: 2 periods; total £400.00; highest February 2026 "
                             "at £300.00; lowest January 2026 at £100.00; up from £100.00 in "
                             "January 2026 to £300.00 in February 2026.")


def test_an_empty_chart_says_so():
    chart = charts.bars([], title="Bookings by town", label_heading="Town",
                        value_heading="Bookings", fmt=charts.count, whole=True)
    assert chart.empty and chart.summary == "Bookings by town: nothing to show for this range."
    assert chart.ticks == ()


def test_long_column_labels_wrap_onto_two_lines():
    assert charts.wrap("8 weeks or more", 67) == ("8 weeks", "or more")
    assert charts.wrap("0–6 days", 67) == ("0–6 days",)
    chart = charts.columns([(label, 1) for label in ("0–6 days", "1–2 weeks", "2–4 weeks",
                                                     "4–8 weeks", "8 weeks or more")],
                           title="Lead time", label_heading="Booked", value_heading="Bookings",
                           fmt=charts.count, whole=True)
    assert chart.marks[-1].lines == ("8 weeks", "or more")
