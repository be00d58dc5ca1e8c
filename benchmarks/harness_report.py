"""Growth fits, goals and the BENCHMARKS.md rendered from a results file."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness_common import (
    GOAL_CITY_MONTHS_S,
    GOAL_E2E_1M_S,
    GOAL_GISTAR_SPEEDUP,
    GOAL_GRAPH_STEP_1M_S,
    GOAL_INGEST_SHARE,
    GOAL_PEAK_10M_BYTES,
    HISTORY,
    INGEST_CONTENDERS,
    LINEAR_BAND,
    scale_label,
)
from harness_features import feature_goals, render_features


def fit_exponent(ns: Sequence[float], costs: Sequence[float]) -> float | None:
    """Least-squares ``b`` of ``log(cost) = a + b log(n)`` (cost ∝ n^b); None with fewer than two points.

    ``b = 1`` is linear growth, ``b < 1`` grows more slowly (fixed costs still weigh), ``b > 1`` faster.
    """
    pairs = [(math.log(n), math.log(c)) for n, c in zip(ns, costs, strict=True) if n > 0 and c and c > 0]
    if len(pairs) < 2:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pairs) / sxx


def linearity(b: float | None) -> str:
    """Say in words what a fitted exponent means (``LINEAR_BAND`` counts as linear)."""
    if b is None:
        return "not enough scales to tell"
    if b < LINEAR_BAND[0]:
        return "sub-linear (fixed costs still weigh at the small end)"
    if b <= LINEAR_BAND[1]:
        return "linear"
    return "super-linear"


def growth(scales: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Fitted exponents of end-to-end time, peak memory, ctxrisk ingest and each run step over the scales.

    End-to-end time and peak memory count only runs that finished (exit code 0 or 5); a step counts at every
    scale where it finished ``ok``, also in a run that was stopped later. A series' values are aligned with
    ``incidents`` (None where not measured); the exponent is fitted on the measured points.
    """
    runs = sorted((s for s in scales.values() if s.get("end_to_end")), key=lambda s: s["incidents"])
    ns = [s["incidents"] for s in runs]

    def finished(s: dict[str, Any], key: str) -> float | None:
        e = s["end_to_end"]
        return e[key] if e.get("returncode") in (0, 5) else None

    series: dict[str, list[float | None]] = {
        "end-to-end time": [finished(s, "seconds") for s in runs],
        "peak memory": [finished(s, "peak_rss_bytes") for s in runs],
        "ingest incidents (ctxrisk, alone)": [
            s.get("ingest", {}).get("contenders", {}).get("ctxrisk", {}).get("seconds") for s in runs
        ],
    }
    names: list[str] = []
    for s in runs:
        names += [st["step"] for st in s["end_to_end"]["steps"] if st["step"] != "run" and st["step"] not in names]
    for name in (n for n in names if not n.startswith("ingest boundaries")):  # a fixed file: does not scale
        series[f"step: {name}"] = [
            next(
                (st["seconds"] for st in s["end_to_end"]["steps"] if st["step"] == name and st["status"] == "ok"), None
            )
            for s in runs
        ]
    out = {}
    for name, values in series.items():
        points = [(n, v) for n, v in zip(ns, values, strict=True) if v is not None]
        if not points:
            continue
        b = fit_exponent([n for n, _ in points], [v for _, v in points])
        segments = [
            fit_exponent([points[i][0], points[i + 1][0]], [points[i][1], points[i + 1][1]])
            for i in range(len(points) - 1)
        ]
        out[name] = {
            "values": values,
            "exponent": None if b is None else round(b, 2),
            "segments": [None if x is None else round(x, 2) for x in segments],
            "verdict": linearity(b),
        }
    return {"incidents": ns, "series": out}


def _scale(results: dict[str, Any], n: int) -> dict[str, Any] | None:
    return next((s for s in results.get("scales", {}).values() if s["incidents"] == n), None)


