"""Tests for the report's missing-episode measures (ctxrisk missing summary) and time to the next episode.

The measures are checked against the analytics they are read from; planted small counts in every new
figure (counts, shares, the median, the Kaplan-Meier shares) are shown to be unreadable.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from support.hotspot_fixtures import sample_warehouse
from support.report_fixtures import build_tiny_warehouse

from ctxrisk.analytics.protect.missing import missing_children, missing_summary
from ctxrisk.analytics.protect.survival import survival_at
from ctxrisk.maps import indicators as ind
from ctxrisk.maps.language import assert_appropriate, find_terms
from ctxrisk.maps.report import build_report
from ctxrisk.maps.report_cells import Cells, Page
from ctxrisk.maps.report_missing import (
    MEASURE_COUNTS,
    measure_cells,
    measure_rows,
    missing_measures,
    next_episode_cells,
    next_episode_figures,
)
from ctxrisk.maps.report_suppression import protect
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

FIXED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
Q2 = ind.Period(date(2026, 4, 1), date(2026, 7, 1), "quarter")
YEAR = ind.Period(date(2025, 1, 1), date(2026, 1, 1), "year")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    settings, _ = sample_warehouse(tmp_path_factory.mktemp("report-missing"))
    con = connect(settings=settings)
    yield con, settings
    con.close()


@pytest.fixture(scope="module")
def tiny_html(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-missing")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    html = build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    con.close()
    return html


def _values(frame: pd.DataFrame) -> dict[str, float]:
    return dict(zip(frame["indicator"], frame["value"], strict=True))


def test_a_quarter_is_missing_summarys_row(sample):
    con, settings = sample
    got = _values(missing_measures(con, Q2, settings=settings))
    row = missing_summary(con, settings=settings, since="2026-04", until="2026-06").iloc[0]
    assert row["period"] == "2026 Q2"
    for k in MEASURE_COUNTS:
        assert got[k] == row[k], k
    assert got["median_hours_to_rhi"] == pytest.approx(row["median_hours_to_rhi"])


def test_a_year_adds_its_quarters_and_counts_each_child_once(sample):
    con, settings = sample
    got = _values(missing_measures(con, YEAR, settings=settings))
    rows = missing_summary(con, settings=settings, since="2025", until="2025")
    assert len(rows) == 4
    assert got["episodes"] == rows["episodes"].sum() and got["rhi_completed"] == rows["rhi_completed"].sum()
    # children: distinct over the year (fewer than the quarters' sum), as missing children lists them
    children = missing_children(con, settings=settings, since="2025", until="2025").frame
    assert got["children"] == len(children) < rows["children"].sum()
    assert min(rows["median_hours_to_rhi"]) <= got["median_hours_to_rhi"] <= max(rows["median_hours_to_rhi"])


def test_next_episode_shares_are_the_kaplan_meier_curves(sample):
    con, settings = sample
    figures = next_episode_figures(con, YEAR, settings=settings)
    curves = survival_at(con, settings=settings, days=(30, 90), since="2025", until="2025")
    merged = figures.merge(curves, on=["looked_after", "day"])
    assert len(merged) == len(figures) >= 4
    assert np.allclose(merged["next_pct"], 100.0 - merged["no_new_episode_pct"])
    assert (merged["returns_x"] == merged["returns_y"]).all()


def _page(measures: dict[str, dict[str, float]]) -> tuple[Page, dict]:
    cells = Cells()
    medians = {}
    for window, v in measures.items():
        frame = pd.DataFrame({"indicator": list(v), "value": list(v.values())})
        medians[window] = measure_cells(cells, window, frame)
    protected = protect(cells.values, relations=cells.relations, hidden=cells.hidden, threshold=5)
    return Page(protected, cells), medians


def _numbers(text: str) -> list[int]:
    text = re.sub(r"\d+(?:\.\d+)?%|\d+ (?:or more|hours|days|percentage points)", " ", htmllib.unescape(text))
    return [int(n.replace(",", "")) for n in re.findall(r"(?<![<\w])\d[\d,]*", text)]


def test_planted_small_measures_cannot_be_read():
    settings = load_settings(None)
    # P: 2 children missing repeatedly, 3 episodes from care, 2 offered in time of 40 returns (38 not),
    # 37 completed (3 not: the share would reveal it), a median over 4 interviews in B, 1 found away.
    plant = {
        "P": dict(episodes=40, children=30, children_missing_repeatedly=2, episodes_from_care=3, rhi_recorded=40,
                  rhi_offered_in_time=2, rhi_completed=37, found_located=20, found_away=1, median_hours_to_rhi=50.0),
        "B": dict(episodes=20, children=12, children_missing_repeatedly=6, episodes_from_care=10, rhi_recorded=20,
                  rhi_offered_in_time=10, rhi_completed=4, found_located=0, found_away=0, median_hours_to_rhi=7.0),
    }  # fmt: skip
    page, medians = _page(plant)
    rows = measure_rows(page, settings, medians)
    text = {r[0][0]: [c for c, _ in r[1:]] for r in rows}
    assert text["Children missing repeatedly (3 or more episodes within 30 days)"][:2] == ["6", "<5"]
    assert text["Episodes missing from care (the child looked after)"][:2] == ["10", "<5"]
    offered = text["Return home interview offered within 72 hours"]
    assert offered[0] == "50% (10 of 20 returns)" and offered[1].startswith("not shown: small numbers")
    # 37 of 40 completed: 93% would reveal the 3 not completed
    assert text["Return home interview completed"][1].startswith("not shown: small numbers")
    assert text["Median time from return to a completed interview"] == [
        "not shown: small numbers",  # 4 interviews behind it
        "50 hours",
        "",
    ]
    assert text["Found outside the area"][1].startswith("not shown")
    shown = [n for r in rows for c, _ in r[1:] for n in _numbers(c)]
    assert shown and min(shown) >= 5, shown


def _figures(rows: list[tuple]) -> pd.DataFrame:
    columns = ["looked_after", "day", "returns", "children", "next_pct", "at_risk_children", "events"]
    return pd.DataFrame(rows, columns=[*columns, "event_children"])


def test_no_single_episode_moves_a_published_next_episode_share():
    figures = _figures(
        [
            # 30 days: 6 episodes of 6 children; 90: only 2 more -> withheld, else 90 - 30 shows 2 episodes
            ("looked after", 30, 40, 30, 15.0, 20, 6, 6),
            ("looked after", 90, 40, 30, 20.0, 12, 8, 8),
            # 30 days: 4 episodes -> withheld; 90 days: 9 episodes of 7 children since day 0 -> shown
            ("not looked after", 30, 60, 50, 7.0, 40, 4, 4),
            ("not looked after", 90, 60, 50, 16.0, 30, 9, 7),
            # 3 returns: "<5" and nothing else
            ("unknown", 30, 3, 3, 33.3, 2, 1, 1),
            ("unknown", 90, 3, 3, 66.7, 1, 2, 2),
        ]
    )
    rows = {r[0][0]: [c for c, _ in r[1:]] for r in next_episode_cells(figures, 5)}
    assert rows == {
        "Looked after": ["40", "15%", "not shown: small numbers"],
        "Not looked after": ["60", "not shown: small numbers", "16%"],
        "Unknown": ["<5", "not shown: small numbers", "not shown: small numbers"],
    }
    # fewer than 5 children still followed on the day withholds the share whatever the events
    few = _figures([("looked after", 30, 40, 30, 80.0, 4, 30, 25)])
    assert next_episode_cells(few, 5)[0][2] == ("not shown: small numbers", "sup")
    # five episodes of one child are one child's pattern: withheld
    one = _figures([("looked after", 30, 40, 30, 12.0, 30, 5, 1)])
    assert next_episode_cells(one, 5)[0][2] == ("not shown: small numbers", "sup")


def _section(html: str) -> str:
    m = re.search(r"<h3>Missing from home or care.*?</section>", html, re.S)
    assert m, "the report has the measures block"
    return m.group(0)


def _row(html: str, label: str) -> list[str]:
    m = re.search(r"<tr><th scope=\"row\"[^>]*>" + re.escape(label) + r"</th>(.*?)</tr>", html)
    assert m, label
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1))]


def test_tiny_report_shows_the_measures_suppressed(tiny_html):
    block = _section(tiny_html)
    # a and b went missing 3 times within 30 days in 2026 Q3: 2 children, never readable
    assert _row(block, "Children missing repeatedly (3 or more episodes within 30 days)")[1] == "&lt;5"
    assert _row(block, "Children with an episode") == ["7", "6", "no clear change"]
    assert "Kaplan-Meier" in block and "never a curve" in block
    assert "<svg" not in block  # no step curve, only shares at fixed days
    numbers = [n for t in re.findall(r"<td[^>]*>(.*?)</td>", block) for n in _numbers(re.sub(r"<[^>]+>", "", t))]
    assert numbers and min(numbers) >= 5


def test_new_wording_is_scanned(tiny_html):
    block = htmllib.unescape(re.sub(r"<[^>]+>", " ", _section(tiny_html)))
    assert "missing from care" in block.lower()
    assert find_terms(block) == []
    with pytest.raises(ValidationError, match="abscond"):
        assert_appropriate(block.replace("missing from care", "absconded from care"), where="report")


def test_the_measures_cannot_unlock_the_counts_table():
    """12 episodes = 10 missing + 2 away: the counts table withholds one of 12 and 10; the measures' 12 is the
    same figure and must not give it back."""
    cells = Cells()
    cells.add(("mis", "P", "episodes_missing"), 10)
    cells.add(("mis", "P", "episodes_away"), 2)
    cells.total(("mis", "P", "episodes"), [("mis", "P", "episodes_missing"), ("mis", "P", "episodes_away")])
    # a second relation makes the counts table withhold the 12 (the smallest cell next to a small 2), not the 10
    cells.add(("mis", "P", "other"), 2)
    cells.total(("mis", "P", "all"), [("mis", "P", "episodes"), ("mis", "P", "other")])
    cells.add(("mis", "P", "children"), 12)
    measures = {  # nothing small in the measures themselves but the found-at places (0 and 0)
        **dict.fromkeys(["children_missing_repeatedly", "rhi_offered_in_time", "rhi_completed"], 5),
        **dict(episodes=12, children=12, episodes_from_care=6, rhi_recorded=10, found_located=0, found_away=0),
        "median_hours_to_rhi": 9.0,
    }
    frame = pd.DataFrame({"indicator": list(measures), "value": list(measures.values())})
    measure_cells(cells, "P", frame)
    page = Page(protect(cells.values, relations=cells.relations, hidden=cells.hidden, threshold=5), cells)
    published = {k: page.n(("mis", "P", k)) for k in ("episodes", "episodes_missing", "m_episodes")}
    assert page.text(("mis", "P", "episodes_away")) == "<5" and published["episodes"] is None
    # 12 - 10 would give the 2 away: the measures' 12 and the 10 are never both published
    assert published["m_episodes"] is None or published["episodes_missing"] is None, published
    # a measure that differs (two episodes recorded by both sources) is tied through a hidden difference
    cells = Cells()
    cells.add(("mis", "P", "episodes"), 14)
    measure_cells(cells, "P", frame)
    assert (("mis", "P", "episodes"), (("mis", "P", "m_episodes"), ("mis_tie", ("mis", "P", "m_episodes"),
            ("mis", "P", "episodes")))) in cells.relations  # fmt: skip
