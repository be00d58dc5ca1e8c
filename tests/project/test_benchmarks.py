"""Tests for benchmarks/run_all.py: scales, growth fit, goals, memory measurement and a tiny end-to-end run."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_run_all", ROOT / "benchmarks" / "run_all.py")
run_all = importlib.util.module_from_spec(_spec)
sys.modules["bench_run_all"] = run_all
_spec.loader.exec_module(run_all)  # puts benchmarks/ on sys.path: its harness modules import from there
import harness_common  # noqa: E402
import harness_features  # noqa: E402
import harness_measure  # noqa: E402
import harness_report  # noqa: E402
import harness_scale  # noqa: E402


def test_parse_scales_sorts_and_deduplicates():
    assert harness_common.parse_scales("10M, 100k,1M,100_000") == [100_000, 1_000_000, 10_000_000]


@pytest.mark.parametrize(
    ("text", "match"), [("500", "below the sample's minimum"), ("lots", "is not a count"), (" , ", "no scales")]
)
def test_parse_scales_refuses(text, match):
    with pytest.raises(harness_common.BenchError, match=match):
        harness_common.parse_scales(text)


@pytest.mark.parametrize(
    ("n", "label"), [(100_000, "100k"), (1_000_000, "1M"), (10_000_000, "10M"), (2_000, "2000"), (2_500_000, "2500k")]
)
def test_scale_label(n, label):
    assert harness_common.scale_label(n) == label


def test_fit_exponent_linear_quadratic_and_too_few():
    assert harness_report.fit_exponent([1e5, 1e6, 1e7], [2.0, 20.0, 200.0]) == pytest.approx(1.0)
    assert harness_report.fit_exponent([10, 100], [1.0, 100.0]) == pytest.approx(2.0)
    assert harness_report.fit_exponent([1e5, 1e6, 1e7], [10.0, 20.0, 40.0]) == pytest.approx(0.30103, abs=1e-5)
    assert harness_report.fit_exponent([1e5], [3.0]) is None
    assert harness_report.linearity(1.04) == "linear"
    assert harness_report.linearity(0.5).startswith("sub-linear")
    assert harness_report.linearity(1.3) == "super-linear"


def _scale(n: int, seconds: float, peak: int, share: float) -> dict:
    steps = [
        {"step": "run", "status": "ok", "seconds": seconds},
        {"step": "hotspots", "status": "ok", "seconds": seconds / 2},
    ]
    return {
        "incidents": n,
        "label": harness_common.scale_label(n),
        "sample": {"rows": {"incidents": n}, "seconds": 1.0},
        "end_to_end": {
            "seconds": seconds,
            "peak_rss_bytes": peak,
            "returncode": 0,
            "status": "ok",
            "load_average": {"mean": 1.0},
            "steps": steps,
        },
        "ingest": {"bytes": 1e6, "contenders": {"ctxrisk": {"share_of_duckdb": share}}},
    }


def _share(rows: int, share: float) -> dict:
    """A bench_ingest result for ``rows`` records where ctxrisk had ``share`` of DuckDB's rows/s."""
    return {
        "file": {"rows": rows},
        "results": [
            {"name": "duckdb read_csv (ceiling)", "seconds": 0.2, "share_of_ceiling": 1.0},
            {"name": "ctxrisk ingest x", "seconds": round(0.2 / share, 2), "share_of_ceiling": share},
        ],
    }


