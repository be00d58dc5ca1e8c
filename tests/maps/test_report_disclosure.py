"""Disclosure in every mark of the outcome report: small counts planted in every chart cannot be read anywhere.

The tiny warehouse (support/report_fixtures.py) plants counts of 1-4 in each chart's data: child criminal
exploitation incidents (line chart), children missing repeatedly (missing bar chart), high-risk screenings
(screenings bar chart) and NRM referrals (referrals bar chart). The tests read every mark a reader could:
bar heights and line points (against the axis), axis ranges, colours, tooltips, labels, sentences and tables.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime

import pytest
from support.report_fixtures import build_tiny_warehouse

from ctxrisk.maps.charts import nice_ticks
from ctxrisk.maps.report import build_report
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

FIXED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
GAP_TEXTS = {"<5", "withheld", "no data"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-disclosure")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    yield con, html
    con.close()


def test_small_counts_are_planted_in_every_chart(tiny):
    con, _ = tiny
    q3 = "between date '2026-07-01' and date '2026-09-30'"
    planted = {
        "cce incidents (line chart)": f"select count(*) from marts.indicators_incidents where theme = 'cce' "
        f"and local_date {q3}",
        "NRM referrals (referrals chart)": f"select count(*) from marts.indicators_referrals "
        f"where referral_type = 'nrm' and referred_date {q3}",
        "children missing repeatedly (missing chart)": f"select count(*) from (select person_id from "
        f"marts.indicators_missing_episodes where start_date {q3} group by 1 having count(*) >= 3)",
        "children at high risk (screenings chart)": "select count(*) from (select person_id, risk_level from "
        f"marts.indicators_screenings where screened_date {q3} qualify row_number() over (partition by person_id "
        "order by screened_at desc, (tool = 'full') desc) = 1) where risk_level = 'high'",
    }
    got = {name: con.execute(sql).fetchone()[0] for name, sql in planted.items()}
    assert all(1 <= n <= 4 for n in got.values()), got


def _charts(html: str) -> list[str]:
    return re.findall(r"<svg class=\"chart\".*?</svg>", html, flags=re.S)


def _axis(svg: str) -> tuple[list[float], float]:
    """Tick values and pixels per unit, from the axis labels and grid lines."""
    ticks = [
        (float(y) - 3.5, float(v.replace(",", "")))
        for y, v in re.findall(r'<text x="\d+" y="([\d.]+)" text-anchor="end" fill="#555">([\d,.]+)</text>', svg)
    ]
    assert len(ticks) >= 2
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    return [v for _, v in ticks], (y0 - y1) / (v1 - v0)


def test_every_drawn_value_is_published_and_its_geometry_matches(tiny):
    _, html = tiny
    charts = _charts(html)
    assert len(charts) == 4
    for svg in charts:
        values, per_unit = _axis(svg)
        drawn = []
        # bars: height against the axis scale must give exactly the tooltip's value, never a small one
        for height, value in re.findall(
            r'<rect [^>]*height="([\d.]+)" fill="#\w+"><title>[^<]*: ([\d,]+)</title>', svg
        ):
            v = int(value.replace(",", ""))
            assert abs(float(height) / per_unit - v) < 0.2
            drawn.append(v)
        # line points and bars: every tooltip's value
        drawn += [int(v.replace(",", "")) for v in re.findall(r"<title>[^<]*: ([\d,]+)</title>", svg)]
        assert drawn, "a chart draws at least one published value"
        assert min(drawn) >= 5
        # the axis runs to the nice top of the published values only
        assert values == nice_ticks(max(drawn))
        # gaps say why and nothing else
        gaps = re.findall(r'<text class="gap"[^>]*><title>[^<]*: ([^<]*)</title>([^<]*)</text>', svg)
        assert all(htmllib.unescape(a) in GAP_TEXTS and a == b for a, b in gaps)


def test_line_points_sit_at_their_published_heights(tiny):
    _, html = tiny
    svg = next(s for s in _charts(html) if "incidents-quarterly" in s)
    _, per_unit = _axis(svg)
    bottom = float(re.search(r'<line x1="48" x2="\d+" y1="([\d.]+)" y2="[\d.]+" stroke="#888"/>', svg).group(1))
    points = re.findall(r'<g class="pt"><title>[^<]*: ([\d,]+)</title><circle cx="[\d.]+" cy="([\d.]+)"', svg)
    assert points
    for value, cy in points:
        assert abs((bottom - float(cy)) / per_unit - int(value.replace(",", ""))) < 0.2


def test_colours_do_not_depend_on_values(tiny):
    _, html = tiny
    for svg in _charts(html):
        bars = re.findall(r'<rect [^>]*fill="(#\w+)"><title>([^,<]*),', svg)
        by_series: dict[str, set[str]] = {}
        for colour, series in bars:
            by_series.setdefault(series, set()).add(colour)
        assert all(len(c) == 1 for c in by_series.values())


_NOT_COUNTS = [
    r"\d{1,2} to (?=\d{1,2} [A-Z][a-z]{2} \d{4})",  # a span within a month ("1 to 31 Jul 2026")
    r"\d{1,2} [A-Z][a-z]{2}(?: \d{4})?",  # dates ("1 Jul to 30 Sep 2026")
    r"\d{4} ?Q[1-4]",  # quarters
    r"\d+(?:\.\d+)?%",  # shares and changes
    r"\d+ percentage points",
    r"\d+ or more",
    r"\d+\+",
    r"\d+[- ]hours?",
    r"\d+\.\d+",
    r"\d{2}:\d{2}",  # the time the page was made
]


def _numbers(text: str) -> list[int]:
    text = htmllib.unescape(text)
    for pattern in _NOT_COUNTS:
        text = re.sub(pattern, " ", text)
    return [int(n.replace(",", "")) for n in re.findall(r"(?<![<\w])\d[\d,]*", text)]


def test_no_small_count_in_any_table_cell_or_sentence(tiny):
    _, html = tiny
    # the method note states the rule ("a true zero from 1 to 4"); every other text is checked
    page = re.sub(r"<svg.*?</svg>|<section id=\"method\">.*?</section>", "", html, flags=re.S)
    texts = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<td[^>]*>(.*?)</td>", page)]
    texts += [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<li>(.*?)</li>", page)]
    texts += [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<p[^>]*>(.*?)</p>", page)]
    numbers = [n for t in texts for n in _numbers(t)]
    assert numbers and min(numbers) >= 5, sorted(set(numbers))[:10]
    # and every suppressed cell says so in words the method note explains
    assert "&lt;5" in page and "withheld" in page


def test_the_scan_finds_a_planted_small_number(tiny):
    _, html = tiny
    planted = html.replace("</main>", "<p>Referrals: 3 in 2026Q3.</p></main>")
    page = re.sub(r"<svg.*?</svg>", "", planted, flags=re.S)
    texts = [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<p[^>]*>(.*?)</p>", page)]
    assert 3 in [n for t in texts for n in _numbers(t)]
