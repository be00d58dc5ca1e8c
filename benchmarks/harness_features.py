"""The per-feature benchmarks' results (intel, report, missing, graph step, steering map, real-data hot spots).

Each ``benchmarks/results/<name>.json`` written by its own script is read into ``results["features"][name]``;
:func:`feature_goals` judges the goals from what the files hold (a goal whose numbers are absent, or were
measured at another size, is ``not measured``) and :func:`render_features` writes a section per file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness_common import (
    BENCH,
    FEATURE_RESULTS,
    GOAL_GRAPH_STEP_1M_S,
    GOAL_INTEL_BUILD_S,
    GOAL_INTEL_BYTES,
    GOAL_INTEL_OPEN_S,
    GOAL_MISSING_S,
    GOAL_REPORT_PDF_S,
    GOAL_STEERING_BYTES,
    GOAL_STEERING_OPEN_S,
    INTEL_MIN_PEOPLE,
    MISSING_EPISODES,
)

ONE_MILLION = 1_000_000


def load_features(folder: Path = BENCH / "results") -> dict[str, Any]:
    """Each of ``FEATURE_RESULTS`` found in ``folder`` as ``{name: parsed JSON}`` (absent files left out)."""
    return {
        name: json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        for name in FEATURE_RESULTS
        if (folder / f"{name}.json").is_file()
    }


def _get(d: Any, *keys: str | int) -> Any:
    """``d[k1][k2]...``, or None where a level is missing."""
    for k in keys:
        if isinstance(d, dict):
            d = d.get(k)
        elif isinstance(d, list) and isinstance(k, int) and -len(d) <= k < len(d):
            d = d[k]
        else:
            return None
    return d


def _goal(goal: str, value: float | None, limit: float, measured: str | None, *, inclusive: bool = False) -> dict:
    """A goal row: ``pass`` when ``value`` is under ``limit`` (or equal, ``inclusive``), None is not measured."""
    if value is None:
        return {"goal": goal, "measured": None, "status": "not measured"}
    ok = value <= limit if inclusive else value < limit
    return {"goal": goal, "measured": measured, "status": "pass" if ok else "fail"}


def _load(value: Any) -> str:
    """``", load average X"`` from a number or the first of a list, or ``""`` when not recorded."""
    first = value[0] if isinstance(value, list) and value else value
    return f", load average {first}" if isinstance(first, int | float) else ""


def latest_graph_step(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The last run of ``graph_step.json`` when the file says it was measured at 1M incidents, else None."""
    if _get(result, "incidents") != ONE_MILLION:
        return None
    return _get(result, "runs", -1)


def _intel_goals(r: dict[str, Any] | None) -> list[dict]:
    people = _get(r, "graph", "people")
    sized = r if people is not None and people >= INTEL_MIN_PEOPLE else None  # a --quick run does not count
    where = f"{people:,} people{_load(_get(r, 'load_average_before'))}" if sized else ""
    build = _get(sized, "python_s", "build_intel_page")
    size = _get(sized, "page_bytes")
    frames = _get(sized, "chromium", "open_in_page_ms", "firstFramesMs")
    opened = None if frames is None else frames / 1000
    return [
        _goal("intel explorer page for about 50,000 people built in under 15 s", build, GOAL_INTEL_BUILD_S,
              f"{build} s ({where})"),
        _goal("intel explorer page under 6 MB", size, GOAL_INTEL_BYTES, f"{(size or 0) / 1e6:.2f} MB ({where})"),
        _goal("intel explorer page opens in Chromium in under 3 s (two frames drawn)", opened, GOAL_INTEL_OPEN_S,
              f"{opened or 0:.2f} s ({where})"),
    ]  # fmt: skip


def _report_goal(r: dict[str, Any] | None) -> dict:
    pdf = _get(r, "pdf_median_seconds") if _get(r, "incidents") == ONE_MILLION else None
    runs = _get(r, "pdf_seconds") or []
    return _goal(
        "PDF report at 1M incidents in under 20 s",
        pdf,
        GOAL_REPORT_PDF_S,
        f"{pdf} s (median of {len(runs)} runs; {_when(r or {})})",
    )


