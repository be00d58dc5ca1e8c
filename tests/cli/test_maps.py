"""Tests for ctxrisk.cli.maps: ``ctxrisk map steering`` on a sample warehouse, scanned and opened in Chromium."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from support.browser import open_page, require_chromium
from typer.testing import CliRunner

from ctxrisk.cli.maps import app
from ctxrisk.maps.disclosure import scan_for_leaks
from ctxrisk.maps.language import find_terms
from ctxrisk.maps.selfcontained import external_references
from ctxrisk.pipelines.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data_samples"
KINDS = ("persons", "incidents", "involvements", "missing", "associations", "intelligence", "screenings", "referrals")

runner = CliRunner()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """The sample partnership ingested, with Gi*, emerging hot spots and places of concern computed once."""
    from ctxrisk.analytics.hotspots import run_emerging, run_hotspot_periods, run_hotspots
    from ctxrisk.analytics.locations import run_locations
    from ctxrisk.pipelines.ingest import ingest_file
    from ctxrisk.pipelines.warehouse import connect

    path = tmp_path_factory.mktemp("steering-cli") / "ctxrisk.duckdb"
    settings = load_settings(None, warehouse=path)
    con = connect(settings=settings)
    for kind in KINDS:
        result = ingest_file(con, kind, SAMPLES / f"{kind}.csv", settings=settings)
        assert result.rows_rejected == 0
    hot = run_hotspots(con, settings=settings)
    run_hotspot_periods(con, settings=settings, unit=hot.parameters["unit"])  # the map's period selector reads it
    run_emerging(con, settings=settings)
    run_locations(con, settings=settings, hotspots=hot)
    con.close()
    return path


@pytest.fixture(scope="module")
def steering_html(warehouse, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("steering-out") / "maps" / "steering.html"
    result = runner.invoke(app, ["steering", "--out", str(out), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "places of concern" in result.output
    return out


def _everything_identifying(warehouse: Path) -> tuple[set[str], list[tuple[float, float]]]:
    """Every person ID and every event coordinate held anywhere in the raw layer."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'raw'"
        ).fetchall()
        ids: set[str] = set()
        person_cols = {"person_id", "person_a", "person_b", "found_with", "persons"}
        for table, column, dtype in columns:
            if column not in person_cols:
                continue
            values = con.execute(f'select "{column}" from raw."{table}" where "{column}" is not null').fetchall()
            for (value,) in values:
                items = value if isinstance(value, list) else re.split(r"[;,]", str(value)) if "[]" not in dtype else []
                ids.update(str(v).strip() for v in items if str(v).strip())
        coords: list[tuple[float, float]] = []
        by_table: dict[str, set[str]] = {}
        for table, column, _dtype in columns:
            by_table.setdefault(table, set()).add(column)
        for table, cols in by_table.items():
            for lat in sorted(c for c in cols if c.endswith("latitude")):
                lon = lat.replace("latitude", "longitude")
                if lon in cols:
                    coords += con.execute(
                        f'select "{lat}", "{lon}" from raw."{table}" where "{lat}" is not null'
                    ).fetchall()
        coords += con.execute("select latitude, longitude from staging.events where located").fetchall()
    finally:
        con.close()
    return ids, sorted(set(coords))


def test_cli_writes_owner_only_page_and_audits_it(steering_html, warehouse):
    import duckdb

    assert stat.S_IMODE(os.stat(steering_html).st_mode) == 0o600
    size = steering_html.stat().st_size
    assert 200_000 < size < 10_000_000
    con = duckdb.connect(str(warehouse), read_only=True)
    rows = con.execute("select action, edition, target, detail from meta.audit where action = 'map'").fetchall()
    con.close()
    assert [(r[0], r[1], r[2]) for r in rows] == [("map", "steering", str(steering_html))]
    assert "3 period(s)" in rows[0][3] and f"{size:,} bytes" in rows[0][3]


def test_page_holds_no_person_id_or_event_coordinate(steering_html, warehouse):
    html = steering_html.read_text(encoding="utf-8")
    ids, coords = _everything_identifying(warehouse)
    assert len(ids) >= 2000 and len(coords) >= 5000
    assert scan_for_leaks(html, person_ids=ids, coordinates=coords) == []
    # negative control: the same scan finds a planted ID and a planted event position
    some_id = sorted(ids)[0]
    lat, lon = coords[0]
    leaky = html.replace("</body>", f"<p>{some_id}</p><script>L.marker([{lat}, {lon}]);</script></body>", 1)
    kinds = sorted({leak.kind for leak in scan_for_leaks(leaky, person_ids=ids, coordinates=coords)})
    assert kinds == ["coordinate", "person_id"]


