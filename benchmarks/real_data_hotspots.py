"""The hot spot defaults on data the project did not make: real police.uk files and an independent partnership.

Usage::

    .venv/bin/python benchmarks/real_data_hotspots.py [--out benchmarks/results/real_data_hotspots.json]

For each data set a fresh warehouse is built in a temporary folder (``ctxrisk init`` and ``ingest
police-uk-street``) and ``ctxrisk hotspots`` runs with every default. Reported: the unit chosen and why,
the study region and its area, events left out, hot units, and

* Merseyside 2018-12 (``../shared/data/police_uk/street/``, 12,636 rows): hot units in Liverpool city centre
  (within 1 km of 53.4055 N, 2.9800 W);
* Merseyside 2018-12 and the City of London's 20 months in one warehouse: hot units in Liverpool city centre
  and in the City (within 1.5 km of 51.5155 N, 0.0922 W);
* City of London 2023-05..2024-12 (20 real months): the rolling-origin back-test (6 months train, 1 test) with
  the region drawn from the data and with ``--study-area E09000001``;
* Norfolk (``tests/support/hotspot_fixtures.norfolk_street_files``, written apart from ``ctxrisk sample``:
  four towns, snapping to shared map points, two planted sites, out-of-force points): hot units within 250 m
  of each planted site.

Where the region drawn from the data falls into separate groups, each is analysed apart (one FDR over all):
``groups`` and ``hot_per_group`` say so, and ``*_one_null`` gives the same count with one total-permutation
null and the automatic count over the whole region (as before groups were analysed apart).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ctxrisk.analytics.forecast import run_backtest  # noqa: E402
from ctxrisk.analytics.gistar import GiStar, auto_permutations  # noqa: E402
from ctxrisk.analytics.hotspots import run_hotspots  # noqa: E402
from ctxrisk.pipelines.geo import wgs84_to_bng  # noqa: E402
from ctxrisk.pipelines.runner import ingest_paths  # noqa: E402
from ctxrisk.pipelines.settings import load_settings  # noqa: E402
from ctxrisk.pipelines.warehouse import connect  # noqa: E402

STREET = ROOT.parent / "shared" / "data" / "police_uk" / "street"
LIVERPOOL = (53.4055, -2.9800)
CITY = (51.5155, -0.0922)


def _warehouse(folder: Path, files: list[Path]):
    settings = load_settings(None, warehouse=folder / "wh.duckdb")
    con = connect(settings=settings)
    ingest_paths(con, "police-uk-street", files, settings=settings)
    return settings, con


def _near(frame, lat: float, lon: float, metres: float) -> np.ndarray:
    e, n = wgs84_to_bng(frame["latitude"].to_numpy(float), frame["longitude"].to_numpy(float))
    pe, pn = wgs84_to_bng(np.array([lat]), np.array([lon]))
    return np.hypot(np.asarray(e) - pe[0], np.asarray(n) - pn[0]) <= metres


def _one_null_hot(result) -> np.ndarray:
    """Hot units of one total-permutation Gi* null over the whole region (the same units, counts and seed)."""
    w = result.units.w
    m = int((np.diff(w.indptr) > 0).sum())
    p = result.parameters
    y = result.frame["count"].to_numpy(float)
    return GiStar(y, w, permutations=auto_permutations(m, p["alpha"]), seed=p["seed"], randomisation="total").hot


def _summary(result) -> dict:
    p = result.parameters
    grouped = getattr(result.gistar.gistar, "hot_per_group", None)
    return {
        "unit": p["unit"],
        "scale_reason": p["scale_reason"],
        "study_region": p["study_region"],
        "study_area_km2": round(p["study_area_km2"], 2),
        "units": p["n_units"],
        "permutations": p["permutations"],
        "events_used": p["events_used"],
        "hot": p["n_hot"],
        "groups": result.units.n_groups,
        "hot_per_group": grouped().tolist() if grouped else [p["n_hot"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "real_data_hotspots.json")
    args = parser.parse_args()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "mers").mkdir()
        settings, con = _warehouse(folder / "mers", [STREET / "police-uk-2018-12-merseyside-street.csv"])
        r = run_hotspots(con, settings=settings)
        centre = _near(r.frame, *LIVERPOOL, 1_000)
        out["merseyside"] = _summary(r) | {
            "hot_in_liverpool_centre": int((r.frame["hot"] & centre).sum()),
            "hot_in_liverpool_centre_one_null": int((_one_null_hot(r) & centre).sum()),
        }
        con.close()

        (folder / "both").mkdir()
        months = sorted((STREET / "city-of-london-monthly").glob("*.csv"))
        settings, con = _warehouse(folder / "both", [STREET / "police-uk-2018-12-merseyside-street.csv", *months])
        r = run_hotspots(con, settings=settings)
        one = _one_null_hot(r)
        centre, city = _near(r.frame, *LIVERPOOL, 1_000), _near(r.frame, *CITY, 1_500)
        out["merseyside_and_city"] = _summary(r) | {
            "hot_in_liverpool_centre": int((r.frame["hot"] & centre).sum()),
            "hot_in_city": int((r.frame["hot"] & city).sum()),
            "hot_in_liverpool_centre_one_null": int((one & centre).sum()),
            "hot_in_city_one_null": int((one & city).sum()),
        }
        con.close()

        (folder / "col").mkdir()
        settings, con = _warehouse(folder / "col", months)
        out["city_of_london"] = _summary(run_hotspots(con, settings=settings))
        for label, area in (("drawn", None), ("E09000001", "E09000001")):
            bt = run_backtest(con, settings=settings, study_area=area, write=False)
            out["city_of_london"][f"backtest_{label}"] = bt.summary.round(4).to_dict(orient="records")
        con.close()

        from support.hotspot_fixtures import norfolk_street_files

        (folder / "nf").mkdir()
        sites = norfolk_street_files(folder / "nf" / "files")
        settings, con = _warehouse(folder / "nf", sorted((folder / "nf" / "files").glob("*.csv")))
        r = run_hotspots(con, settings=settings)
        one = _one_null_hot(r)
        out["norfolk"] = _summary(r)
        for name, (lat, lon) in sites.items():
            near = _near(r.frame, lat, lon, 250)
            out["norfolk"][f"hot_within_250m_of_{name}"] = int((r.frame["hot"] & near).sum())
            out["norfolk"][f"hot_within_250m_of_{name}_one_null"] = int((one & near).sum())
        con.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2, default=str) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