def test_goals_and_growth_from_results():
    results = {
        "scales": {"1M": _scale(1_000_000, 90.0, 2 * 1024**3, 0.6), "10M": _scale(10_000_000, 900.0, 9 * 1024**3, 0.4)},
        "fixed": {"gistar": {"result": {"speedup_same_subset": 239.3, "esda_cells": 10_000}}},
    }
    status = [g["status"] for g in harness_report.evaluate_goals(results)]
    assert status[:6] == ["pass", "fail", "pass", "not measured", "not measured", "pass"]
    assert status[6:] == ["not measured"] * 9  # no per-feature result: every feature goal not measured
    results["scales"]["1M"]["ingest"]["contenders"]["ctxrisk"]["share_of_duckdb"] = 0.39
    city = {"files": 20, "rows": 28_977, "seconds": 3.14, "load_average": 1.2}
    results["police_uk_ingest"] = {"city_months": city}
    results["scales"]["1M"]["end_to_end"]["steps"].append(
        {"step": "association graph", "status": "ok", "seconds": 25.0}
    )
    goals = harness_report.evaluate_goals(results)
    assert [g["status"] for g in goals][:6] == ["pass", "fail", "fail", "pass", "fail", "pass"]
    assert goals[2]["measured"] == "0.39"
    assert goals[3]["measured"] == "3.14 s for 20 files, 28,977 rows (load average 1.2)"
    assert goals[4]["measured"] == "25.0 s"
    city["seconds"] = 5.0
    assert harness_report.evaluate_goals(results)[3]["status"] == "fail"  # under 5 s, not 5 s
    public = {
        "formats": {
            "street": {
                "file": {"rows": 1_000_000},
                "results": [
                    {"name": "duckdb read_csv (ceiling)", "share_of_ceiling": 1.0},
                    {"name": "ctxrisk ingest police-uk-street", "share_of_ceiling": 0.55},
                ],
            }
        },
        "sizes": {"street": {"100000": _share(101_088, 0.61), "10000": _share(12_636, 0.67)}},
    }
    table = harness_report._ingest_by_size(public["sizes"], public["formats"])
    assert "| format | 10,000 rows | 100,000 rows | about a million rows |" in table
    assert "| street | 0.67 (0.30 s / 0.20 s) | 0.61 (0.33 s / 0.20 s) | 0.55 |" in table
    grown = harness_report.growth(results["scales"])
    assert grown["incidents"] == [1_000_000, 10_000_000]
    assert grown["series"]["end-to-end time"]["exponent"] == 1.0
    assert grown["series"]["step: hotspots"]["verdict"] == "linear"


def test_run_measured_sees_a_child_s_memory(tmp_path):
    code = "x = bytearray(150_000_000); x[::4096] = b'1' * len(x[::4096]); import time; time.sleep(0.4)"
    m = harness_measure.run_measured([sys.executable, "-c", code], interval=0.05)
    assert m.returncode == 0
    assert m.peak_rss_bytes > 150_000_000
    assert m.seconds > 0.4
    assert 0 < m.cpu_seconds < m.seconds + 5


@pytest.mark.slow
def test_harness_tiny_end_to_end(tmp_path):
    out, md = tmp_path / "run.json", tmp_path / "BENCHMARKS.md"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run_all.py"),
            "--scales",
            "1000",
            "--skip-baselines",
            "--no-boundaries",
            "--data-dir",
            "data",
            "--output",
            "run.json",
            "--markdown",
            "BENCHMARKS.md",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )  # relative paths, as a user types them
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    scale = result["scales"]["1000"]
    assert scale["sample"]["rows"]["incidents"] == 1000
    e2e = scale["end_to_end"]
    assert (e2e["returncode"], e2e["status"]) == (0, "ok")
    assert e2e["peak_rss_bytes"] > 50_000_000
    steps = {s["step"]: s for s in e2e["steps"]}
    assert {"run", "ingest incidents", "hotspots", "association graph", "steering map"} <= set(steps)
    assert steps["ingest incidents"]["rows_loaded"] == 1000
    assert scale["steering_map"]["bytes"] > 10_000
    text = md.read_text(encoding="utf-8")
    assert "| 1,000 | " in text and "**not measured**" in text and "The machine is shared" in text