def test_page_uses_appropriate_language_and_suppresses_small_counts(steering_html):
    html = steering_html.read_text(encoding="utf-8")
    assert find_terms(html) == []
    assert "Counts under 5 are shown as &lt;5;" in html  # escaped "<5", in the page's notes
    assert re.search(r'"events": "[0-4]"', html) is None and '"events"' not in html  # cells carry no count
    assert external_references(html) == []


def test_period_option_and_missing_marts(warehouse, tmp_path):
    out = tmp_path / "q.html"
    result = runner.invoke(app, ["steering", "--out", str(out), "--warehouse", str(warehouse), "--period", "all"])
    assert result.exit_code == 0, result.output
    assert "1 period(s) (" in result.output
    html = out.read_text(encoding="utf-8")
    assert "Hot spots: all periods (1 Oct 2024 to 30 Sep 2026)" in html
    assert "Hot spots: 2026 Q3" not in html

    empty = tmp_path / "empty.duckdb"
    result = runner.invoke(app, ["steering", "--out", str(tmp_path / "x.html"), "--warehouse", str(empty)])
    assert result.exit_code == 1 and "does not exist (nothing was created)" in " ".join(result.output.split())
    assert not empty.exists()  # a mistyped warehouse creates nothing
    from ctxrisk.pipelines.warehouse import connect

    connect(empty).close()
    result = runner.invoke(app, ["steering", "--out", str(tmp_path / "x.html"), "--warehouse", str(empty)])
    assert result.exit_code == 1
    assert "no marts.hotspots: run `ctxrisk hotspots` first" in " ".join(result.output.split())
    assert not (tmp_path / "x.html").exists()

    result = runner.invoke(app, ["steering", "--out", str(out), "--warehouse", str(warehouse), "--period", "spring"])
    assert result.exit_code == 1
    assert "not a date, month or year: 'spring'" in result.output


# ------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def steering_page(steering_html):
    require_chromium()
    return open_page(steering_html, settle_ms=500)


@pytest.mark.browser
def test_steering_page_opens_offline_with_its_layers(steering_page):
    assert steering_page.console_errors == []
    assert steering_page.requests_external == []
    assert steering_page.requests_local_failed == []
    assert steering_page.non_blank_fraction > 0.3
    page = steering_page.page
    periods = page.eval_on_selector_all(
        ".leaflet-control-layers-base label", "els => els.map(e => e.textContent.trim())"
    )
    assert periods == [
        "Hot spots: all periods (1 Oct 2024 to 30 Sep 2026)",
        "Hot spots: 2026 Q3 (1 Jul to 30 Sep 2026)",
        "Hot spots: 2026 Q2 (1 Apr to 30 Jun 2026)",
    ]
    overlays = page.eval_on_selector_all(
        ".leaflet-control-layers-overlays label", "els => els.map(e => e.textContent.trim())"
    )
    assert overlays == ["Local authority", "Boundaries: study area", "Emerging hot spots", "Places of concern"]
    legends = page.eval_on_selector_all(".ctxrisk-legend h4", "els => els.map(e => e.textContent).sort()")
    assert legends == ["Hot spots (Getis-Ord Gi*, FDR-adjusted)"]
    heading = page.inner_text("h1")
    assert heading.startswith("Contextual safeguarding: places of concern: ")
    # places are named by area, never by an H3 ID
    names = page.eval_on_selector_all(".ctxrisk-badge .ctxrisk-sr", "els => els.map(e => e.textContent)")
    assert names and not any(re.search(r"[0-9a-f]{15}", n) for n in names)


@pytest.mark.browser
def test_period_selector_switches_the_hot_spot_cells(steering_page):
    page = steering_page.page

    def hot_outlines() -> frozenset[str]:
        # each hot class is one merged outline (a path whose rings are the runs of adjacent cells)
        return frozenset(
            page.evaluate(
                """() => Array.from(document.querySelectorAll('path.leaflet-interactive'))
                       .filter(p => ['#b2182b', '#ef8a62', '#fddbc7'].includes(p.getAttribute('fill')))
                       .map(p => p.getAttribute('fill') + ' ' + (p.getAttribute('d') || ''))"""
            )
        )

    drawn = []
    for label in ("2026 Q3", "2026 Q2", "all periods"):
        page.locator(".leaflet-control-layers-base label", has_text=label).locator("input").check()
        drawn.append(hot_outlines())
    assert drawn[2] and all("M" in d for d in drawn[2])
    assert len(set(drawn)) > 1  # each period draws its own cells