def _missing_goals(r: dict[str, Any] | None) -> list[dict]:
    episodes = _get(r, "rows", "staging.missing_episodes")
    sized = r if _get(r, "incidents") == ONE_MILLION and (episodes or 0) >= MISSING_EPISODES else None
    load = _load(_get(r, "machine", "load_average_1min"))
    goals = []
    for key, command in (("missing_children", "missing children"), ("mace", "mace")):
        cli, inner = _get(sized, "cli_seconds", key), _get(sized, key, "seconds")
        goals.append(
            _goal(
                f"`ctxrisk {command}` under 10 s at 1M incidents and 120k missing episodes",
                cli,
                GOAL_MISSING_S,
                f"{cli} s as a command ({inner} s in process){load}",
            )
        )
    return goals


def _graph_step_goal(r: dict[str, Any] | None) -> dict:
    run = latest_graph_step(r)
    seconds = _get(run, "seconds")
    when = f", {run['measured_at']}" if run and run.get("measured_at") else ""
    cpu = f", {run['cpu_seconds']} s CPU" if run and run.get("cpu_seconds") is not None else ""
    return _goal(
        "the association-graph step alone (`bench_graph_step.py`, latest run) at most 20 s at 1M incidents",
        seconds,
        GOAL_GRAPH_STEP_1M_S,
        f"{seconds} s wall{cpu}{_load(_get(run, 'load_before'))}{when}",
        inclusive=True,
    )


def _steering_goals(r: dict[str, Any] | None) -> list[dict]:
    sized = r if _get(r, "incidents") == ONE_MILLION else None
    size, opened = _get(sized, "page_bytes"), _get(sized, "browser_load_median_seconds")
    runs = _get(sized, "browser_load_seconds") or []
    return [
        _goal("steering page at 1M incidents under 5 MB", size, GOAL_STEERING_BYTES,
              f"{(size or 0) / 1e6:.2f} MB ({_when(r or {})})"),
        _goal("steering page at 1M incidents opens in Chromium in under 2 s", opened, GOAL_STEERING_OPEN_S,
              f"{opened} s (median `loadEventEnd` of {len(runs)} loads; {_when(r or {})})"),
    ]  # fmt: skip


def feature_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-feature benchmarks' goals, judged from ``results["features"]`` (see the module docstring)."""
    f = results.get("features", {})
    return [
        *_intel_goals(f.get("intel")),
        _report_goal(f.get("report")),
        *_missing_goals(f.get("missing")),
        _graph_step_goal(f.get("graph_step")),
        *_steering_goals(f.get("steering_map")),
    ]


# --------------------------------------------------------------------------------------------------------------
# Sections of BENCHMARKS.md


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]], align: str | None = None) -> list[str]:
    align = align or "---" + " | ---:" * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", f"| {align} |"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*out, ""]


def _cell(v: Any) -> str:
    """A table cell: ``-`` for None, thousands separated for counts."""
    if v is None:
        return "-"
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _intel_section(r: dict[str, Any]) -> list[str]:
    g, py, ch = r.get("graph", {}), r.get("python_s", {}), r.get("chromium", {})
    page = ch.get("open_in_page_ms", {})
    rows = [(k.replace("_", " "), f"{v:,}") for k, v in g.items() if isinstance(v, int)]
    rows += [(f"Python: {k.replace('_', ' ')}", f"{v} s") for k, v in py.items() if isinstance(v, int | float)]
    rows += [
        ("page size", f"{r['page_bytes'] / 1e6:.2f} MB" if "page_bytes" in r else None),
        ("Chromium: two frames drawn after open (page clock)", _ms(page.get("firstFramesMs"))),
        ("Chromium: new tab, load and screenshot (wall)", _sec(ch.get("open_s"))),
        ("Chromium: reload to first frames", _sec(ch.get("reopen_to_first_frames_s"))),
        ("Chromium: everyone drawn on request", _ms(ch.get("show_everyone_ms"))),
        ("Chromium: age-band filter with everyone drawn", _ms(ch.get("filter_age_band_everyone_ms"))),
        ("load average before, after (1, 5, 15 min)", f"{r.get('load_average_before')}, {r.get('load_average_after')}"),
    ]  # fmt: skip
    lines = ["## Intel explorer page", "", "`PYTHONPATH=.:tests python benchmarks/bench_intel.py` (issue 22).", ""]
    lines += _table(("measure", "value"), rows)
    return lines + ([f"{r['note']}", ""] if r.get("note") else [])