def _by_contender(fmt: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A bench_ingest result's contenders by the first word of their names (``duckdb``, ``ctxrisk``, ``pandas``)."""
    return {r["name"].split()[0]: r for r in (fmt or {}).get("results", [])}


def _ingest_by_size(sizes: dict[str, dict[str, Any]], replicas: dict[str, Any]) -> list[str]:
    """The "by file size" section: each format's share of DuckDB's read_csv at each size measured."""
    counts = sorted({int(n) for per_format in sizes.values() for n in per_format})
    lines = [
        "### By file size",
        "",
        "`python benchmarks/bench_ingest.py --sizes " + ",".join(str(n) for n in counts) + "` — each "
        "sample replicated to each size, timed as above. The files partnerships hold run from hundreds of "
        "records (a small force's month, one authority's return) to about a hundred thousand (a month of "
        "the largest force); the million-row replicas above are ten times that. Each cell is ctxrisk's "
        "share of DuckDB's rows/s (ctxrisk's seconds / DuckDB's).",
        "",
        "| format | " + " | ".join(f"{n:,} rows" for n in counts) + " | about a million rows |",
        "| --- | " + " | ".join("---:" for _ in counts) + " | ---: |",
    ]
    for key, per_format in sizes.items():
        cells = []
        for n in counts:
            fmt = per_format.get(str(n))
            by = _by_contender(fmt)
            cells.append(
                f"{by['ctxrisk']['share_of_ceiling']:.2f} ({by['ctxrisk']['seconds']:.2f} s / "
                f"{by['duckdb']['seconds']:.2f} s)"
                if "ctxrisk" in by and "duckdb" in by
                else "-"
            )
        big = _by_contender(replicas.get(key))
        cells.append(f"{big['ctxrisk']['share_of_ceiling']:.2f}" if "ctxrisk" in big else "-")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _status(measured: object, passed: bool) -> str:
    return "not measured" if measured is None or measured == {} else "pass" if passed else "fail"


def _step_seconds(scale: dict[str, Any], name: str) -> float | None:
    """Seconds of one step of a scale's end-to-end run, or None when it did not run."""
    for step in scale["end_to_end"]["steps"]:
        if step["step"] == name and step.get("seconds") is not None:
            return float(step["seconds"])
    return None


def evaluate_goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each of the issue's goals with the measured number and ``pass``, ``fail`` or ``not measured``."""
    goals = []
    one = _scale(results, 1_000_000)
    e2e = one["end_to_end"] if one else None
    goals.append(
        {
            "goal": "end-to-end run over 1M incidents in under 2 minutes on 2 cores",
            "measured": (
                f"{e2e['seconds']:.0f} s wall, "
                + (f"{e2e['cpu_seconds']:.0f} s CPU, " if e2e.get("cpu_seconds") else "")
                + f"load average {e2e['load_average']['mean']} ({e2e['status']})"
            )
            if e2e
            else None,
            "status": "not measured"
            if not e2e
            else "pass"
            if e2e["seconds"] < GOAL_E2E_1M_S and e2e["returncode"] == 0
            else "fail",
        }
    )
    ten = _scale(results, 10_000_000)
    e2e = ten["end_to_end"] if ten else None
    goals.append(
        {
            "goal": "10M incidents complete with peak memory under 8 GB",
            "measured": (f"{e2e['peak_rss_bytes'] / 1024**3:.2f} GiB, {e2e['seconds'] / 60:.0f} min ({e2e['status']})")
            if e2e
            else None,
            "status": "not measured"
            if not e2e
            else "pass"
            if e2e["peak_rss_bytes"] < GOAL_PEAK_10M_BYTES and e2e["returncode"] == 0
            else "fail",
        }
    )
    one_ingest = one.get("ingest") if one else None
    share = one_ingest["contenders"].get("ctxrisk", {}).get("share_of_duckdb") if one_ingest else None
    goals.append(
        {
            "goal": "ingest of a 1M-row incidents.csv at least 0.4 of DuckDB's read_csv rows/s",
            "measured": None if share is None else f"{share:.2f}",
            "status": _status(share, share is not None and share >= GOAL_INGEST_SHARE),
        }
    )
    city = results.get("police_uk_ingest", {}).get("city_months")
    goals.append(
        {
            "goal": "the 20 real City of London street months ingested in one command in under 5 s",
            "measured": None
            if not city
            else f"{city['seconds']:.2f} s for {city['files']} files, {city['rows']:,} rows "
            f"(load average {city['load_average']})",
            "status": _status(city, bool(city) and city["seconds"] < GOAL_CITY_MONTHS_S),
        }
    )
    graph = _step_seconds(one, "association graph") if one else None
    goals.append(
        {
            "goal": "the association-graph step at most 20 s at 1M incidents (inside the end-to-end run)",
            "measured": None if graph is None else f"{graph:.1f} s",
            "status": _status(graph, graph is not None and graph <= GOAL_GRAPH_STEP_1M_S),
        }
    )
    gi = results.get("fixed", {}).get("gistar", {}).get("result")
    speed = gi.get("speedup_same_subset") if gi else None
    goals.append(
        {
            "goal": "Gi* at least 10x esda G_Local",
            "measured": f"{speed}x (per cell, {gi['esda_cells']:,}-cell subset)" if speed else None,
            "status": "not measured" if speed is None else "pass" if speed >= GOAL_GISTAR_SPEEDUP else "fail",
        }
    )
    return goals + feature_goals(results)


# --------------------------------------------------------------------------------------------------------------
# BENCHMARKS.md


def _gb(b: float | None) -> str:
    return "-" if b is None else f"{b / 1024**3:.2f} GiB"


def _s(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f} s" if x < 600 else f"{x / 60:,.1f} min"


def _top_steps(scale: dict[str, Any], k: int = 3) -> list[tuple[str, float]]:
    steps = [(st["step"], st["seconds"] or 0.0) for st in scale["end_to_end"]["steps"] if st["step"] != "run"]
    return sorted(steps, key=lambda t: -t[1])[:k]


def render_markdown(results: dict[str, Any]) -> str:
    """``BENCHMARKS.md`` from ``run_all.json``: machine, commands, results with ratios, goals, growth."""
    m = results["machine"]
    scales = sorted(results.get("scales", {}).values(), key=lambda s: s["incidents"])
    lines = [
        "# Benchmarks",
        "",
        "Generated by `benchmarks/run_all.py` (`make bench`) from `benchmarks/results/run_all.json`; "
        "do not edit by hand.",
        "",
        "## Machine",
        "",
        f"* CPU: {m['cpu_model']}, {m['cores']} cores; RAM {m['ram_bytes'] / 1024**3:.1f} GiB; {m['platform']}",
        f"* Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v),
        f"* Chromium: {m.get('chromium') or 'not installed'}",
        "* **The machine is shared** (a KVM guest other jobs ran on at the same time). The 1-minute load "
        "average sampled during each measurement is given beside it; with a load above the core count, "
        "wall-clock times are inflated (processes wait for a core) and are an upper bound on what an "
        "idle machine of this size does.",
        "",
    ]
    lines += [
        "## Commands",
        "",
        "```bash",
        "make bench                                     # = .venv/bin/python benchmarks/run_all.py (100k, 1M, 10M)",
        ".venv/bin/python benchmarks/run_all.py --quick               # 100k only",
    ]
    lines += [f"# this file: {results.get('command', '')}".rstrip()] if results.get("command") else []
    lines += [
        "```",
        "",
        "Per scale: `ctxrisk sample --scale N --format csv` (persons 0.40, missing 0.12, "
        "intelligence 0.10, associations 0.30 per incident; involvements follow), then `ctxrisk run "
        "--config` over drop folders holding the sample (Cheshire East wards and LSOAs as configured "
        "boundaries when present), then the same `incidents.csv` ingested alone by each contender in a "
        "fresh process and database. Peak memory is the larger of the polled summed RSS of the run's "
        "process tree and the kernel's `ru_maxrss`.",
        "",
    ]
    lines += ["## Goals", "", "| goal | measured | result |", "| --- | --- | --- |"]
    goals = evaluate_goals(results)
    for g in goals:
        lines.append(f"| {g['goal']} | {g['measured'] or '-'} | **{g['status']}** |")
    lines.append("")
    missed = [g for g in goals if g["status"] == "fail"]
    if missed:
        lines += ["**Missed:** " + "; ".join(f"{g['goal']} (measured {g['measured']})" for g in missed) + "."]
        for n in (1_000_000, 10_000_000):
            s = _scale(results, n)
            if s is not None:
                run = s["end_to_end"]["seconds"]
                top = "; ".join(f"{name} {_s(t)} ({t / run:.0%})" for name, t in _top_steps(s, 4))
                lines.append(
                    f"Where the time goes at {scale_label(n)} (share of the {_s(run)} run; a step run beside "
                    f"others overlaps them, so shares can add up to more than 100%): {top}."
                )
        lines.append("")
    if scales:
        lines += [
            "## End-to-end `ctxrisk run`",
            "",
            "| incidents | rows in all files | sample generation | run wall time | run CPU time | peak memory "
            "| status | load avg (mean) | slowest steps (wall) |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |",
        ]
        for s in scales:
            e, smp = s["end_to_end"], s["sample"]
            top = "; ".join(f"{n} {_s(t)}" for n, t in _top_steps(s))
            lines.append(
                f"| {s['incidents']:,} | {sum(smp['rows'].values()):,} | {_s(smp['seconds'])} | "
                f"{_s(e['seconds'])} | {_s(e.get('cpu_seconds'))} | {_gb(e['peak_rss_bytes'])} | "
                f"{e['status']} | "
                f"{e['load_average']['mean']} | {top} |"
            )
        lines += ["", "### Step times (from `meta.run_log`)", ""]
        names: list[str] = []
        for s in scales:
            names += [st["step"] for st in s["end_to_end"]["steps"] if st["step"] not in ("run", *names)]
        lines += [
            "| step | " + " | ".join(s["label"] for s in scales) + " |",
            "| --- | " + " | ".join("---:" for _ in scales) + " |",
        ]
        for name in names:
            cells = []
            for s in scales:
                st = next((x for x in s["end_to_end"]["steps"] if x["step"] == name), None)
                cells.append(
                    "-"
                    if st is None
                    else f"{_s(st['seconds'])}" + ("" if st["status"] == "ok" else f" ({st['status']})")
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    ing = [s for s in scales if "ingest" in s]
    if ing:
        rounds = sorted({s["ingest"].get("rounds", 1) for s in ing})
        lines += ["## Ingest: `incidents.csv` alone", ""]
        if rounds != [1]:
            lines += [
                f"The contenders take turns for {'/'.join(map(str, rounds))} rounds, each in a fresh subprocess "
                "and database; each one's best round is shown.",
                "",
            ]
        lines += [
            "| incidents | file | contender | seconds | rows/s | share of DuckDB read_csv | peak memory | load avg |",
            "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        names = {
            "duckdb": "DuckDB `read_csv` (ceiling)",
            "ctxrisk": "ctxrisk `ingest_one`",
            "pandas": "pandas `read_csv` + `to_sql` (SQLite)",
        }
        for s in ing:
            for key in INGEST_CONTENDERS:
                r = s["ingest"]["contenders"].get(key)
                if r is None:
                    continue
                if "error" in r:
                    lines.append(f"| {s['incidents']:,} | | {names[key]} | {r['error']} | | | | |")
                    continue
                lines.append(
                    f"| {s['incidents']:,} | {s['ingest']['bytes'] / 1e6:,.0f} MB | {names[key]} | "
                    f"{r['seconds']:,.1f} | {r['rows_per_second']:,} | {r.get('share_of_duckdb', '-')} | "
                    f"{_gb(r['peak_rss_bytes'])} | {r['load_average']['mean']} |"
                )
        vs = [f"{s['ingest']['ctxrisk_vs_pandas']}x at {s['label']}" for s in ing if "ctxrisk_vs_pandas" in s["ingest"]]
        if vs:
            lines += [
                "",
                f"ctxrisk against pandas + `to_sql`: {', '.join(vs)} (rows/s ratio). ctxrisk's time "
                "includes validation of every row, the rejected-rows table, staging and the derived "
                "columns; DuckDB's only parses and stores.",
            ]
        lines.append("")
    formats = results.get("police_uk_ingest", {}).get("formats", {})
    if formats:
        lines += [
            "## Ingest: the real public CSV formats",
            "",
            "`python benchmarks/bench_ingest.py` — each format's real sample in `../shared/data` replicated to "
            "about a million rows; each contender in a fresh database, in its own process, taking turns; "
            "the best round counts. ctxrisk's rows are those read (loaded + rejected).",
            "",
        ]
        for key, fmt in formats.items():
            f = fmt["file"]
            lines += [
                f"### {key} (`ctxrisk ingest {fmt['source']}`)",
                "",
                f"{f['rows']:,} rows ({f['bytes'] / 1e6:,.0f} MB), the real `{f['replicated_from']}` with "
                f"{f['how']}; best of {fmt['rounds']} rounds, load average {fmt['load_average_before'][0]} "
                f"at the start ({fmt['measured_at']}).",
                "",
                "| contender | seconds | rows/s | share of DuckDB read_csv |",
                "| --- | ---: | ---: | ---: |",
            ]
            lines += [
                f"| {r['name']} | {r['seconds']:,.2f} | {r['rows_per_second']:,} | {r['share_of_ceiling']} |"
                for r in fmt["results"]
            ]
            lines.append("")
    sizes = results.get("police_uk_ingest", {}).get("sizes", {})
    if sizes:
        lines += _ingest_by_size(sizes, formats)
    published = results.get("police_uk_ingest", {}).get("as_published", {})
    if published:
        lines += [
            "### The files as published",
            "",
            "`python benchmarks/bench_ingest.py --as-published` — each real sample as it is, read in place "
            "(a month of one force, one authority's return), each contender in a fresh process with its "
            "imports done. At these sizes what a contender does once per file or per process weighs as "
            "much as the rows: ctxrisk's first file in a process sets up PROJ's transformers and the "
            "first calls of pandas and its time parser, and every file runs its dozen warehouse "
            "statements (checks, rejects, the file's record, area assignment), where DuckDB reads a few "
            "dozen rows in a few hundredths of a second in all.",
            "",
            "| format | rows | DuckDB read_csv | ctxrisk | pandas + to_sql | share of DuckDB read_csv | "
            "best of | load avg |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for key, fmt in published.items():
            by = _by_contender(fmt)
            ours = by.get("ctxrisk", {})
            cells = [f"{by[n]['seconds']:.3f} s" if n in by else "-" for n in ("duckdb", "ctxrisk", "pandas")]
            lines.append(
                f"| {key} (`{fmt['file']['replicated_from']}`) | {fmt['file']['rows']:,} | "
                f"{' | '.join(cells)} | {ours.get('share_of_ceiling', '-')} | {fmt['rounds']} | "
                f"{fmt['load_average_before'][0]} |"
            )
        lines.append("")
    maps = [s for s in scales if s.get("steering_map", {}).get("bytes")]
    if maps:
        lines += [
            "## Steering map",
            "",
            "| incidents | page size | Chromium load (median `loadEventEnd`) |",
            "| ---: | ---: | ---: |",
        ]
        for s in maps:
            sm = s["steering_map"]
            load = (
                f"{sm['load_median_seconds']:.2f} s of {sm['load_seconds']}"
                if "load_median_seconds" in sm
                else sm.get("browser", "not measured")
            )
            lines.append(f"| {s['incidents']:,} | {sm['bytes'] / 1e6:.2f} MB | {load} |")
        lines.append("")
    fixed = results.get("fixed", {})
    gi = fixed.get("gistar", {}).get("result")
    if gi:
        lines += [
            "## Gi* against esda `G_Local` (identical H3 weights)",
            "",
            f"`{fixed['gistar']['command']}`",
            "",
            "| | cells | permutations | seconds | µs per cell |",
            "| --- | ---: | ---: | ---: | ---: |",
            f"| ctxrisk `GiStar` | {gi['cells']:,} | {gi['permutations']} | {gi['gistar_full_s']} | "
            f"{gi['gistar_full_us_per_cell']} |",
        ]
        if "esda_cells" in gi:
            lines += [
                f"| ctxrisk `GiStar`, subset | {gi['esda_cells']:,} | {gi['permutations']} | "
                f"{gi['gistar_subset_s']} | {gi['gistar_subset_us_per_cell']} |",
                f"| esda `G_Local` (star, n_jobs=-1), subset | {gi['esda_cells']:,} | {gi['permutations']} | "
                f"{gi['esda_subset_s']} | {gi['esda_us_per_cell']} |",
                "",
                f"Speed-up on the same {gi['esda_cells']:,} cells: **{gi['speedup_same_subset']}x**; largest "
                f"|z difference| {gi['max_abs_z_diff']:.1e}. esda was not run on all 100k cells (minutes per "
                f"run): the ratio is measured like for like on the subset only. Per cell, esda on the subset "
                f"({gi['esda_us_per_cell']} µs) against GiStar on all 100k cells "
                f"({gi['gistar_full_us_per_cell']} µs) would be "
                f"{gi['esda_us_per_cell'] / gi['gistar_full_us_per_cell']:.0f}x, but that mixes sizes. "
                f"Counts data share null distributions across cells with the same (value, neighbours) "
                f"({gi['null_distributions']} at 100k cells), which is where most of the speed comes from.",
            ]
        lines.append("")
    gr = fixed.get("graph", {}).get("result")
    if gr:
        b, bc = gr["build"], gr["betweenness"]
        lines += [
            "## Association graph",
            "",
            f"`{fixed['graph']['command']}`",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| involvements | {b['involvements']:,} |",
            f"| ctxrisk `build_graph`, all relations | {b['build_full_s']} s, {b['full_nodes']:,} nodes, "
            f"{b['full_edges']:,} edges |",
            f"| ctxrisk `build_graph`, co-involvement only (no decay) | {b['build_co_involvement_s']} s, "
            f"{b['co_involvement_edges']:,} edges |",
        ]
        if "naive_projection_s" in b:
            lines.append(
                f"| naive networkx bipartite projection (same pairs: {b['same_pairs_as_naive']}) | "
                f"{b['naive_projection_s']} s; ctxrisk is **{b['speedup_vs_naive']}x** its speed |"
            )
        lines.append(
            f"| exact betweenness, igraph ({bc['nodes']:,} nodes, {bc['edges']:,} edges) | {bc['exact_igraph_s']} s |"
        )
        for smp in bc["sampled"]:
            lines.append(
                f"| sampled betweenness, {smp['pivots']} pivots, {smp['engine']} | {smp['seconds']} s "
                f"({bc['exact_igraph_s'] / smp['seconds']:.1f}x faster than exact igraph); mean abs error "
                f"{smp['mean_abs_error']:.2g} (stated SE {smp['mean_stated_se']:.2g}), "
                f"{smp['share_within_2se']:.0%} within 2 SE, top-50 overlap {smp['top50_overlap']:.0%} |"
            )
        lines.append("")
    for name in ("gistar", "graph"):
        if "error" in fixed.get(name, {}):
            lines += [f"`bench_{name}` failed: {fixed[name]['error']}", ""]
    lines += render_features(results)
    gw = results.get("growth", {})
    if gw.get("series"):
        ns = gw["incidents"]
        lines += [
            "## Growth",
            "",
            "Fitted exponent *b* of cost ∝ n^b by least squares on log-log over "
            + ", ".join(f"{n:,}" for n in ns)
            + " incidents (b = 1 is linear); per-segment exponents "
            "between consecutive scales.",
            "",
            "| cost | " + " | ".join(scale_label(n) for n in ns) + " | b | per segment | growth |",
            "| --- | " + " | ".join("---:" for _ in ns) + " | ---: | --- | --- |",
        ]
        for name, ser in gw["series"].items():
            fmt = _gb if name == "peak memory" else _s
            vals = " | ".join(fmt(v) for v in ser["values"])
            segs = ", ".join("-" if x is None else str(x) for x in ser["segments"]) or "-"
            lines.append(
                f"| {name} | {vals} | {ser['exponent'] if ser['exponent'] is not None else '-'} | "
                f"{segs} | {ser['verdict']} |"
            )
        e2e = gw["series"].get("end-to-end time", {})
        fitted = {k: v for k, v in gw["series"].items() if v["exponent"] is not None and k != "end-to-end time"}
        ingest = [v["exponent"] for k, v in fitted.items() if k.startswith("step: ingest")]
        analytics = {
            k[6:]: v["exponent"]
            for k, v in fitted.items()
            if k.startswith("step: ") and not k.startswith("step: ingest")
        }
        answer = f"End-to-end time: {e2e.get('verdict', 'not measured')}" + (
            f" (b = {e2e['exponent']})."
            if e2e.get("exponent") is not None
            else " (it needs two scales whose runs finished)."
        )
        if ingest:
            answer += (
                f" Ingest steps grow with b from {min(ingest)} to {max(ingest)} "
                f"({linearity(sum(ingest) / len(ingest))} on average)."
            )
        if analytics:
            answer += " Analytics steps: " + ", ".join(f"{k} b = {v}" for k, v in analytics.items()) + "."
        lines += ["", f"**Is it linear?** {answer}", ""]
    if results.get("notes"):
        lines += ["## Notes", "", *[f"* {n}" for n in results["notes"]], ""]
    if HISTORY.exists():
        lines += [HISTORY.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"
