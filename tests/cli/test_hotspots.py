"""Tests for ``ctxrisk hotspots`` (Gi*, points, emerging, backtest) and ``ctxrisk locations`` output formats."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from support.hotspot_fixtures import sample_warehouse, truth
from typer.testing import CliRunner

from ctxrisk.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    _, path = sample_warehouse(tmp_path_factory.mktemp("cli"))
    return str(path)


def _run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_csv_has_the_contract_columns_and_every_unit(wh):
    r = _run("hotspots", "--warehouse", wh, "--unit", "h3:9", "--format", "csv", "--seed", "7")
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert {"unit_id", "count", "z", "p", "q", "bin"} <= set(frame.columns)
    assert len(frame) == 4797 and frame["count"].sum() == 5000
    sites = [s["h3_res9"] for s in truth()["locations_of_concern"]]
    assert (frame.set_index("unit_id").loc[sites, "q"] < 0.05).all()
    assert "5,000 events selected" in r.stderr and "235 hot" in r.stderr  # seed 7: all sites still flagged


def test_table_says_what_time_of_day_left_out(wh):
    r = _run("hotspots", "--warehouse", wh, "--hours", "18-23", "--theme", "cse,cce", "--no-mart")
    assert r.exit_code == 0, r.output
    assert "no time of day (date or month only)" in r.stdout
    assert "Gi* hot and cold spots, h3:9, kring k=2" in r.stdout


def test_geojson_and_json(wh):
    r = _run(
        "hotspots",
        "--warehouse",
        wh,
        "--format",
        "geojson",
        "--permutations",
        "0",
        "--no-mart",
        "--since",
        "2025-01",
        "--until",
        "2025-01",
    )
    assert r.exit_code == 0, r.output
    gj = json.loads(r.stdout)
    assert gj["type"] == "FeatureCollection" and 100 < len(gj["features"]) < 4797
    feat = gj["features"][0]
    assert feat["geometry"]["type"] == "Polygon" and {"unit_id", "z", "q", "bin"} <= set(feat["properties"])
    assert "parameters" not in feat["properties"]
    r = _run(
        "hotspots",
        "--warehouse",
        wh,
        "--unit",
        "points",
        "--format",
        "json",
        "--min-cluster-size",
        "20",
        "--since",
        "2025-01",
        "--until",
        "2025-03",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert rows and {"unit_id", "count", "z", "p", "q", "bin", "noise_events"} <= set(rows[0])


def test_locations_top_n(wh):
    r = _run("locations", "--warehouse", wh, "--top", "8", "--format", "csv")
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert len(frame) == 8 and set(frame["unit_id"]) == {s["h3_res9"] for s in truth()["locations_of_concern"]}
    assert "score_hotspot" in frame.columns and "213 unlocated" in r.stderr
    r = _run("locations", "--warehouse", wh, "--top", "3", "--format", "geojson", "--no-mart")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["features"]) == 3


def test_emerging_and_backtest(wh):
    r = _run(
        "hotspots",
        "emerging",
        "--warehouse",
        wh,
        "--time-bin",
        "month",
        "--inference",
        "analytic",
        "--format",
        "json",
        "--since",
        "2025-01",
        "--until",
        "2025-06",
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert len(rows) > 100 and {"category", "n_hot", "trend"} <= set(rows[0])
    r = _run("hotspots", "backtest", "--warehouse", wh, "--train", "2025-01..2025-06", "--test", "2025-07..2025-12")
    assert r.exit_code == 0, r.output
    assert "pai" in r.stdout and "1,207 events selected" in r.stdout


def test_bad_options(wh):
    r = _run("hotspots", "--warehouse", wh, "--format", "xml")
    assert r.exit_code == 2 and "--format must be one of" in r.stderr
    r = _run("hotspots", "--warehouse", wh, "--unit", "lsoa11")
    assert r.exit_code == 1 and "not a loaded boundary level" in r.stderr
    r = _run("hotspots", "--warehouse", wh, "--theme", "nonsense")
    assert r.exit_code == 1 and "unknown theme" in r.stderr