def _ms(v: float | None) -> str | None:
    return None if v is None else f"{v / 1000:.2f} s"


def _sec(v: float | None) -> str | None:
    return None if v is None else f"{v} s"


def _report_section(r: dict[str, Any]) -> list[str]:
    rows = [(f"prepare: {k}", f"{v} s") for k, v in r.get("steps_seconds", {}).items()]
    rows += [
        ("rows loaded (all kinds)", f"{sum(r.get('rows_loaded', {}).values()):,}"),
        ("HTML report built, each run", _runs(r.get("html_build_seconds"))),
        ("`ctxrisk report --format pdf` (build, print, write), each run", _runs(r.get("pdf_seconds"))),
        ("PDF, median", _sec(r.get("pdf_median_seconds"))),
        ("HTML size", _kb(r.get("html_bytes"))),
        ("PDF size", _kb(r.get("pdf_bytes"))),
    ]
    head = f"`python benchmarks/bench_report.py` at {r.get('incidents', 0):,} incidents (issue 21); {_when(r)}."
    return ["## PDF report", "", head, "", *_table(("measure", "value"), rows)]


def _when(r: dict[str, Any]) -> str:
    """When and at what load a result was measured, from ``measured_at`` and ``load_average_1min`` if present."""
    when = f"measured {r['measured_at']}" if r.get("measured_at") else "date not recorded"
    load = r.get("load_average_1min")
    if isinstance(load, list) and load:
        return f"{when}, load average {' → '.join(str(x) for x in load)}"
    return f"{when}, load not recorded"


def _kb(v: int | None) -> str | None:
    return None if v is None else f"{v / 1e3:,.0f} kB"


def _runs(values: list[float] | None) -> str | None:
    return None if not values else ", ".join(f"{v:.1f}" for v in values) + " s"


def _missing_section(r: dict[str, Any]) -> list[str]:
    rows = [(f"rows: `{k}`", f"{v:,}") for k, v in r.get("rows", {}).items()]
    for key, command in (("missing_children", "missing children"), ("mace", "mace")):
        rows += [
            (f"`{command}` in process ({_cell(_get(r, key, 'children'))} children)", _sec(_get(r, key, "seconds"))),
            (f"`ctxrisk {command}` as a command (new process, CSV out)", _sec(_get(r, "cli_seconds", key))),
        ]
    rep = r.get("repeat_rule", {})
    if rep:
        rows.append(
            ("repeat rule: numpy window counts against DuckDB's window query",
             f"{rep.get('numpy_window_counts_s')} s against {rep.get('duckdb_window_sql_s')} s "
             f"({rep.get('speedup_vs_sql')}x; same result: {rep.get('same_max_per_child')})")
        )  # fmt: skip
    head = (
        f"`python benchmarks/bench_missing.py` at {r.get('incidents', 0):,} incidents (issue 23)"
        f"{_load(_get(r, 'machine', 'load_average_1min'))} at the start."
    )
    return ["## Missing children and MACE", "", head, "", *_table(("measure", "value"), rows)]


def _graph_step_section(r: dict[str, Any]) -> list[str]:
    g = r.get("graph", {})
    lines = [
        "## Association-graph step alone",
        "",
        f"{r.get('benchmark', '`python benchmarks/bench_graph_step.py WAREHOUSE`')}: "
        f"{g.get('persons', 0):,} persons, {g.get('links', 0):,} links. {r.get('machine', '')}".rstrip(),
        "",
    ]
    rows = [
        (run.get("measured_at", "-"), run.get("code", "-"), _sec(run.get("seconds")), _sec(run.get("cpu_seconds")),
         f"{run.get('load_before')} → {run.get('load_after')}", run.get("maxrss_gb"))
        for run in r.get("runs", [])
    ]  # fmt: skip
    lines += _table(
        ("measured at", "code", "wall", "CPU", "load average (1 min)", "peak RSS (GB)"),
        rows,
        "--- | --- | ---: | ---: | ---: | ---:",
    )
    phases = r.get("cpu_by_phase_after", {})
    if phases:
        lines += ["CPU by phase: " + "; ".join(f"{k} {v} s" for k, v in phases.items()) + ".", ""]
    return lines + ([r["note"], ""] if r.get("note") else [])


