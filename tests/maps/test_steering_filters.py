"""The steering map's theme filter and period choice change every layer they can (issue 21, item 7).

Checked in Chromium as a steering group member uses them: choosing a theme switches the hot spot cells to
that theme's own Gi* cells, choosing a period renumbers and fades the places by their events in it, and
ticking every theme again (or going back to the first period) restores the page. Also: no count under 5 can
be read from the new marks (a planted small count leaves the page byte for byte the same).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
import shapely
from support import steering_fixtures as F
from support.browser import axe_violations, open_page, require_chromium

from ctxrisk.maps.selfcontained import render_self_contained, write_html
from ctxrisk.maps.steering import EMERGING_WHOLE_RUN, GI_BINS, build_steering_map
from ctxrisk.maps.steering_periods import place_states
from ctxrisk.pipelines.errors import ValidationError

DAY = date(2026, 12, 5)
LABELS = ["2026 Q3", "2026 Q2"]
HOT99, HOT95, COLD90 = GI_BINS[3][1], GI_BINS[2][1], GI_BINS[-1][1]


def _cells(indices: list[int], bin_: int, count: int = 9):
    hot = F.hotspots()
    part = hot.iloc[indices].assign(bin=bin_, count=count)
    return part[["unit_id", "count", "z", "bin", "geometry"]]


def _themes(count: int = 9) -> list:
    return [
        ("2026 Q3", "cse", _cells([0, 1], 2, count)),  # two 95% hot cells
        ("2026 Q3", "county_lines", _cells([4, 5, 6], -1, count)),  # three 90% cold cells
        ("2026 Q2", "cse", _cells([2, 3, 7, 9], 2, count)),  # four 95% hot cells
    ]


def _counts(v: int = 3) -> dict:
    first, second, third = F.locations()["unit_id"]
    return {"2026 Q3": {first: 12, second: v, third: 7}, "2026 Q2": {first: v, second: 20, third: 6}}


def _html(*, theme_count: int = 9, v: int = 3, **overrides) -> str:
    hot = F.hotspots()
    later = hot.assign(bin=[3 if i == 4 else 0 for i in range(len(hot))])  # one 99% cell in Q3
    kwargs = {
        "boundaries": F.boundaries(),
        "hotspots": later,
        "emerging": F.emerging(),
        "locations": F.locations(),
        "periods": LABELS,
        "period_hotspots": [("2026 Q3", later), ("2026 Q2", hot)],
        "settings": F.settings(),
        "generated": DAY,
        "theme_hotspots": _themes(theme_count),
        "place_counts": _counts(v),
    }
    kwargs.update(overrides)
    fmap = build_steering_map(**kwargs)
    return render_self_contained(fmap, title=fmap.ctxrisk_title)


@pytest.fixture(scope="module")
def filters_page(tmp_path_factory):
    require_chromium()
    path = tmp_path_factory.mktemp("filters") / "filters.html"
    write_html(_html(), path)
    return open_page(path)


def _fills(page) -> dict[str, int]:
    """Outlines drawn per Gi* colour: each ring (``M`` of a path) is one cell or one run of adjacent cells."""
    paths = page.eval_on_selector_all(
        "path.leaflet-interactive", "els => els.map(e => [e.getAttribute('fill'), e.getAttribute('d') || ''])"
    )
    out: dict[str, int] = {}
    for fill, d in paths:
        if fill in (HOT99, HOT95, COLD90):
            out[fill] = out.get(fill, 0) + d.count("M")
    return out


def _rings(indices: list[int]) -> int:
    """Outlines of these cells once adjacent ones are merged (a theme's cells are drawn merged)."""
    union = shapely.union_all([F.cell_polygon(F.CELLS[i]) for i in indices], grid_size=1e-6)
    return len(getattr(union, "geoms", [union]))


def _tick(page, *, only: set[str] | None) -> None:
    """Tick only the themes whose label is in ``only`` (None: tick every theme)."""
    for label in page.locator(".ctxrisk-filter label").all():
        box = label.locator("input")
        if only is None or label.inner_text().strip() in only:
            box.check()
        else:
            box.uncheck()


def _slide(page, i: int) -> None:
    page.eval_on_selector(
        "#ctxrisk-period-slider", f"e => {{ e.value = {i}; e.dispatchEvent(new Event('input', {{bubbles: true}})); }}"
    )


def _badges(page) -> list[tuple[str, bool]]:
    return page.eval_on_selector_all(
        ".ctxrisk-badge",
        "els => els.map(e => [e.querySelector('.ctxrisk-rank').textContent, e.classList.contains('ctxrisk-quiet')])",
    )


def _checked_period(page) -> list[str]:
    return page.eval_on_selector_all(
        ".leaflet-control-layers-base input:checked", "els => els.map(e => e.parentElement.textContent.trim())"
    )


@pytest.mark.browser
def test_the_period_stays_checked_while_themes_are_chosen(filters_page):
    page = filters_page.page
    _tick(page, only=None)
    _slide(page, 1)
    shown = _checked_period(page)
    assert len(shown) == 1 and "Q2" in shown[0]
    _tick(page, only={"Child sexual exploitation"})  # the overall layer leaves the map; its radio stays checked
    assert _checked_period(page) == shown and _fills(page) == {HOT95: _rings([2, 3, 7, 9])}
    # another layer switched in the control neither brings the overall cells back nor unchecks the period
    page.locator(".leaflet-control-layers-overlays label", has_text="Places of concern").locator("input").uncheck()
    assert _checked_period(page) == shown and _fills(page) == {HOT95: _rings([2, 3, 7, 9])}
    page.locator(".leaflet-control-layers-overlays label", has_text="Places of concern").locator("input").check()
    # choosing the other period by its radio shows that period's own theme cells
    page.locator(".leaflet-control-layers-base input").first.check()
    assert "Q3" in _checked_period(page)[0] and _fills(page) == {HOT95: _rings([0, 1])}
    _tick(page, only=None)
    _slide(page, 0)


@pytest.mark.browser
def test_choosing_a_theme_switches_the_hot_spot_cells_to_that_themes(filters_page):
    page = filters_page.page
    assert filters_page.console_errors == []
    overall = _fills(page)
    assert overall.get(HOT99) == 1 and HOT95 not in overall  # the overall Q3 run: one 99% cell
    _tick(page, only={"Child sexual exploitation"})
    assert _fills(page) == {HOT95: _rings([0, 1])}  # CSE's own Q3 cells, and nothing of the overall run
    _tick(page, only={"Child sexual exploitation", "County lines"})
    assert _fills(page) == {HOT95: _rings([0, 1]), COLD90: _rings([4, 5, 6])}
    _slide(page, 1)  # the period follows: CSE's Q2 cells (county lines had none in Q2)
    assert _fills(page) == {HOT95: _rings([2, 3, 7, 9])}
    assert _rings([2, 3, 7, 9]) != _rings([0, 1])  # so the switch to Q2's cells is seen
    # and the page says why county lines shows nothing, rather than look broken
    status = page.inner_text(".ctxrisk-theme-status")
    assert status == "Hot spots: each ticked theme's own. County lines: no hot or cold spot of its own in 2026 Q2."
    tooltip = page.locator("path.leaflet-interactive[fill='" + HOT95 + "']").first
    tooltip.hover()
    text = page.inner_text(".leaflet-tooltip")
    assert "Child sexual exploitation" in text and "Events" not in text  # a theme's cell carries no count
    _tick(page, only=None)  # reset: every theme ticked shows the overall Q2 run again
    assert _fills(page) == _overall_q2()
    assert page.inner_text(".ctxrisk-theme-status") == "Hot spots: every theme together."
    _slide(page, 0)
    assert _fills(page) == overall
    assert axe_violations(page) == []


def _overall_q2() -> dict[str, int]:
    bins = F.hotspots()["bin"].tolist()
    cells = {b: [i for i, v in enumerate(bins) if v == b] for b in (3, 2, -1)}
    return {colour: _rings(cells[b]) for b, colour in ((3, HOT99), (2, HOT95), (-1, COLD90)) if cells[b]}


@pytest.mark.browser
def test_choosing_a_period_renumbers_and_fades_the_places_and_reset_restores(filters_page):
    page = filters_page.page
    _tick(page, only=None)
    _slide(page, 0)
    # 2026 Q3: place 1 has 12 events, place 3 has 7, place 2 fewer than 5 (faded, unnumbered)
    assert _badges(page) == [["1", False], ["\u2013", True], ["2", False]]
    spoken = page.eval_on_selector_all(".ctxrisk-badge .ctxrisk-sr", "els => els.map(e => e.textContent)")
    assert spoken[0].endswith("In 2026 Q3: 1st of the places by events (12 events); not a hot spot.")
    assert spoken[1].endswith("In 2026 Q3: fewer than 5 events; not a hot spot.")
    _slide(page, 1)
    assert _badges(page) == [["\u2013", True], ["1", False], ["2", False]]
    assert page.inner_text(".ctxrisk-period-label") == "2026 Q2"
    assert page.inner_text(".ctxrisk-period-note") == EMERGING_WHOLE_RUN
    _slide(page, 0)  # back to the first period: the page is as it opened
    assert _badges(page) == [["1", False], ["\u2013", True], ["2", False]]
    spoken_again = page.eval_on_selector_all(".ctxrisk-badge .ctxrisk-sr", "els => els.map(e => e.textContent)")
    assert spoken_again == spoken


def _planted(v: int) -> str:
    """Every new count the page could show is ``v``: each theme cell's, and two places' in each period."""
    first, second, third = F.locations()["unit_id"]
    counts = {"2026 Q3": {first: 12, second: v, third: v}, "2026 Q2": {first: v, second: 20, third: v}}
    html = _html(theme_count=v, place_counts=counts)
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    return re.sub(r"_[0-9a-f]{32}", "_ID", html)


def test_a_planted_count_under_five_cannot_be_read_from_the_theme_or_period_marks():
    pages = {v: _planted(v) for v in (0, 1, 2, 3, 4)}
    assert len(set(pages.values())) == 1
    assert _planted(5) != pages[4]  # and the check can fail: 5 events are stated


def test_place_states_rank_only_places_of_at_least_the_threshold():
    states = place_states(
        ["a", "b", "c", "d"],
        [1, 2, 3, 4],
        ["Q1", "Q2"],
        [[True, False], [False, False], [True, True], [False, False]],
        {"Q1": {"a": 5, "b": 9, "c": 9, "d": 4}},
        threshold=5,
        withheld=[False, False, False, True],
    )
    q1 = [(s[0]["n"], s[0]["quiet"]) for s in states]
    assert q1 == [("3", False), ("1", False), ("2", False), ("", True)]  # ties by whole-run rank
    assert states[3][0]["text"] == "In Q1: events withheld; not a hot spot."
    # Q2 has no counts: whole-run numbers, faded where not a hot spot
    assert [(s[1]["n"], s[1]["quiet"]) for s in states] == [("1", True), ("2", True), ("3", False), ("4", True)]


def test_theme_cells_must_name_a_period_of_the_selector():
    with pytest.raises(ValidationError, match="not one of the selector's"):
        _html(theme_hotspots=[("2025 Q1", "cse", _cells([0], 2))])
    with pytest.raises(ValidationError, match="bin must be an integer"):
        _html(theme_hotspots=[("2026 Q3", "cse", _cells([0], 7))])


def _assert_tooltips_follow_badges(page) -> None:
    """Each tooltip numbers its place as the badge does (it kept the whole-run rank before)."""
    pairs = page.evaluate(
        """() => { const m = Object.values(window).filter(v => v instanceof L.Marker && v.getTooltip()
            && v.getElement() && v.getElement().querySelector('.ctxrisk-rank'));
            return m.map(v => { const d = document.createElement('div'); const c = v.getTooltip().getContent();
                if (typeof c === 'string') { d.innerHTML = c; } else { d.appendChild(c.cloneNode(true)); }
                return [v.getElement().querySelector('.ctxrisk-rank').textContent, d.textContent.trim(),
                        v.getElement().title]; }); }"""
    )
    assert len(pairs) == 3
    assert all(
        re.fullmatch(rf"{n}\. Leeds 111[A-D]", tip)
        and title == f"Place {n}: {tip[len(n) + 2 :]}"
        or (n == "\u2013" and tip.startswith("Leeds") and title == tip)
        for n, tip, title in pairs
    )


@pytest.mark.browser
def test_tooltips_number_the_places_as_their_badges_do(filters_page):
    """In 2026 Q3 the third place is 2nd by events and the second has fewer than 5: tooltips follow."""
    page = filters_page.page
    for i in (0, 1, 0):
        _slide(page, i)
        _assert_tooltips_follow_badges(page)
    assert sorted(n for n, _q in _badges(page)) == ["1", "2", "\u2013"]
    # the printed list of places follows the period's numbers and the theme filter
    listed = "() => document.querySelector('.ctxrisk-print-places').textContent"
    assert page.evaluate(listed) == "Places of concern: 1. Leeds 111A; 2. Leeds 111B; \u2013 Leeds 111D."
    _tick(page, only={"Child criminal exploitation", "Missing children"})
    assert page.evaluate(listed) == "Places of concern: \u2013 Leeds 111D."
    _tick(page, only=None)
