"""Benchmark the intel explorer on a 50k-person synthetic graph: build, page size, opening and use in Chromium.

Run from the repository root::

    PYTHONPATH=.:tests .venv/bin/python benchmarks/bench_intel.py            # about 50,000 people
    PYTHONPATH=.:tests .venv/bin/python benchmarks/bench_intel.py --quick    # about 5,000, a smoke test

Writes ``benchmarks/results/intel.json``, with the targets of issue 22 (build under 15 s, page under 6 MB,
open under 3 s) checked in ``targets``. Chromium runs headless with ``--disable-gpu``, so WebGL is drawn
by the software rasteriser (SwiftShader): a desktop with a GPU draws faster than measured here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "intel.json"

#: Synthetic involvements per person in ``synthetic_inputs`` (about 3.85 at its defaults).
_INVOLVEMENTS_PER_PERSON = 3.85

#: Above this many people the benchmark does not time ``brokers()`` (see ``main``).
BROKERS_MAX_NODES = 10_000

_FRAME = "() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))"


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - t0, 2)


def _browser(path: Path, known: str, other: str) -> dict:
    from support.browser import open_page

    t0 = time.perf_counter()
    report = open_page(path, settle_ms=0)
    page = report.page
    page.wait_for_selector("body[data-ready='true']", timeout=120_000)
    page.evaluate(_FRAME)
    opened = time.perf_counter() - t0
    out = {
        "open_s": round(opened, 2),
        "console_errors": report.console_errors,
        "requests_external": report.requests_external,
    }
    # navigation start -> page ready and two frames drawn, as the page measured it (open_s adds playwright's
    # page creation and open_page's screenshot)
    page.wait_for_function("window.intel.timings.firstFramesMs !== undefined")
    out["open_in_page_ms"] = {k: round(v, 1) for k, v in page.evaluate("window.intel.timings").items()}
    out["view_at_open"] = page.get_attribute("#count", "data-view")
    out["people_in_webgl_graph_at_open"] = int(page.get_attribute("#count", "data-in-graph"))
    total = int(page.get_attribute("#count", "data-visible-nodes"))

    def measure(action_js: str) -> float:
        return round(
            page.evaluate(
                f"async () => {{ const t0 = performance.now(); {action_js}; await ({_FRAME})(); "
                "return performance.now() - t0; }"
            ),
            1,
        )

    out["filter_age_band_ms"] = measure("document.querySelector(\"#bandset input[data-band='0']\").click()")
    out["visible_after_age_filter"] = int(page.get_attribute("#count", "data-visible-nodes"))
    out["filter_relation_ms"] = measure("document.querySelector('#relset input').click()")
    out["visible_after_relation_filter"] = int(page.get_attribute("#count", "data-visible-nodes"))
    out["reset_ms"] = measure("document.getElementById('reset').click()")
    t0 = time.perf_counter()
    page.fill("#search", known)
    page.press("#search", "Enter")
    page.wait_for_selector("#person-id")
    out["search_and_evidence_s"] = round(time.perf_counter() - t0, 2)
    out["ego_2_hops_ms"] = measure(
        "const h = document.getElementById('hops'); h.value = '2'; h.dispatchEvent(new Event('change'))"
    )
    out["visible_in_ego"] = int(page.get_attribute("#count", "data-visible-nodes"))
    out["visible_total"] = total
    out["ego_off_ms"] = measure(
        "const h = document.getElementById('hops'); h.value = '0'; h.dispatchEvent(new Event('change'))"
    )
    out["group_largest_ms"] = measure(
        "const s = document.getElementById('group'); s.selectedIndex = 1; s.dispatchEvent(new Event('change'))"
    )
    out["visible_in_largest_group"] = int(page.get_attribute("#count", "data-visible-nodes"))
    out["partial_search_ms"] = measure(
        "const q = document.getElementById('search'); q.value = q.value.slice(0, -2); "
        "q.dispatchEvent(new Event('change'))"
    )
    out["partial_search_matches"] = page.locator("#matches button.person").count()
    page.click("#reset")
    page.fill("#path-from", known)
    page.fill("#path-to", other)
    out["find_path_ms"] = measure("document.getElementById('path-find').click()")
    out["find_path_result"] = page.inner_text("#result")
    page.check("#path-timed")
    out["find_time_ordered_path_ms"] = measure("document.getElementById('path-find').click()")
    out["find_time_ordered_path_result"] = page.inner_text("#result")
    page.click("#reset")
    out["export_links_csv_ms"] = measure("window.intel.csv.links()")
    if out["view_at_open"] == "focused":
        out["show_everyone_ms"] = measure("document.getElementById('show-all').click()")
        out["people_in_webgl_graph_everyone"] = int(page.get_attribute("#count", "data-in-graph"))
        out["filter_age_band_everyone_ms"] = measure(
            "document.querySelector(\"#bandset input[data-band='0']\").click()"
        )
    # wall clock of a second open of the same page (reload), without open_page's screenshot
    t0 = time.perf_counter()
    page.reload(wait_until="load")
    page.wait_for_function(
        "window.intel && window.intel.timings && window.intel.timings.firstFramesMs !== undefined", timeout=120_000
    )
    out["reopen_to_first_frames_s"] = round(time.perf_counter() - t0, 2)
    out["console_errors"] = report.console_errors
    out["requests_external"] = report.requests_external
    page.close()
    return out


def _analytics(persons: int, seed: int, pivots: int):
    from ctxrisk.analytics.graph import adults_of_concern, brokers, build_graph, centrality, groups
    from ctxrisk.analytics.graph.synthetic import synthetic_inputs

    inputs, t_gen = _timed(synthetic_inputs, int(persons * _INVOLVEMENTS_PER_PERSON), seed=seed)
    g, t_build = _timed(build_graph, inputs)
    members, t_groups = _timed(groups, g, seeds=[seed])
    cent, t_cent = _timed(centrality, g, k=pivots, seed=seed)
    adults, t_adults = _timed(adults_of_concern, g, min_children=2)
    if g.number_of_nodes() <= BROKERS_MAX_NODES:
        brk, t_brk = _timed(brokers, g, members, exact_max_nodes=5000, seed=seed)
        broker_source = "ctxrisk.analytics.graph.brokers"
    else:
        # brokers() adds Burt's constraint (networkx, pure Python, O(sum of squared degrees)): minutes at 5k people,
        # hours at 50k. The page only reads person_id, betweenness and groups_linked, so take them from centrality.
        group_of = dict(zip(members["person_id"], members["group_id"], strict=True))
        linked = {n: len({group_of[m] for m in g.neighbors(n)} - {group_of[n]}) for n in g.nodes}
        brk = cent[["person_id", "betweenness"]].assign(groups_linked=cent["person_id"].map(linked))
        brk = brk.sort_values("betweenness", ascending=False, kind="stable")
        t_brk = None
        broker_source = "centrality betweenness + groups linked (brokers() skipped above 10,000 people)"
    python_s = {
        "generate": t_gen,
        "build_graph": t_build,
        "groups_1_seed": t_groups,
        f"centrality_{pivots}_pivots": t_cent,
        "adults_of_concern": t_adults,
        "brokers": t_brk,
    }
    return g, members, cent, adults, brk, python_s, broker_source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000, help="Approximate number of people.")
    parser.add_argument("--quick", action="store_true", help="About 5,000 people.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pivots", type=int, default=100, help="Betweenness pivots (centrality k).")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="Pickle of the analytics inputs (graph, groups, centrality, adults, brokers and their timings): "
        "read when it exists, else written, so the page can be re-measured without recomputing centrality.",
    )
    args = parser.parse_args()
    persons = 5_000 if args.quick else args.persons

    from ctxrisk.maps.intel import build_intel_page
    from ctxrisk.maps.selfcontained import write_html

    if args.cache is not None and args.cache.is_file():
        with args.cache.open("rb") as fh:
            cached = pickle.load(fh)  # noqa: S301 - a file this script wrote
        g, members, cent, adults, brk = cached["inputs"]
        python_s, broker_source = cached["python_s"], cached["brokers_source"]
    else:
        g, members, cent, adults, brk, python_s, broker_source = _analytics(persons, args.seed, args.pivots)
        if args.cache is not None:
            with args.cache.open("wb") as fh:
                pickle.dump(
                    {"inputs": (g, members, cent, adults, brk), "python_s": python_s, "brokers_source": broker_source},
                    fh,
                )
    html, t_page = _timed(
        build_intel_page,
        g,
        communities=members,
        centrality=cent,
        adults=adults,
        brokers=brk,
        period="synthetic",
        made_at=dt.datetime.now(dt.UTC),
    )
    flagged = adults.loc[adults["flagged"], "person_id"].tolist() or list(g.nodes)[:2]
    known, other = flagged[0], (flagged[1:] or list(g.nodes)[-1:])[0]
    folder = Path(tempfile.mkdtemp(prefix="ctxrisk-bench-intel-"))
    path = write_html(html, folder / "intel.html")
    result = {
        "machine": {"python": platform.python_version(), "processor": platform.machine(), "cores": os.cpu_count()},
        "seed": args.seed,
        "graph": {
            "people": g.number_of_nodes(),
            "links": g.number_of_edges(),
            "evidence_items": sum(len(d.get("evidence") or []) for _, _, d in g.edges(data=True)),
            "groups": int(members["group_id"].nunique()),
            "adults_listed": len(adults),
            "adults_flagged": int(adults["flagged"].sum()),
        },
        "python_s": python_s | {"brokers_source": broker_source, "build_intel_page": t_page},
        "page_bytes": len(html.encode("utf-8")),
        "load_average_before": [round(v, 2) for v in os.getloadavg()],
        "chromium": _browser(path, known, other),
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "note": (
            "headless Chromium with --disable-gpu: WebGL drawn in software (SwiftShader) on 2 cores, other jobs "
            "running (see load_average_*). open_s is wall clock of a new tab, load and the harness screenshot; "
            "open_in_page_ms is the page's own clock from navigation start (firstFramesMs: two frames drawn after"
            " ready); reopen_to_first_frames_s is a reload without the screenshot. Above "
            "ctxrisk.maps.intel.FOCUS_THRESHOLD people the page opens on flagged adults and children at risk "
            "(people_in_webgl_graph_at_open); "
            "show_everyone_ms and filter_age_band_everyone_ms time the whole graph drawn on request."
        ),
    }
    opened = result["chromium"]["open_in_page_ms"]["firstFramesMs"] / 1000
    result["targets"] = {
        "build_intel_page_s": {"measured": t_page, "target": 15, "met": t_page < 15},
        "page_mb": {"measured": round(result["page_bytes"] / 1e6, 2), "target": 6, "met": result["page_bytes"] < 6e6},
        "open_to_first_frames_s": {"measured": round(opened, 2), "target": 3, "met": opened < 3},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