def test_steps_from_log_reads_finished_steps_and_the_running_one(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "2026-11-26 23:56:06,629 INFO ctxrisk.jobs.run: step 1/3 ingest incidents started\n"
        "2026-11-26 23:56:08,413 INFO ctxrisk.jobs.run: step ingest incidents ok in 1.78 s: 1 file(s)\n"
        "2026-11-26 23:56:08,413 INFO ctxrisk.jobs.run: step 2/3 locations of concern started\n"
        "2026-11-26 23:56:09,000 WARNING ctxrisk.jobs.run: step locations of concern failed in 0.50 s; error: x\n"
        "2026-11-26 23:56:09,100 INFO ctxrisk.jobs.run: step 3/3 association graph started\n",
        encoding="utf-8",
    )
    steps, running = harness_scale.steps_from_log(log)
    assert [(s["step"], s["status"], s["seconds"]) for s in steps] == [
        ("ingest incidents", "ok", 1.78),
        ("locations of concern", "failed", 0.5),
    ]
    assert running == "association graph"


def test_run_measured_stops_at_the_timeout():
    m = harness_measure.run_measured([sys.executable, "-c", "import time; time.sleep(30)"], interval=0.05, timeout=0.5)
    assert m.timed_out
    assert m.returncode == -15
    assert m.seconds < 10


def test_growth_keeps_steps_of_a_stopped_run():
    stopped = _scale(10_000_000, 3000.0, 6 * 1024**3, 0.3)
    stopped["end_to_end"].update(
        returncode=-15,
        steps=[
            {"step": "hotspots", "status": "ok", "seconds": 450.0},
            {"step": "graph", "status": "failed", "seconds": 1.0},
        ],
    )
    grown = harness_report.growth({"1M": _scale(1_000_000, 90.0, 2 * 1024**3, 0.6), "10M": stopped})
    assert grown["series"]["end-to-end time"]["values"] == [90.0, None]
    assert grown["series"]["end-to-end time"]["exponent"] is None
    assert grown["series"]["step: hotspots"]["exponent"] == 1.0
    assert "step: graph" not in grown["series"]  # never finished ok anywhere


def test_run_measured_stops_at_the_memory_cap():
    code = "x = bytearray(300_000_000); x[::4096] = b'1' * len(x[::4096]); import time; time.sleep(30)"
    m = harness_measure.run_measured([sys.executable, "-c", code], interval=0.05, max_rss_bytes=100_000_000)
    assert m.timed_out
    assert m.peak_rss_bytes > 100_000_000
    assert m.seconds < 20


_ingest_spec = importlib.util.spec_from_file_location("bench_ingest_module", ROOT / "benchmarks" / "bench_ingest.py")
bench_ingest = importlib.util.module_from_spec(_ingest_spec)
sys.modules["bench_ingest_module"] = bench_ingest
_ingest_spec.loader.exec_module(bench_ingest)


@pytest.mark.parametrize("key", list(bench_ingest.FORMATS))
def test_ingest_replicas_copy_real_records_without_repeating_them(key, tmp_path):
    fmt = bench_ingest.FORMATS[key]
    if not fmt.sample.is_file():
        pytest.skip(f"{fmt.sample} is not present")
    sample = [line for line in fmt.sample.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    path, records = bench_ingest.build_file(fmt, tmp_path, 3 * (len(sample) - 1))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == sample[0] and records == len(lines) - 1 == 3 * (len(sample) - 1)
    assert lines[1 : len(sample)] == sample[1:]  # the first copy is the real file
    # Every record of a later copy is changed, and the copies stay as distinct from one another as the real
    # records are.
    copies = [lines[1 + k * (len(sample) - 1) : 1 + (k + 1) * (len(sample) - 1)] for k in range(3)]
    for k in (1, 2):
        assert not any(a == b for a, b in zip(copies[0], copies[k], strict=True))
    assert len(set(lines[1:])) >= 0.99 * 3 * len(set(sample[1:]))
    assert [len(line.split(",")) for line in copies[2]] == [len(line.split(",")) for line in sample[1:]]


def test_a_sample_as_published_counts_its_records_as_the_readers_do(tmp_path, settings):
    from ctxrisk.pipelines.tabular import read_csv_text

    path = tmp_path / "published.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\r\n1,2\r\n\r\n3,4\r\n5,6\r\n\r\n")
    assert bench_ingest.published_records(path) == 3 == read_csv_text(path).rows_read
    for fmt in bench_ingest.FORMATS.values():  # every real sample: what ctxrisk reads is what is counted
        if fmt.sample.is_file():
            assert bench_ingest.published_records(fmt.sample) == read_csv_text(fmt.sample).rows_read


