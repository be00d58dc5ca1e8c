"""When the outcome report calls a change a change: an exact test, a minimum size, the map's trend words.

5 then 6 used to read "up 20%". A change is now "rising" or "falling" only when a test says it is unlikely to be
chance and it is not tiny; otherwise "no clear change"; a small or withheld count gives "too few to compare", so
no count under 5 can be read from a change.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from support.report_fixtures import build_tiny_warehouse

from ctxrisk.maps.report import build_report
from ctxrisk.maps.report_cells import Cells, Page, change_phrase, change_test, rate_change_phrase
from ctxrisk.maps.report_suppression import protect
from ctxrisk.maps.steering_data import trend_text
from ctxrisk.maps.wording import TREND_WORDS
from ctxrisk.pipelines.settings import load_settings
from ctxrisk.pipelines.warehouse import connect

FIXED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CHANGE = re.compile(
    r"(rising \(up (\d+)%\)|falling \(down (\d+)%\)|rising \(up from 0\)|no clear change|too few to compare"
    r"|no data to compare|(rising|falling) \((up|down) \d+ percentage points\))"
)


@pytest.fixture(scope="module")
def tiny_html(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-changes")
    settings = load_settings(None, warehouse=folder / "w.duckdb")
    con = connect(settings=settings)
    build_tiny_warehouse(con, settings, folder / "files")
    yield build_report(con, period="2026Q3", settings=settings, generated_at=FIXED)
    con.close()


def test_exact_test_of_two_counts_pins_p_values():
    assert change_test(6, 5) == 1.0
    assert change_test(0, 0) == 1.0
    assert change_test(13, 6) == pytest.approx(0.167068, abs=1e-6)
    assert change_test(340, 280) == pytest.approx(0.017741, abs=1e-6)
    # a 31-day month against a 28-day one: 340 and 280 are the same daily rate within chance
    assert change_test(340, 280, exposure=31 / 28) == pytest.approx(0.260282, abs=1e-6)
    with pytest.raises(ValueError, match="counts must be at least 0"):
        change_test(-1, 5)


def test_small_moves_are_no_clear_change():
    assert change_phrase(6, 5) == ("same", "no clear change")  # was "up 20%"
    assert change_phrase(13, 6) == ("same", "no clear change")  # was "up 117%": p = 0.17
    assert change_phrase(340, 280) == ("up", "rising (up 21%)")
    assert change_phrase(340, 280, exposure=31 / 28) == ("same", "no clear change")
    # significant but under 5% of the earlier count: not called a change
    assert change_phrase(10_400, 10_000) == ("same", "no clear change")
    assert change_test(10_400, 10_000) < 0.01


def test_rates_need_fisher_and_a_minimum_move():
    assert rate_change_phrase((30, 40), (15, 40)) == ("up", "rising (up 38 percentage points)")  # p = 0.0014
    assert rate_change_phrase((30, 40), (27, 40)) == ("same", "no clear change")
    assert rate_change_phrase((5, 6), (5, 7)) == ("same", "no clear change")
    assert rate_change_phrase(None, (27, 40)) == ("", "too few to compare")
    with pytest.raises(ValueError, match="a rate needs"):
        rate_change_phrase((5, 4), (5, 7))


def test_change_words_are_the_maps_trend_words():
    words = {
        change_phrase(340, 280)[1].split(" (")[0],
        change_phrase(280, 340)[1].split(" (")[0],
        change_phrase(6, 5)[1],
    }
    assert words == set(TREND_WORDS.values())
    for mk, word in TREND_WORDS.items():
        assert trend_text(mk).startswith(word)


@pytest.mark.parametrize("small", range(5))
def test_a_small_count_is_never_read_through_a_change(small):
    """Either count under 5 (primary suppression): the change says nothing of it, whatever the other is."""
    for other in (5, 6, 40, 1_000):
        for now, before in ((small, other), (other, small)):
            cells = Cells()
            cells.add("P", now)
            cells.add("B", before)
            protected = protect(cells.values, relations=[], hidden=set(), no_data=set(), threshold=5)
            page = Page(protected, cells)
            assert page.change("P", "B") == ("too few to compare", "")


def test_every_change_in_the_report_uses_the_shared_words(tiny_html):
    rows = re.findall(r"<tr>(.*?)</tr>", tiny_html, flags=re.S)
    changes = []
    for row in rows:
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if cells and re.search(r"compare|change|rising|falling", cells[-1]):
            changes.append(cells[-1])
    assert changes and all(CHANGE.fullmatch(c) for c in changes), changes
    assert not re.search(r"\b(?:up|down) \d+%(?! ?\))", tiny_html)  # no bare "up 20%" left
    assert "about the same" not in tiny_html
    assert "Incidents recorded: 13 in 2026 Q3 against 12 in 2026 Q2: no clear change." in tiny_html