def _steering_section(r: dict[str, Any]) -> list[str]:
    rows = [(k, f"{v} s") for k, v in r.get("steps_seconds", {}).items()]
    loads = r.get("browser_load_seconds") or []
    rows += [
        ("page size", f"{r['page_bytes'] / 1e6:.2f} MB" if "page_bytes" in r else None),
        ("page holds", r.get("page_summary")),
        ("person IDs or event coordinates found in the page", r.get("leaks")),
        ("Chromium `loadEventEnd`, each load", _runs(loads)),
        ("Chromium, median", _sec(r.get("browser_load_median_seconds"))),
        ("console errors, external requests",
         f"{len(r.get('browser_console_errors', []))}, {len(r.get('browser_external_requests', []))}"),
    ]  # fmt: skip
    head = (
        f"`python benchmarks/bench_steering_map.py` at {r.get('incidents', 0):,} incidents (issue 21), "
        f"boundaries: {', '.join(r.get('boundaries', [])) or 'none'}; {_when(r)}."
    )
    return ["## Steering page at scale", "", head, "", *_table(("step or measure", "value"), rows)]


_HOT_KEYS = ("unit", "study_area_km2", "units", "events_used", "hot")


def _hotspots_section(r: dict[str, Any]) -> list[str]:
    lines = [
        "## Hot spots on real data",
        "",
        "`python benchmarks/real_data_hotspots.py`: `ctxrisk hotspots` with every default on data the project "
        'did not make (see docs/hotspots.md, "Validation"; the simulation study\'s table is '
        "`benchmarks/results/validation.md`).",
        "",
    ]
    rows = []
    for name, d in r.items():
        extra = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in d.items() if isinstance(v, int | float)
                          and k not in _HOT_KEYS and k != "permutations")  # fmt: skip
        rows.append((name, d.get("unit"), d.get("study_area_km2"), d.get("units"), d.get("events_used"),
                     d.get("hot"), extra or "-"))  # fmt: skip
    lines += _table(("data", "unit", "region km²", "units", "events used", "hot", "also"), rows,
                    "--- | --- | ---: | ---: | ---: | ---: | ---")  # fmt: skip
    for name, d in r.items():
        for key, tests in d.items():
            if key.startswith("backtest") and isinstance(tests, list):
                lines += [
                    f"Rolling-origin back-test, {name} (`{key}`: 6 months train, 1 test; every method "
                    "picks units of the same area share).",
                    "",
                ]
                lines += _table(
                    ("method", "folds", "captured", "test events", "mean hit rate", "mean PAI", "against naive"),
                    [(t.get("method"), t.get("folds"), _count(t.get("captured")), t.get("test_events"),
                      t.get("mean_hit_rate"), t.get("mean_pai"), t.get("captured_vs_naive")) for t in tests],
                )  # fmt: skip
    return lines


def _count(v: float | None) -> int | float | None:
    """A count stored as a float (``7306.0``) as an int."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


_SECTIONS = {
    "intel": _intel_section,
    "report": _report_section,
    "missing": _missing_section,
    "graph_step": _graph_step_section,
    "steering_map": _steering_section,
    "real_data_hotspots": _hotspots_section,
}


def render_features(results: dict[str, Any]) -> list[str]:
    """A section of BENCHMARKS.md for each per-feature result present (in ``FEATURE_RESULTS`` order)."""
    lines: list[str] = []
    for name, result in results.get("features", {}).items():
        if name in _SECTIONS and isinstance(result, dict):
            lines += _SECTIONS[name](result)
    return lines