def test_sizes_are_measured_in_turn_and_kept_by_format_and_size(tmp_path, monkeypatch):
    assert bench_ingest._sizes("10000, 100000") == [10_000, 100_000]
    for bad in ("0,10", "ten", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="positive record counts"):
            bench_ingest._sizes(bad)
    asked = []

    def fake_measure(key, *, rows, repeat, pandas, as_published=False):
        asked.append((key, rows, as_published))
        return {
            "file": {"rows": rows, "bytes": rows * 100},
            "load_average_before": [0.5],
            "load_average_after": [0.5],
            "results": [
                {"name": "duckdb read_csv (ceiling)", "seconds": 1.0, "rows_per_second": rows, "share_of_ceiling": 1.0}
            ],
        }

    results = tmp_path / "ingest.json"
    results.write_text(json.dumps({"formats": {"street": {"kept": True}}}))
    monkeypatch.setattr(bench_ingest, "RESULTS", results)
    monkeypatch.setattr(bench_ingest, "measure", fake_measure)
    assert bench_ingest.main(["--formats", "street,outcomes", "--sizes", "20,10", "--skip-pandas"]) == 0
    assert asked == [("street", 20, False), ("outcomes", 20, False), ("street", 10, False), ("outcomes", 10, False)]
    stored = json.loads(results.read_text())
    assert stored["formats"] == {"street": {"kept": True}}  # the million-row replicas are not replaced
    assert sorted(stored["sizes"]["outcomes"]) == ["10", "20"]
    assert stored["sizes"]["street"]["10"]["file"]["rows"] == 10


def _features() -> dict:
    """Tiny per-feature results, each shaped as its benchmark writes it, every goal met."""
    return {
        "intel": {
            "graph": {"people": 47_557},
            "python_s": {"build_intel_page": 13.87},
            "page_bytes": 4_485_403,
            "load_average_before": [11.4, 11.24, 10.53],
            "chromium": {"open_in_page_ms": {"firstFramesMs": 2227.7}},
        },
        "report": {"incidents": 1_000_000, "pdf_seconds": [8.1, 7.9, 9.7], "pdf_median_seconds": 8.1},
        "missing": {
            "incidents": 1_000_000,
            "rows": {"staging.missing_episodes": 120_000},
            "machine": {"load_average_1min": [10.12, 9.38]},
            "missing_children": {"seconds": 2.96, "children": 61_349},
            "mace": {"seconds": 5.31, "children": 20_385},
            "cli_seconds": {"missing_children": 4.94, "mace": 8.32},
        },
        "graph_step": {
            "incidents": 1_000_000,
            "runs": [
                {"seconds": 79.2, "cpu_seconds": 28.9, "load_before": 8.54},
                {"seconds": 20.0, "load_before": 1.1, "measured_at": "2026-12-05T09:10Z"},
            ],
        },
        "steering_map": {"incidents": 1_000_000, "page_bytes": 2_251_421, "browser_load_seconds": [0.6, 0.5, 0.4],
                         "browser_load_median_seconds": 0.5},
    }  # fmt: skip


def _feature_goals(features: dict) -> dict[str, tuple[str, str | None]]:
    return {g["goal"]: (g["status"], g["measured"]) for g in harness_features.feature_goals({"features": features})}


