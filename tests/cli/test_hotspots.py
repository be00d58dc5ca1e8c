"""Tests for ``ctxrisk hotspots`` (Gi*, points, emerging, backtest) and ``ctxrisk locations`` output formats."""

from __future__ import annotations

import io
import json
import re

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
    assert len(frame) > 1500 and 4900 < frame["count"].sum() <= 5000  # isolated points left out of the region
    sites = [s["h3_res9"] for s in truth()["locations_of_concern"]]
    assert (frame.set_index("unit_id").loc[sites, "q"] < 0.05).all()
    assert "59 outside the study region" in r.stderr and re.search(
        r"hot and [0-9] cold units", r.stderr
    )  # cold: empty cells in a busy town
    assert "10 separate groups analysed apart; hot units per group" in r.stderr  # the sample's ten towns
    assert "Study region: H3 res 9 cells of the area the events cover" in r.stderr and "unit set: h3:9" in r.stderr


def test_table_says_what_time_of_day_left_out(wh):
    r = _run("hotspots", "--warehouse", wh, "--hours", "18-23", "--theme", "cse,cce", "--no-mart")
    assert r.exit_code == 0, r.output
    assert "no time of day (date or month only)" in r.stdout
    assert "Gi* hot and cold spots, h3:" in r.stdout and "kring k=2, total" in r.stdout


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
    r = _run("locations", "--warehouse", wh, "--unit", "h3:9", "--top", "8", "--format", "csv")
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
    r = _run(
        "hotspots", "backtest", "--warehouse", wh, "--unit", "h3:9", "--train", "2025-01..2025-06", "--test", "2025-07"
    )
    assert r.exit_code == 0, r.output
    for method in ("naive top-k", "kde", "gi* flagged", "locations"):
        assert method in r.stdout
    assert "Best forecast at equal area" in r.stdout and "Study region:" in r.stdout
    r = _run("hotspots", "backtest", "--warehouse", wh, "--unit", "h3:9", "--format", "csv", "--no-mart")
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert r.exit_code == 0 and frame["fold"].nunique() > 5  # rolling origin: 6 months train, 1 test
    assert (frame.groupby("fold")["n_selected"].nunique() == 1).all()  # equal area within each fold


def test_bad_options(wh):
    r = _run("hotspots", "--warehouse", wh, "--format", "xml")
    assert r.exit_code == 2 and "--format must be one of" in r.stderr
    r = _run("hotspots", "--warehouse", wh, "--unit", "lsoa11")
    assert r.exit_code == 1 and "not a loaded boundary level" in r.stderr
    r = _run("hotspots", "--warehouse", wh, "--theme", "nonsense")
    assert r.exit_code == 1 and "unknown theme" in r.stderr


def test_no_location_of_concern_is_a_sentence_not_a_traceback(tmp_path):
    """Evenly spread incidents: nothing is flagged, and `locations` says so with an empty table, exit 0."""
    from support.hotspot_fixtures import write_csv

    wh = str(tmp_path / "even.duckdb")
    assert _run("init", "--warehouse", wh).exit_code == 0
    rows = []
    for i in range(12):
        for j in range(12):  # a 12 x 12 lattice about 250 m apart, one or two incidents on each point
            lat, lon = 53.10 + i * 0.00225, -2.44 + j * 0.00375
            rows += [
                f"E{i}-{j}-{n},2025-03-01T12:00:00,{lat:.6f},{lon:.6f},Drug supply,police"
                for n in range(1 + (i + j) % 2)
            ]
    path = write_csv(tmp_path / "incidents.csv", "incident_id,occurred_at,latitude,longitude,category,source", rows)
    assert _run("ingest", "incidents", str(path), "--warehouse", wh).exit_code == 0
    r = _run("locations", "--warehouse", wh, "--top", "10")
    assert r.exit_code == 0, r.output
    assert "No location of concern: no unit is a Gi* hot spot at FDR q < 0.05" in r.stdout
    assert "Traceback" not in r.output
    r = _run("locations", "--warehouse", wh, "--top", "10", "--format", "csv", "--no-mart")
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert frame.empty and {"rank", "latitude", "longitude"} <= set(frame.columns)
    assert "No location of concern" in r.stderr
