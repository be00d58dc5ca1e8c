"""``ctxrisk hotspots emerging`` on files with a gap in time: months with no data are not analysed as zeros."""

from __future__ import annotations

import numpy as np
from support.hotspot_fixtures import write_csv
from typer.testing import CliRunner

from ctxrisk.cli.main import app

runner = CliRunner()


def test_emerging_analyses_the_covered_months_and_says_so(tmp_path, monkeypatch):
    """One old month (2018-12) and six recent ones (2023-05..2023-10), as police.uk downloads can be."""
    monkeypatch.setenv("COLUMNS", "250")
    rng = np.random.default_rng(5)
    rows = []
    months = ["2018-12"] + [f"2023-{m:02d}" for m in range(5, 11)]
    for k, month in enumerate(months):
        for i in range(60):
            hot = i < 20  # a third of each month's incidents at one place, the rest spread over a few km
            lat = 53.1 + (rng.normal(0, 0.0004) if hot else rng.uniform(-0.02, 0.02))
            lon = -2.44 + (rng.normal(0, 0.0006) if hot else rng.uniform(-0.03, 0.03))
            rows.append(f"E{k}-{i},{month}-{1 + i % 28:02d}T12:00:00,{lat:.6f},{lon:.6f},Drug supply,police")
    path = write_csv(tmp_path / "incidents.csv", "incident_id,occurred_at,latitude,longitude,category,source", rows)
    wh = str(tmp_path / "w.duckdb")
    assert runner.invoke(app, ["init", "--warehouse", wh]).exit_code == 0
    assert runner.invoke(app, ["ingest", "incidents", str(path), "--warehouse", wh]).exit_code == 0
    args = ["hotspots", "emerging", "--warehouse", wh, "--time-bin", "month", "--unit", "h3:8", "--no-mart"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "x 6 months (2023-05-01 to 2023-10-01)" in text and "x 59 months" not in text
    assert "Analysed 6 months, 2023-05-01 to 2023-10-01: the longest run of months with data." in text
    assert "52 of the 59 months from the first to the last fall in gaps with no event at all" in text
    assert "left out: 60 outside the time steps analysed (beyond a gap with no data)" in text
    r = runner.invoke(app, [*args, "--format", "json"])
    assert r.exit_code == 0 and "Analysed 6 months" in r.stderr
