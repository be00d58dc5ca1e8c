"""Tests for ctxrisk.synthetic.sample: contract, determinism, planted patterns, scaling and language."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import h3
import networkx as nx
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import adjusted_rand_score

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.geo import bng_to_wgs84, wgs84_to_bng
from ctxrisk.pipelines.identifiers import find_identifier_columns
from ctxrisk.pipelines.kinds import KINDS
from ctxrisk.synthetic import FILES, SCHEMAS, THEMES, generate_sample, parse_scale, world

REPO = Path(__file__).resolve().parents[2]
N = 2000
TIME_COLUMNS = {
    "incidents": ["occurred_at"],
    "missing": ["started_at", "ended_at", "rhi_offered_at", "rhi_completed_at"],
    "associations": ["observed_at"],
    "intelligence": ["reported_at"],
    "screenings": ["screened_at"],
    "referrals": ["referred_at"],
}
# Victim-blaming phrases that must never appear in product text (a child is "exploited" or "at risk").
BANNED = (
    "prostitut",
    "drug runner",
    "putting themselves at risk",
    "put themselves at risk",
    "consent",
    "promiscuous",
    "risky behaviour",
    "lifestyle choice",
    "sexually active",
    "boyfriend",
    "streetwise",
    "willing participant",
)


def _read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sample")
    generate_sample(path, seed=7, incidents=N)
    return path


@pytest.fixture(scope="module")
def truth(out: Path) -> dict:
    return json.loads((out / "ground_truth.json").read_text())


@pytest.fixture(scope="module")
def incidents_xy(out: Path) -> pd.DataFrame:
    """Incidents with BNG coordinates for every row (converted where the row gave WGS84)."""
    inc = _read(out, "incidents")
    x = pd.to_numeric(inc.easting, errors="coerce").to_numpy(float).copy()
    y = pd.to_numeric(inc.northing, errors="coerce").to_numpy(float).copy()
    wgs = np.isnan(x)
    x[wgs], y[wgs] = wgs84_to_bng(
        inc.latitude[wgs].astype(float).to_numpy(), inc.longitude[wgs].astype(float).to_numpy()
    )
    return inc.assign(x=x, y=y)


def test_parse_scale_forms():
    assert [parse_scale(s) for s in ("5000", "100k", "1M", "10M", "2.5m", "10_000", " 7K ")] == [
        5000,
        100_000,
        1_000_000,
        10_000_000,
        2_500_000,
        10_000,
        7000,
    ]
    assert parse_scale(1234) == 1234


@pytest.mark.parametrize("text", ["", "ten", "1G", "-5", "0", "1.5", "1e6"])
def test_parse_scale_refuses(text):
    with pytest.raises(ValidationError, match="scale"):
        parse_scale(text)


def test_generate_refuses_bad_options(tmp_path):
    with pytest.raises(ValidationError, match="at least 1,000"):
        generate_sample(tmp_path, incidents=999)
    with pytest.raises(ValidationError, match="format 'xlsx'"):
        generate_sample(tmp_path, fmt="xlsx")
    with pytest.raises(ValidationError, match="seed"):
        generate_sample(tmp_path, seed=-1)


def test_files_and_columns_match_the_contract(out):
    for name in FILES:
        header = (out / f"{name}.csv").read_text().split("\n", 1)[0].split(",")
        assert header == SCHEMAS[name].names
        assert set(header) == set(KINDS[name].column_names), name
    assert {p.name for p in out.iterdir()} == {f"{n}.csv" for n in FILES} | {"ground_truth.json", "README.md"}
    assert "synthetic" in (out / "README.md").read_text().lower()


def test_ingest_validation_accepts_every_row(out):
    from ctxrisk.pipelines.ingest import prepare_batch
    from ctxrisk.pipelines.settings import load_settings
    from ctxrisk.pipelines.tabular import read_text_table

    settings = load_settings(None)
    for name in FILES:
        batch = prepare_batch(name, read_text_table(out / f"{name}.csv"), settings=settings)
        assert batch.rejected_records == 0, (name, batch.rejects.head())
        assert len(batch.rows) == batch.rows_read > 0


def test_row_counts_at_the_default_scale_are_pinned(tmp_path):
    summary = generate_sample(tmp_path, seed=0, incidents=world.DEFAULT_INCIDENTS)
    rows = summary.rows()
    assert (rows["incidents"], rows["persons"], rows["missing"], rows["intelligence"]) == (5000, 2000, 600, 500)
    assert rows["associations"] == 1500
    assert set(_read(tmp_path, "referrals").type) == set(world.REFERRAL_TYPES)
    for name, n in rows.items():
        assert n == len((tmp_path / f"{name}.csv").read_text().splitlines()) - 1


def test_committed_sample_is_the_default_output(tmp_path):
    committed = REPO / "data_samples"
    if not (committed / "incidents.csv").exists():
        pytest.skip("data_samples/ not generated yet")
    generate_sample(tmp_path, seed=0)
    for name in [*(f"{n}.csv" for n in FILES), "ground_truth.json"]:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name


def test_same_seed_gives_identical_bytes_and_other_seeds_differ(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_sample(a, seed=3, incidents=1500)
    generate_sample(b, seed=3, incidents=1500)
    generate_sample(c, seed=4, incidents=1500)
    for name in [*(f"{n}.csv" for n in FILES), "ground_truth.json", "README.md"]:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "incidents.csv").read_bytes() != (c / "incidents.csv").read_bytes()


def test_output_does_not_depend_on_string_hashing(tmp_path):
    code = (
        "import sys; from ctxrisk.synthetic.sample import generate_sample; generate_sample(sys.argv[1], incidents=1000)"
    )
    for k, hash_seed in enumerate(("1", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / str(k))], check=True, env=env, cwd=REPO)
    for name in [*(f"{n}.csv" for n in FILES), "ground_truth.json"]:
        assert (tmp_path / "0" / name).read_bytes() == (tmp_path / "1" / name).read_bytes(), name


def test_chunked_streaming_matches_rows_and_is_deterministic(tmp_path, monkeypatch):
    from ctxrisk.synthetic import encode, events, links

    for module in (encode, events, links):  # every writer streams in chunks of this many rows
        monkeypatch.setattr(module, "CHUNK_ROWS", 700)
    s1 = generate_sample(tmp_path / "a", seed=1, incidents=3000)
    s2 = generate_sample(tmp_path / "b", seed=1, incidents=3000)
    assert s1.rows() == s2.rows()
    assert s1.incidents == 3000
    inc = _read(tmp_path / "a", "incidents")
    assert inc.incident_id.is_unique and inc.incident_id.iloc[-1] == "INC-0003000"
    inv = _read(tmp_path / "a", "involvements")
    assert not inv.duplicated(["person_id", "event_id", "event_type", "role"]).any()
    assert (tmp_path / "a" / "involvements.csv").read_bytes() == (tmp_path / "b" / "involvements.csv").read_bytes()


def test_parquet_holds_the_same_rows_as_csv(tmp_path):
    generate_sample(tmp_path / "c", seed=2, incidents=1200)
    summary = generate_sample(tmp_path / "p", seed=2, incidents=1200, fmt="parquet")
    assert summary.fmt == "parquet"
    for name in FILES:
        table = pq.read_table(tmp_path / "p" / f"{name}.parquet")
        assert table.schema.names == SCHEMAS[name].names
        frame = _read(tmp_path / "c", name)
        assert table.num_rows == len(frame) == getattr(summary, name)
    ids = pq.read_table(tmp_path / "p" / "incidents.parquet").column("incident_id").to_pylist()
    assert ids == _read(tmp_path / "c", "incidents").incident_id.tolist()


def test_sizes_scale_in_proportion(tmp_path):
    small = generate_sample(tmp_path / "s", seed=5, incidents=2000).rows()
    large = generate_sample(tmp_path / "l", seed=5, incidents=8000).rows()
    for name in ("incidents", "persons", "missing", "intelligence"):
        assert large[name] == 4 * small[name], name
    assert large["associations"] == pytest.approx(4 * small["associations"], rel=0.01)
    for name in ("involvements", "screenings", "referrals"):
        assert large[name] == pytest.approx(4 * small[name], rel=0.25), name


def test_ids_times_coordinates_and_values_are_well_formed(out):
    inc = _read(out, "incidents")
    assert inc.incident_id.str.fullmatch(r"INC-\d{7}").all()
    per = _read(out, "persons")
    assert per.person_id.str.fullmatch(r"P\d{6}").all() and per.person_id.is_unique
    assert _read(out, "missing").episode_id.str.fullmatch(r"MIS-\d{6}").all()
    assert _read(out, "intelligence").intel_id.str.fullmatch(r"INT-\d{6}").all()
    for name, columns in TIME_COLUMNS.items():
        frame = _read(out, name)
        for column in columns:
            values = frame[column][frame[column] != ""]
            assert values.str.fullmatch(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:00)?").all(), (name, column)
            assert values.min() >= "2024-10-01"
            if name != "missing":
                assert values.max() < "2026-10-01", (name, column)
    date_only = inc.occurred_at.str.len() == 10
    assert 0.01 < date_only.mean() < 0.08
    bng_only = inc.latitude == ""
    assert 0.02 < bng_only.mean() < 0.12
    assert (inc.easting[bng_only] != "").all() and (inc.easting[~bng_only] == "").all()
    lat = inc.latitude[~bng_only].astype(float)
    assert lat.between(52.9, 53.5).all()
    assert set(inc.theme) - {""} <= set(THEMES)
    assert (inc.theme == "").mean() < 0.1
    intel = _read(out, "intelligence")
    assert set(intel.theme) - {""} <= set(THEMES)
    assert set(intel.source_evaluation) <= {"", "1", "2", "3"}
    assert set(intel.intelligence_evaluation) <= {"", "A", "B", "C", "D", "E"}
    assert set(intel.handling) <= {"", "P", "C"}
    assoc = _read(out, "associations")
    assert (assoc.person_a < assoc.person_b).all()
    assert not assoc.duplicated(["person_a", "person_b", "relation", "observed_at"]).any()
    assert set(_read(out, "screenings").risk_level) == {"low", "medium", "high"}
    assert set(_read(out, "referrals").type) <= set(world.REFERRAL_TYPES)


def test_categories_map_to_their_themes_in_the_packaged_settings():
    config = tomllib.loads((REPO / "pipelines" / "default_config.toml").read_text())
    mapping = config["themes"]["categories"]
    for category, theme in world.CATEGORY_THEMES.items():
        assert mapping.get(category.lower(), "other") == theme, category
        assert theme in THEMES


def test_every_person_reference_exists(out, truth):
    persons = set(_read(out, "persons").person_id)
    inv = _read(out, "involvements")
    assert set(inv.person_id) <= persons
    miss = _read(out, "missing")
    found_with = {p for v in miss.found_with if v for p in v.split(";")}
    intel = {p for v in _read(out, "intelligence").persons if v for p in v.split(";")}
    assoc = _read(out, "associations")
    assert set(miss.person_id) | found_with | intel | set(assoc.person_a) | set(assoc.person_b) <= persons
    named = set(truth["adults_of_concern"]) | {p for g in truth["peer_groups"] for p in g}
    for net in truth["networks"]:
        named |= set(net["adults"]) | set(net["children"])
    assert named <= persons
    assert set(inv.event_id[inv.event_type == "incident"]) <= set(_read(out, "incidents").incident_id)
    assert set(inv.event_id[inv.event_type == "missing"]) == set(miss.episode_id)


def test_no_direct_identifiers(out):
    for name in FILES:
        frame = _read(out, name)
        assert find_identifier_columns(list(frame.columns), frame.head(2000)) == [], name
    per = _read(out, "persons")
    births = per.birth_year_month[per.birth_year_month != ""]
    assert births.str.fullmatch(r"\d{4}-(0[1-9]|1[0-2])").all()


def test_no_victim_blaming_language(out):
    texts = [(out / p).read_text().lower() for p in sorted(f.name for f in out.iterdir())]
    texts.append((REPO / "ctxrisk" / "synthetic" / "sample.py").read_text().lower())
    for text in texts:
        for phrase in BANNED:
            assert phrase not in text, phrase


def test_ground_truth_shape(truth):
    assert truth["seed"] == 7 and truth["incidents"] == N
    sites = truth["locations_of_concern"]
    assert len(sites) == 5  # round(8 * sqrt(2000 / 5000))
    for s in sites:
        assert {
            "name",
            "latitude",
            "longitude",
            "easting",
            "northing",
            "radius_m",
            "themes",
            "location_type",
            "pattern",
            "start",
            "end",
        } <= set(s)
        assert set(s["themes"]) <= set(THEMES) and s["radius_m"] == 60
        e, n = wgs84_to_bng(np.array([s["latitude"]]), np.array([s["longitude"]]))
        assert abs(e[0] - s["easting"]) < 1 and abs(n[0] - s["northing"]) < 1
        assert h3.latlng_to_cell(s["latitude"], s["longitude"], 9) == s["h3_res9"]
    assert {s["trend"] for s in sites} >= {"persistent", "emerging", "diminishing"}
    assert len(truth["peer_groups"]) > len(truth["networks"]) >= 2
    assert all(5 <= len(g) <= 8 for g in truth["peer_groups"])


def test_planted_site_events_fall_within_radius_in_one_cell(incidents_xy, truth):
    inc = incidents_xy
    lat, lon = bng_to_wgs84(inc.x.to_numpy(), inc.y.to_numpy())
    cells = pd.Series([h3.latlng_to_cell(a, b, 9) for a, b in zip(lat, lon, strict=False)])
    counts = cells.value_counts()
    site_cells = {s["h3_res9"] for s in truth["locations_of_concern"]}
    near_sites = set().union(*(h3.grid_disk(c, 1) for c in site_cells))
    background_max = counts[[c not in near_sites for c in counts.index]].max()
    for s in truth["locations_of_concern"]:
        d = np.hypot(inc.x - s["easting"], inc.y - s["northing"])
        same_type = (d < 400) & (inc.location_type == s["location_type"])
        core = inc[d <= s["radius_m"]]
        assert len(core) >= 20, s["name"]
        assert (d[same_type] <= s["radius_m"]).mean() >= 0.85, s["name"]
        assert (cells[core.index] == s["h3_res9"]).all(), s["name"]
        assert counts[s["h3_res9"]] >= 2 * background_max, s["name"]
        halo = inc[(d > 80) & (d < 400) & (inc.location_type == "street")]
        assert len(halo) > len(core), s["name"]


def test_planted_sites_follow_their_trend_and_time_pattern(incidents_xy, truth):
    inc = incidents_xy
    timed = inc.occurred_at.str.len() > 10
    for s in truth["locations_of_concern"]:
        d = np.hypot(inc.x - s["easting"], inc.y - s["northing"])
        core = inc[(d <= 60) & (inc.location_type == s["location_type"]) & timed]
        when = pd.to_datetime(core.occurred_at)
        assert when.min() >= pd.Timestamp(s["start"])
        assert when.max() < pd.Timestamp(s["end"]) + pd.Timedelta(days=1)
        in_hours = when.dt.hour.isin(s["pattern"]["hours"]).mean()
        assert in_hours >= 0.75, s["name"]
        if s["trend"] == "diminishing":
            mid = pd.Timestamp(s["start"]) + (pd.Timestamp(s["end"]) - pd.Timestamp(s["start"])) / 2
            assert (when < mid).mean() > 0.65
        if s["trend"] == "emerging":
            assert when.min() > pd.Timestamp("2025-07-01")


def test_missing_children_are_found_at_planted_sites_with_adults(out, truth):
    miss = _read(out, "missing")
    x = pd.to_numeric(miss.found_easting, errors="coerce").to_numpy(float).copy()
    y = pd.to_numeric(miss.found_northing, errors="coerce").to_numpy(float).copy()
    wgs = miss.found_latitude != ""
    x[wgs], y[wgs] = wgs84_to_bng(
        miss.found_latitude[wgs].astype(float).to_numpy(), miss.found_longitude[wgs].astype(float).to_numpy()
    )
    at_site = np.zeros(len(miss), bool)
    for s in truth["locations_of_concern"]:
        at_site |= np.hypot(x - s["easting"], y - s["northing"]) <= 60
    assert at_site.mean() > 0.1
    adults = set(truth["adults_of_concern"])
    with_adult = miss.found_with.map(lambda v: bool(adults & set(v.split(";"))))
    assert with_adult[at_site].mean() > 0.3 and with_adult[~at_site].sum() == 0
    # return home interviews: some offered within 72 h, some later, some never
    end = pd.to_datetime(miss.ended_at.replace("", None))
    offered = pd.to_datetime(miss.rhi_offered_at.replace("", None))
    done = pd.to_datetime(miss.rhi_completed_at.replace("", None))
    hours = (offered - end).dt.total_seconds() / 3600
    assert (hours <= 72).mean() > 0.5 and (hours > 72).sum() > 0 and offered.isna().sum() > 0
    assert (done.dropna() >= offered[done.notna()]).all()
    assert (offered.dropna() > end[offered.notna()]).all()


def test_adults_of_concern_are_linked_to_several_children(out, truth):
    inv = _read(out, "involvements")
    assoc = _read(out, "associations")
    intel = _read(out, "intelligence")
    for net in truth["networks"]:
        for adult, kids in net["links"].items():
            assert len(kids) >= 3
            pairs = set(zip(assoc.person_a, assoc.person_b, strict=False))
            assert all(tuple(sorted((adult, k))) in pairs for k in kids)
            suspect_events = set(inv.event_id[(inv.person_id == adult) & (inv.role == "suspect")])
            victims = set(inv.person_id[inv.event_id.isin(suspect_events) & (inv.role == "victim")])
            assert len(victims & set(kids)) >= 2, adult
            named = intel.persons.str.contains(adult, regex=False)
            assert named.sum() >= 1


def test_peer_groups_are_recovered_by_community_detection(out, truth):
    g = nx.Graph()
    assoc = _read(out, "associations")
    for a, b in zip(assoc.person_a, assoc.person_b, strict=False):
        g.add_edge(a, b, weight=g.get_edge_data(a, b, {"weight": 0})["weight"] + 1)
    inv = _read(out, "involvements")
    for _, people in inv.groupby(["event_type", "event_id"]).person_id:
        people = sorted(set(people))
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                g.add_edge(a, b, weight=g.get_edge_data(a, b, {"weight": 0})["weight"] + 1)
    communities = nx.community.louvain_communities(g, weight="weight", seed=0)
    label = {node: k for k, members in enumerate(communities) for node in members}
    truth_labels, found = [], []
    for k, group in enumerate(truth["peer_groups"]):
        truth_labels += [k] * len(group)
        found += [label[p] for p in group]
    assert adjusted_rand_score(truth_labels, found) >= 0.8


def test_ages_sexes_and_screening_risk(out, truth):
    per = _read(out, "persons").set_index("person_id")
    born = pd.to_datetime(per.birth_year_month.replace("", None), format="%Y-%m")
    age_start = (pd.Timestamp("2024-10-01") - born).dt.days / 365.25
    age_end = (pd.Timestamp("2026-09-30") - born).dt.days / 365.25
    kids = [p for g in truth["peer_groups"] for p in g]
    assert (age_start[kids] >= 10).all() and (age_end[kids] < 18).all()
    assert (age_start[truth["adults_of_concern"]] >= 18).all()
    assert set(per.sex) <= {"female", "male", "other", "unknown"}
    assert set(per.looked_after) == {"true", "false", ""}
    assert (per.looked_after[truth["adults_of_concern"]] == "").all()
    scr = _read(out, "screenings")
    networked = {c for net in truth["networks"] for c in net["children"]}
    score = scr.risk_level.map({"low": 0, "medium": 1, "high": 2})
    is_net = scr.person_id.isin(networked)
    assert score[is_net].mean() > score[~is_net].mean() + 0.5
    assert set(scr.person_id[scr.tool == "full"]) <= set(scr.person_id[scr.tool == "pre_screen"])
    first = scr.groupby("person_id").apply(lambda f: f.sort_values("screened_at").tool.iloc[0], include_groups=False)
    assert (first == "pre_screen").all()
    ref = _read(out, "referrals")
    assert ref.person_id[ref.type == "mace"].isin(networked).mean() > 0.3
    assert all(o in world._OUTCOME_LIST for o in ref.outcome if o)


def test_readme_and_ground_truth_say_synthetic(out, truth):
    assert truth["synthetic"] is True
    text = (out / "README.md").read_text()
    assert "made up" in text and "ground_truth.json" in text
    assert re.search(r"\| `incidents.csv` \| 2,000 \|", text)


def test_ctxrisk_sample_writes_owner_only_files_even_under_umask_000(tmp_path):
    import stat

    from typer.testing import CliRunner

    from ctxrisk.cli.main import app

    out = tmp_path / "new" / "sample"
    (tmp_path / "old").mkdir()
    stale = tmp_path / "old" / "persons.csv"
    stale.write_text("x\n")
    stale.chmod(0o666)
    previous = os.umask(0)
    try:
        first = CliRunner().invoke(app, ["sample", "--out", str(out), "--scale", "1000"])
        second = CliRunner().invoke(app, ["sample", "--out", str(tmp_path / "old"), "--scale", "1000"])
    finally:
        os.umask(previous)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert os.umask(previous) == previous  # the caller's umask is back
    for folder in (out, out.parent, tmp_path / "old"):
        files = sorted(folder.glob("*.*")) if folder != out.parent else []
        if folder != tmp_path / "old":
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files), [
            (f.name, oct(f.stat().st_mode)) for f in files
        ]
    assert len(list(out.glob("*.*"))) == len(FILES) + 2  # the files, ground_truth.json and README.md


def test_no_two_episodes_of_one_child_overlap_across_chunks(tmp_path, monkeypatch, con, settings):
    from ctxrisk.pipelines.ingest import ingest_file
    from ctxrisk.synthetic import encode

    monkeypatch.setattr(encode, "CHUNK_ROWS", 100)  # the episodes come in 24 chunks: state spans chunks
    generate_sample(tmp_path, seed=0, incidents=20_000)
    result = ingest_file(con, "missing", tmp_path / "missing.csv", settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2400, 2400, 0)


def _episodes(person, t, dur, *, offer=-1) -> dict[str, np.ndarray]:
    n = len(t)
    return {
        "person": np.array(person, np.int64),
        "t": np.array(t, np.int64),
        "dur": np.array(dur, np.int64),
        "offer": np.full(n, offer, np.int64),
        "done": np.full(n, -1, np.int64),
        "fx": np.zeros(n),
        "fy": np.zeros(n),
        "w1": np.full(n, -1, np.int64),
    }


def test_an_overlapping_episode_moves_by_whole_weeks_or_to_another_child():
    from ctxrisk.synthetic.timeline import WEEK, Timeline

    home = (np.arange(10) * 100.0, np.zeros(10))
    timeline = Timeline(np.random.default_rng(0), (2, 10), home, 0)
    day = 1440
    first = _episodes([2, 3], [30 * day, day], [600, -1])  # child 3's episode, from day 1, is still open
    timeline.place(first, np.zeros(2, bool))
    # Child 2 again 2 h into its first episode, with an interview offered 3 h after it ends; child 3 again on
    # day 10, which no week can hold (every week after day 1 is inside the open episode).
    second = _episodes([2, 3], [30 * day + 120, 10 * day], [600, 600], offer=30 * day + 900)
    timeline.place(second, np.zeros(2, bool))
    assert second["t"][0] == 30 * day + 120 - WEEK and second["offer"][0] == 30 * day + 900 - WEEK
    assert second["person"][1] not in (2, 3) and second["fx"][1] == home[0][second["person"][1]] - 300.0
    assert (timeline.moved, timeline.reassigned) == (1, 1)