def test_feature_goals_pass_with_their_numbers_and_load():
    goals = _feature_goals(_features())
    assert len(goals) == 9 and {s for s, _ in goals.values()} == {"pass"}
    assert goals["intel explorer page opens in Chromium in under 3 s (two frames drawn)"] == (
        "pass",
        "2.23 s (47,557 people, load average 11.4)",
    )
    assert goals["`ctxrisk mace` under 10 s at 1M incidents and 120k missing episodes"][1] == (
        "8.32 s as a command (5.31 s in process), load average 10.12"
    )
    step = "the association-graph step alone (`bench_graph_step.py`, latest run) at most 20 s at 1M incidents"
    assert goals[step] == ("pass", "20.0 s wall, load average 1.1, 2026-12-05T09:10Z")  # the latest; "at most" 20 s


def test_feature_goals_fail_at_the_limit_of_an_under_goal():
    f = _features()
    f["intel"]["page_bytes"] = 6_000_000
    f["report"]["pdf_median_seconds"] = 20.0
    f["missing"]["cli_seconds"]["missing_children"] = 10.4
    f["graph_step"]["runs"].append({"seconds": 20.1})
    f["steering_map"]["browser_load_median_seconds"] = 2.0
    failed = sorted(goal for goal, (status, _) in _feature_goals(f).items() if status == "fail")
    assert failed == [
        "PDF report at 1M incidents in under 20 s",
        "`ctxrisk missing children` under 10 s at 1M incidents and 120k missing episodes",
        "intel explorer page under 6 MB",
        "steering page at 1M incidents opens in Chromium in under 2 s",
        "the association-graph step alone (`bench_graph_step.py`, latest run) at most 20 s at 1M incidents",
    ]


def test_feature_goals_measured_at_another_size_or_absent_are_not_measured():
    f = _features()
    f["intel"]["graph"]["people"] = 4_900  # bench_intel.py --quick
    f["report"]["incidents"] = 100_000
    f["missing"]["rows"]["staging.missing_episodes"] = 12_000
    del f["graph_step"]["incidents"]  # the load is not stated: it is not taken to be 1M
    f["steering_map"]["browser_load_median_seconds"] = None  # no browser
    goals = _feature_goals(f)
    statuses = [s for s, _ in goals.values()]
    assert statuses == ["not measured"] * 7 + ["pass", "not measured"]  # the steering page's size was measured
    assert all(m is None for s, m in goals.values() if s == "not measured")
    assert {s for s, _ in _feature_goals({}).values()} == {"not measured"}


def test_feature_sections_render_what_each_file_holds(tmp_path):
    for name, result in _features().items():
        (tmp_path / f"{name}.json").write_text(json.dumps(result), encoding="utf-8")
    (tmp_path / "unrelated.json").write_text("{}", encoding="utf-8")
    features = harness_features.load_features(tmp_path)
    features["steering_map"] |= {"measured_at": "2026-12-05T09:08Z", "load_average_1min": [1.24, 1.27]}
    assert list(features) == ["intel", "report", "missing", "graph_step", "steering_map"]
    features["real_data_hotspots"] = {
        "city": {"unit": "h3:10", "units": 1074, "hot": 52, "events_used": 14_764, "backtest_drawn": [
            {"method": "kde", "folds": 13, "captured": 6008.0, "test_events": 9855, "captured_vs_naive": 0.82}]}
    }  # fmt: skip
    lines = harness_features.render_features({"features": features})
    assert [line for line in lines if line.startswith("## ")] == [
        "## Intel explorer page",
        "## PDF report",
        "## Missing children and MACE",
        "## Association-graph step alone",
        "## Steering page at scale",
        "## Hot spots on real data",
    ]
    assert "| PDF, median | 8.1 s |" in lines
    assert any(line.endswith("(issue 21); date not recorded, load not recorded.") for line in lines)
    assert "| `ctxrisk mace` as a command (new process, CSV out) | 8.32 s |" in lines
    assert "| - | - | 79.2 s | 28.9 s | 8.54 → None | - |" in lines  # what a run did not record is "-"/None
    assert any(line.endswith("; measured 2026-12-05T09:08Z, load average 1.24 → 1.27.") for line in lines)
    assert "| city | h3:10 | - | 1,074 | 14,764 | 52 | - |" in lines
    assert "| kde | 13 | 6,008 | 9,855 | - | - | 0.82 |" in lines