@pytest.mark.browser
def test_place_popup_describes_the_place_in_words(steering_page):
    page = steering_page.page
    page.locator(".ctxrisk-badge", has_text=re.compile(r"^1")).first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert re.search(r"Ranked 1 of \d+ places of concern\.", text)
    assert re.search(r"Trend: (rising|falling|no clear change) \(Mann-Kendall test of monthly counts, p [=<] ", text)
    assert "Themes: " in text
    assert re.search(r"Busiest on|Busy at many times|Too few timed events", text)
    if "Too few" not in text:
        assert popup.locator("svg title").count() == 8  # weekdays and weekends by part of the day


def test_run_step_writes_the_steering_map_into_the_output_folder(warehouse, tmp_path):
    from ctxrisk.jobs.map_steps import STEERING_OUTPUT, register_steps, report_step, steering_map_step
    from ctxrisk.jobs.run import StepContext
    from ctxrisk.pipelines.warehouse import connect, transaction

    registered = []
    register_steps(lambda name, func, **kw: registered.append((name, func)))
    assert registered == [("steering map", steering_map_step), ("report", report_step)]

    settings = load_settings(None, warehouse=warehouse)
    settings = replace(settings, paths=replace(settings.paths, output_dir=tmp_path / "output"))
    con = connect(settings=settings)
    try:
        with transaction(con):
            out = steering_map_step(StepContext(con, settings, "run42"))
        ranked = con.execute("select count(*) from marts.locations_of_concern").fetchone()[0]
        detail = con.execute(
            "select detail from meta.audit where action = 'map' and target = ?",
            [str((tmp_path / "output" / STEERING_OUTPUT).resolve())],
        ).fetchone()[0]
    finally:
        con.close()
    page = tmp_path / "output" / "maps" / "steering.html"
    assert stat.S_IMODE(os.stat(page).st_mode) == 0o600
    top = min(20, ranked)  # [locations] top, or every place ranked when fewer
    assert out.rows == top and f"{top} places of concern" in out.detail
    assert detail.startswith("run run42: ") and "3 period(s)" in detail


def test_a_name_holding_a_url_or_markup_never_stops_the_page(warehouse, tmp_path):
    # issue 24: data text is not a resource; the page is built, escaped, and loads nothing
    import shutil

    import duckdb

    copy = tmp_path / "named.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    (wkt,) = con.execute("select any_value(geometry_wkt) from marts.hotspots").fetchone()
    name = '"><img src=x onerror=alert(1)> see https://example.org/a.png'
    con.execute(
        "insert into raw.boundaries (level, code, name, imd_decile, geometry_wkt, file_id) "
        "values ('ward', 'E05000001', ?, null, ?, 'f1')",
        [name, wkt],
    )
    con.close()
    out = tmp_path / "named.html"
    result = runner.invoke(app, ["steering", "--out", str(out), "--warehouse", str(copy), "--period", "all"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt; see https://example.org/a.png" in html  # JSON of "&lt;"
    assert "<img src=x" not in html
    assert external_references(html) == []


def test_no_cell_flagged_still_builds_a_page_that_says_so(warehouse, tmp_path):
    # issue 20 item 7: nothing significant, no pattern, no places ranked: a page with sentences, not an error
    import shutil

    import duckdb

    copy = tmp_path / "flat.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    con.execute("update marts.hotspots set bin = 0")
    con.execute("update marts.emerging_hotspots set category = 'no pattern detected'")
    con.execute("delete from marts.locations_of_concern")
    con.close()
    out = tmp_path / "flat.html"
    result = runner.invoke(app, ["steering", "--out", str(out), "--warehouse", str(copy), "--period", "all"])
    assert result.exit_code == 0, result.output
    assert "0 hot/cold spot cells" in result.output and "0 places of concern" in result.output
    html = out.read_text(encoding="utf-8")
    assert "No cell was flagged as a hot or cold spot in this period" in html
    assert "No places of concern are ranked for this edition." in html


def test_no_h3_id_on_the_steering_page(steering_html, warehouse):
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    units = {r[0] for r in con.execute("select unit_id from marts.hotspots").fetchall()}
    units |= {r[0] for r in con.execute("select unit_id from marts.locations_of_concern").fetchall()}
    con.close()
    html = steering_html.read_text(encoding="utf-8")
    assert len(units) > 100
    assert [u for u in units if u in html] == []


def test_area_option_names_the_partnership_districts(warehouse, tmp_path):
    out = tmp_path / "area.html"
    args = ["steering", "--out", str(out), "--warehouse", str(warehouse), "--period", "all"]
    result = runner.invoke(app, [*args, "--area", "E06000049,Cheshire West and Chester"])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<h1>Contextual safeguarding: places of concern: Cheshire East and Cheshire West and Chester, " in html
    result = runner.invoke(app, [*args, "--area", "Narnia"])
    assert result.exit_code == 1
    assert "no local authority district of England has the code or name 'Narnia'" in " ".join(result.output.split())
