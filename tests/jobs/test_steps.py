"""Tests for ctxrisk.jobs.analytics_steps: the analytics steps of `ctxrisk run` on the committed sample."""

import pytest
from support.hotspot_fixtures import sample_warehouse

from ctxrisk.jobs import analytics_steps as steps
from ctxrisk.jobs.run import StepContext, builtin_steps
from ctxrisk.pipelines.warehouse import connect, transaction


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    settings, _ = sample_warehouse(tmp_path_factory.mktemp("steps"))
    con = connect(settings=settings)
    yield StepContext(con, settings, "test-run")
    con.close()


def marts(con):
    return {
        r[0]
        for r in con.execute("select table_name from information_schema.tables where table_schema = 'marts'").fetchall()
    }


def test_steps_are_registered_in_order():
    registered = builtin_steps()
    names = [s.name for s in registered]
    order = [steps.GRAPH, steps.HOTSPOTS, steps.EMERGING, steps.LOCATIONS]
    assert [n for n in names if n in order] == order
    # the graph may run beside the others (it reads only ingested tables); they run one after another
    assert [s.name for s in registered if s.concurrent] == [steps.GRAPH]


def test_each_step_writes_its_marts_in_one_transaction(ctx):
    for func, expected in (
        (steps.hotspots_step, {"hotspots", "hotspot_periods", "hotspot_themes"}),
        (steps.emerging_step, {"emerging_hotspots", "emerging_bins"}),
        (steps.locations_step, {"locations_of_concern", "location_profiles"}),
        (
            steps.graph_step,
            {
                "graph_adults_of_concern",
                "graph_groups",
                "graph_group_members",
                "graph_centrality",
                "graph_at_risk_children",
            },
        ),
    ):
        with transaction(ctx.con):
            out = func(ctx)
        assert out.rows and out.rows > 0, func.__name__
        assert expected <= marts(ctx.con), func.__name__
    hot = ctx.con.execute("select count(*) from marts.hotspots where bin > 0").fetchone()[0]
    assert hot > 0
    ranked = ctx.con.execute("select count(*) from marts.locations_of_concern").fetchone()[0]
    assert ranked >= 8  # the sample plants eight places


def test_a_failing_step_leaves_no_partial_mart(ctx, monkeypatch):
    import ctxrisk.analytics.hotspots

    before = ctx.con.execute("select count(*) from marts.hotspots").fetchone()[0]

    def broken(*args, **kwargs):
        ctx.con.execute("create or replace table marts.hotspots as select 1 as x")
        raise RuntimeError("step failed half way")

    monkeypatch.setattr(ctxrisk.analytics.hotspots, "run_hotspots", broken)
    with pytest.raises(RuntimeError), transaction(ctx.con):
        steps.hotspots_step(ctx)
    assert ctx.con.execute("select count(*) from marts.hotspots").fetchone()[0] == before


def test_report_step_writes_an_audited_owner_only_report(ctx, tmp_path):
    import os
    import stat
    from dataclasses import replace

    from ctxrisk.jobs.map_steps import REPORT_OUTPUT, report_step
    from ctxrisk.maps.language import find_terms

    out_settings = replace(ctx.settings, paths=replace(ctx.settings.paths, output_dir=tmp_path / "out"))
    step_ctx = StepContext(ctx.con, out_settings, "test-run")
    with transaction(ctx.con):
        output = report_step(step_ctx)
    path = tmp_path / "out" / REPORT_OUTPUT
    html = path.read_text(encoding="utf-8")
    assert "outcome report" in html and output.detail.startswith("period ")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert find_terms(html) == []
    audited = ctx.con.execute("select action, edition from meta.audit where target = ?", [str(path)]).fetchall()
    assert audited == [("report", "steering")]


def test_locations_rank_the_hot_spots_in_the_mart(ctx):
    with transaction(ctx.con):
        steps.hotspots_step(ctx)
    assert not hasattr(steps, "_KEPT_HOTSPOTS")  # nothing is handed between steps outside the marts
    periods = ctx.con.execute("select count(distinct period) from marts.hotspot_periods").fetchone()[0]
    assert periods >= 4  # every calendar quarter, for the steering map's selector
    # and each configured theme on the same cells, whole run and quarters, for the map's theme filter
    themes = ctx.con.execute(
        "select t.theme, t.period, t.unit_type = h.unit_type from marts.hotspot_themes t "
        "join (select distinct unit_type from marts.hotspots) h on true where t.hot"
    ).df()
    assert {"cse", "county_lines"} <= set(themes.loc[themes["period"] == "all", "theme"])
    assert themes.iloc[:, 2].all() and themes["period"].nunique() > periods / 2
    with transaction(ctx.con):
        steps.locations_step(ctx)
    hot_run = ctx.con.execute("select distinct run_id from marts.hotspots").fetchall()
    used = ctx.con.execute("select distinct hotspot_run_id from marts.locations_of_concern").fetchall()
    assert used == hot_run  # ranked on the hot spots the steering group sees
    unit = ctx.con.execute("select unit from meta.hotspot_runs where run_id = ?", [hot_run[0][0]]).fetchone()[0]
    assert unit.startswith("h3:")  # chosen from the data ([hotspots] unit = "auto")


def test_per_theme_hot_spots_always_run_below_a_safety_limit(ctx):
    with transaction(ctx.con):
        steps.hotspots_step(ctx)
    computed = ctx.con.execute("select count(distinct theme) from marts.hotspot_themes").fetchone()[0]
    assert computed > 0
    # each theme and period is tested on the exact permutation null (no simulation to pay for at any size)
    runs = ctx.con.execute(
        "select distinct inference, permutations from meta.hotspot_runs where analysis = 'theme'"
    ).fetchall()
    assert runs == [("total (exact)", 0)]
    # the default limit is far above a region of the 1M-incident benchmark (87,607 h3:10 cells)
    assert ctx.settings.hotspots.theme_max_units >= 10 * 87_607
    import dataclasses

    small = dataclasses.replace(ctx.settings, hotspots=dataclasses.replace(ctx.settings.hotspots, theme_max_units=10))
    with transaction(ctx.con):
        out = steps.hotspots_step(StepContext(ctx.con, small, "test-run"))
    assert "per-theme hot spots not computed" in out.detail and "theme_max_units = 10" in out.detail
    assert ctx.con.execute("select count(*) from marts.hotspot_themes").fetchone()[0] == 0


def test_hot_spot_step_counts_cells_below_alpha_apart_from_the_maps_classes(ctx):
    with transaction(ctx.con):
        out = steps.hotspots_step(ctx)
    q_hot, binned = ctx.con.execute(
        "select count(*) filter (where q < 0.05 and z > 0), count(*) filter (where bin > 0) from marts.hotspots"
    ).fetchone()
    assert f": {q_hot:,} hot, " in out.detail and "(q < 0.05; " in out.detail
    assert f"{binned:,} hot and " in out.detail and "at 90% or more, as the map draws them" in out.detail
