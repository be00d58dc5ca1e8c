"""A hand-checkable worked example and a seeded synthetic generator of graph inputs (for tests and benchmarks)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ctxrisk.analytics.graph.inputs import GraphInputs

log = logging.getLogger(__name__)


def _t(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def worked_example() -> GraphInputs:
    """Eight pseudonymous people whose graph can be checked by hand.

    ========  ============  ====================================================================
    person    age band      recorded
    ========  ============  ====================================================================
    c1        child         victim in i1; found with a2 and c3 (m2); knows c4 (undated);
                            screened high 2024-02-01, medium 2024-08-01; looked after
    c2        child         victim in i2; social media contact with y1 (graded 2B, handling C)
    c3        child         victim in i3; c1 was found with c3 (m2)
    c4        child         missing m1, found with a1; phone contact with y1 2024-01-05
    a1        adult         suspect in i1 and i2; co-offender with a2 (1A)
    a2        adult         suspect in i3; co-subject of intelligence x1 (3C) with u1
    y1        young adult   suspect in i1
    u1        unknown       co-subject of intelligence x1
    ========  ============  ====================================================================

    Incidents: i1 2024-01-10 (c1, a1, y1: three people, so each pair weighs 1/2), i2 2024-03-05
    (c2, a1), i3 2024-06-01 (c3, a2). Missing episodes: m1 2024-04-01 (c4 found with a1), m2
    2024-07-01 (c1 found with a2 and c3). Person–location links: L1 (c1, c3, a2), L2 (c2, a1),
    L3 (c4).
    """
    persons = pd.DataFrame(
        {
            "person_id": ["c1", "c2", "c3", "c4", "a1", "a2", "y1", "u1"],
            "birth_year_month": ["2008-05", "2009-02", "2010-11", "2008-09", "1990-01", "1985-06", "2003-03", None],
            "sex": ["female", "male", "female", "female", "male", "male", "male", "unknown"],
            "looked_after": [True, False, False, True, None, None, None, None],
        }
    )
    rows = [
        ("c1", "i1", "incident", "victim", "2024-01-10", "child"),
        ("a1", "i1", "incident", "suspect", "2024-01-10", "adult"),
        ("y1", "i1", "incident", "suspect", "2024-01-10", "young_adult"),
        ("c2", "i2", "incident", "victim", "2024-03-05", "child"),
        ("a1", "i2", "incident", "suspect", "2024-03-05", "adult"),
        ("c3", "i3", "incident", "victim", "2024-06-01", "child"),
        ("a2", "i3", "incident", "suspect", "2024-06-01", "adult"),
        ("c4", "m1", "missing", "subject", "2024-04-01", "child"),
        ("a1", "m1", "missing", "found_with", "2024-04-01", "adult"),
        ("a2", "x1", "intelligence", "subject", "2024-05-20", "adult"),
        ("u1", "x1", "intelligence", "subject", "2024-05-20", "unknown"),
    ]
    involvements = pd.DataFrame(
        rows, columns=["person_id", "event_id", "event_type", "role", "occurred_at", "age_band"]
    )
    involvements["occurred_at"] = involvements["occurred_at"].map(_t)
    missing = pd.DataFrame(
        {
            "episode_id": ["m1", "m2"],
            "person_id": ["c4", "c1"],
            "started_at": [_t("2024-04-01"), _t("2024-07-01")],
            "found_with": [["a1"], ["a2", "c3"]],
        }
    )
    associations = pd.DataFrame(
        {
            "person_a": ["a1", "c2", "c1", "c4"],
            "person_b": ["a2", "y1", "c4", "y1"],
            "relation": ["co_offender", "social_media", "knows", "phone_contact"],
            "observed_at": [_t("2024-02-15"), _t("2024-05-01"), pd.NaT, _t("2024-01-05")],
            "source_evaluation": ["1", "2", None, None],
            "intelligence_evaluation": ["A", "B", None, None],
            "handling": ["P", "C", None, None],
        }
    )
    screenings = pd.DataFrame(
        {
            "person_id": ["c1", "c1", "c3"],
            "screened_at": [_t("2024-02-01"), _t("2024-08-01"), _t("2024-06-10")],
            "risk_level": ["high", "medium", "medium"],
        }
    )
    intelligence = pd.DataFrame(
        {
            "intel_id": ["x1"],
            "reported_at": [_t("2024-05-20")],
            "persons": [["a2", "u1"]],
            "source_evaluation": ["3"],
            "intelligence_evaluation": ["C"],
            "handling": ["P"],
        }
    )
    person_locations = pd.DataFrame(
        {
            "person_id": ["c1", "c3", "a2", "c2", "a1", "c4"],
            "location_id": ["L1", "L1", "L1", "L2", "L2", "L3"],
            "linked_at": [
                _t("2024-01-10"),
                _t("2024-06-01"),
                _t("2024-06-01"),
                _t("2024-03-05"),
                _t("2024-03-05"),
                _t("2024-04-01"),
            ],
        }
    )
    return GraphInputs(
        persons=persons,
        involvements=involvements,
        missing_episodes=missing,
        associations=associations,
        screenings=screenings,
        intelligence=intelligence,
        person_locations=person_locations,
    )


def synthetic_inputs(n_involvements: int = 1_000_000, *, seed: int = 0, group_size: int = 20) -> GraphInputs:
    """Seeded synthetic graph inputs with group structure, for benchmarks and scale tests.

    About one person per four involvements, in groups of ``group_size``; each incident draws 80%
    of its people from one group. Event sizes are 1 + Poisson(1.5), with one event in a thousand
    of 40–100 people (to exercise the large-event cap). Adds missing episodes (one per 50
    involvements), associations (one per 10) and screenings (10% of people).

    Parameters
    ----------
    n_involvements : int
        Approximate number of involvement rows (>= 100).
    seed : int
        Seed of the numpy generator; equal seeds give equal inputs.
    group_size : int
        Mean number of people per latent group.
    """
    rng = np.random.default_rng(seed)
    n_persons = max(50, n_involvements // 4)
    n_groups = max(1, n_persons // group_size)
    pid = np.array([f"p{i:07d}" for i in range(n_persons)], dtype=object)
    group_of = rng.integers(0, n_groups, n_persons)
    order = np.argsort(group_of, kind="stable")
    bounds = np.searchsorted(group_of[order], np.arange(n_groups + 1))

    sizes = 1 + rng.poisson(1.5, size=n_involvements // 2)
    big = rng.random(sizes.size) < 0.001
    sizes[big] = rng.integers(40, 101, int(big.sum()))
    cum = np.cumsum(sizes)
    sizes = sizes[: int(np.searchsorted(cum, n_involvements)) + 1]
    n_events = sizes.size
    event_of_row = np.repeat(np.arange(n_events), sizes)
    home = rng.integers(0, n_groups, n_events)[event_of_row]
    lo, hi = bounds[home], bounds[home + 1]
    span = np.maximum(hi - lo, 1)
    in_group = order[np.minimum(lo + (rng.random(event_of_row.size) * span).astype(np.int64), n_persons - 1)]
    anyone = rng.integers(0, n_persons, event_of_row.size)
    person_idx = np.where((rng.random(event_of_row.size) < 0.8) & (hi > lo), in_group, anyone)

    start = pd.Timestamp("2022-01-01", tz="UTC").value // 1000
    span_us = 3 * 365 * 86400 * 1_000_000
    event_time = start + rng.integers(0, span_us, n_events)
    birth_year = rng.integers(1960, 2014, n_persons)
    birth_month = rng.integers(1, 13, n_persons)
    occurred = pd.to_datetime(event_time[event_of_row], unit="us", utc=True)
    ages = occurred.year.to_numpy() - birth_year[person_idx] - (occurred.month.to_numpy() < birth_month[person_idx])
    band = np.where(ages < 18, "child", np.where(ages < 25, "young_adult", "adult")).astype(object)
    roles = np.array(["victim", "suspect", "associate", "witness"], dtype=object)[
        rng.choice(4, event_of_row.size, p=[0.35, 0.35, 0.2, 0.1])
    ]
    involvements = pd.DataFrame(
        {
            "person_id": pid[person_idx],
            "event_id": np.char.add("e", event_of_row.astype(str)).astype(object),
            "event_type": "incident",
            "role": roles,
            "occurred_at": occurred,
            "age_band": band,
        }
    ).drop_duplicates(["person_id", "event_id"])

    persons = pd.DataFrame(
        {
            "person_id": pid,
            "birth_year_month": [f"{y:04d}-{m:02d}" for y, m in zip(birth_year, birth_month, strict=True)],
            "sex": "unknown",
            "looked_after": rng.random(n_persons) < 0.05,
        }
    )
    n_eps = max(1, n_involvements // 50)
    kid = rng.integers(0, n_persons, n_eps)
    fw = [list(pid[rng.integers(0, n_persons, k)]) for k in rng.integers(0, 3, n_eps)]
    missing = pd.DataFrame(
        {
            "episode_id": [f"m{i}" for i in range(n_eps)],
            "person_id": pid[kid],
            "started_at": pd.to_datetime(start + rng.integers(0, span_us, n_eps), unit="us", utc=True),
            "found_with": fw,
        }
    )
    n_assoc = max(1, n_involvements // 10)
    a = rng.integers(0, n_persons, n_assoc)
    same_group = order[np.minimum(bounds[group_of[a]] + rng.integers(0, group_size, n_assoc), n_persons - 1)]
    b = np.where(rng.random(n_assoc) < 0.7, same_group, rng.integers(0, n_persons, n_assoc))
    keep = a != b
    graded = rng.random(n_assoc) < 0.4
    associations = pd.DataFrame(
        {
            "person_a": pid[a][keep],
            "person_b": pid[b][keep],
            "relation": np.array(
                ["knows", "family", "lives_with", "social_media", "phone_contact", "co_offender", "intelligence"],
                dtype=object,
            )[rng.integers(0, 7, n_assoc)][keep],
            "observed_at": pd.to_datetime(start + rng.integers(0, span_us, n_assoc), unit="us", utc=True)[keep],
            "source_evaluation": np.where(graded, rng.choice(np.array(["1", "2", "3"], dtype=object), n_assoc), None)[
                keep
            ],
            "intelligence_evaluation": np.where(
                graded, rng.choice(np.array(list("ABCDE"), dtype=object), n_assoc), None
            )[keep],
            "handling": np.where(graded, rng.choice(np.array(["P", "C"], dtype=object), n_assoc), None)[keep],
        }
    )
    n_scr = max(1, n_persons // 10)
    screenings = pd.DataFrame(
        {
            "person_id": pid[rng.integers(0, n_persons, n_scr)],
            "screened_at": pd.to_datetime(start + rng.integers(0, span_us, n_scr), unit="us", utc=True),
            "risk_level": rng.choice(np.array(["low", "medium", "high"], dtype=object), n_scr),
        }
    )
    log.info(
        "synthetic inputs: %s persons, %s involvements in %s events",
        f"{n_persons:,}",
        f"{len(involvements):,}",
        f"{n_events:,}",
    )
    return GraphInputs(
        persons=persons,
        involvements=involvements,
        missing_episodes=missing,
        associations=associations,
        screenings=screenings,
    )
