"""Server-side SVG charts: one point per value, escaped labels, x labels that never overlap."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import pairwise

import pytest

from crawler.web.charts import X_LABEL_WIDTH, Series, bar_chart, line_chart


def _days(n: int) -> list[str]:
    start = date(2026, 1, 1)
    return [(start + timedelta(days=k)).isoformat() for k in range(n)]


@pytest.mark.parametrize(
    ("width", "days"), [(480, 30), (720, 30), (720, 365), (360, 7), (720, 2), (300, 90)]
)
def test_x_labels_are_spaced_and_the_last_day_is_named(width: int, days: int) -> None:
    labels = _days(days)
    svg = line_chart(labels, [Series("articles", [1.0] * days)], title="t", width=width)
    shown = re.findall(r'class="xlabel" x="([\d.]+)"[^>]*>([^<]+)<', svg)
    xs = [float(x) for x, _ in shown]
    assert all(b - a >= X_LABEL_WIDTH for a, b in pairwise(xs)), shown
    assert shown[0][1] == labels[0] and shown[-1][1] == labels[-1]
    assert svg.count('class="point"') == days


def test_labels_and_series_names_are_escaped() -> None:
    hostile = '<script>alert(1)</script>"'
    svg = line_chart(["2026-01-01", hostile], [Series(hostile, [1, 2])], title=hostile)
    bars = bar_chart([(hostile, 3.0)], title=hostile)
    for markup in (str(svg), str(bars)):
        assert "<script>" not in markup and "&lt;script&gt;" in markup
