"""Missing episodes once across sources, the per-child table, the period summary and time to the next episode."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from support import shared_data_path
from support.hotspot_fixtures import write_csv

from ctxrisk.analytics.protect.links import FlaggedAdults
from ctxrisk.analytics.protect.missing import age_on, missing_children, missing_summary
from ctxrisk.analytics.protect.survival import KaplanMeier, next_episode_gaps, survival_at
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.ingest import ingest_file
from ctxrisk.pipelines.runner import ingest_one
from ctxrisk.pipelines.settings import MissingSettings

MISSING = (
    "episode_id,person_id,started_at,ended_at,missing_type,from_latitude,from_longitude,"
    "found_latitude,found_longitude,found_with,rhi_offered_at,rhi_completed_at"
)
PERSONS = "person_id,birth_year_month,sex,looked_after"
SSDA903 = "CHILD,DOB,MISSING,MIS_START,MIS_END"


@pytest.fixture()
def loaded(con, settings, tmp_path):
    """Child C1 in both sources (one episode overlapping), C2 in the return only, C3 without a birth date."""
    write_csv(
        tmp_path / "persons.csv",
        PERSONS,
        ["C1,2010-05,female,true", "C3,,male,false", "A1,1990-01,male,", "K9,2012-01,male,false"],
    )
    ingest_file(con, "persons", tmp_path / "persons.csv", settings=settings)
    write_csv(
        tmp_path / "missing.csv",
        MISSING,
        [
            # C1: three starts within 30 days (1, 10, 29 Jan), one the return also holds (10-11 Jan)
            "E1,C1,2026-01-01T20:00,2026-01-02T08:00,missing,53.0,-2.0,53.0,-2.0,A1;K9,2026-01-04T07:00,"
            "2026-01-05T10:00",
            "E2,C1,2026-01-10T21:00,2026-01-11T09:00,away,53.0,-2.0,53.5,-2.0,,2026-01-14T10:00,",
            "E3,C1,2026-01-29T22:00,2026-01-30T06:00,missing,,,,,,,",
            # C3: no birth date; two starts 30 days apart (not within 30 days)
            "E4,C3,2026-02-01T10:00,2026-02-01T20:00,missing,,,,,,2026-02-02T10:00,2026-02-02T12:00",
            "E5,C3,2026-03-03T10:00,,missing,,,,,,,",
        ],
    )
    ingest_file(con, "missing", tmp_path / "missing.csv", settings=settings)
    write_csv(
        tmp_path / "ssda903.csv",
        SSDA903,
        [
            "C1,15/05/2010,A,11/01/2026,12/01/2026",
            "C1,15/05/2010,M,01/03/2026,03/03/2026",
            "C2,01/06/2011,M,05/02/2026,",
        ],
    )
    ingest_one(con, "ssda903-missing", tmp_path / "ssda903.csv", settings=settings)
    return con


def _row(frame: pd.DataFrame, person: str) -> pd.Series:
    return frame.set_index("person_id").loc[person]


def test_an_episode_in_both_sources_counts_once(loaded, settings):
    table = missing_children(loaded, settings=settings, until="2026-03-31")
    c1 = _row(table.frame, "C1")
    assert c1["episodes"] == 4  # E1, E2 (= 903 of 11 Jan), E3, and the return's March episode
    assert c1["sources"] == "partnership;ssda903"
    kept = loaded.execute("select episode_id, ssda903_episode_ids from staging.missing_episodes order by 1").fetchall()
    assert ("903:C1:2026-01-11", None) not in kept
    assert ("E2", ["903:C1:2026-01-11"]) in kept
    assert "1 recorded both by the partnership and in an SSDA903 return" in table.notes[0]


def test_a_child_in_one_source_only_is_listed(loaded, settings):
    frame = missing_children(loaded, settings=settings, until="2026-03-31").frame
    c2 = _row(frame, "C2")
    assert (c2["episodes"], c2["open_episodes"], c2["looked_after"]) == (1, 1, True)
    assert math.isnan(c2["rhi_offered_72h_share"])  # a return records no interview: unknown, not "not offered"
    assert set(frame["person_id"]) == {"C1", "C2", "C3"}


def test_repeat_rule_and_counts(loaded, settings):
    frame = missing_children(loaded, settings=settings, until="2026-03-31").frame
    c1, c3 = _row(frame, "C1"), _row(frame, "C3")
    assert (c1["max_in_30_days"], bool(c1["repeat_3_in_30"])) == (3, True)
    assert (c3["max_in_30_days"], bool(c3["repeat_3_in_30"])) == (1, False)  # 1 Feb and 3 Mar: 30 days apart
    assert (c1["missing_episodes"], c1["away_episodes"]) == (3, 1)
    assert list(frame["person_id"])[0] == "C1"  # missing repeatedly comes first
    assert (c1["first_episode"], c1["last_episode"]) == (date(2026, 1, 1), date(2026, 3, 1))


def test_repeat_rule_is_configurable(loaded, settings):
    two = replace(settings, missing=MissingSettings(repeat_count=2, repeat_window_days=40))
    frame = missing_children(loaded, settings=two, until="2026-03-31").frame
    assert bool(_row(frame, "C3")["repeat_2_in_40"]) and _row(frame, "C3")["max_in_40_days"] == 2


def test_hours_interviews_distance_and_adults(loaded, settings):
    flagged = FlaggedAdults(frozenset({"A1"}), True, "test")
    c1 = _row(missing_children(loaded, settings=settings, until="2026-03-31", flagged=flagged).frame, "C1")
    # E1 12 h, E2 12 h, E3 8 h, March return episode 2 days = 48 h
    assert c1["total_hours_missing"] == pytest.approx(80.0)
    assert c1["median_hours_missing"] == pytest.approx(12.0)
    # E1 offered 47 h after return, E2 73 h after: 1 of 3 recorded returns in time; E1 completed
    assert c1["rhi_offered_72h_share"] == pytest.approx(1 / 3)
    assert c1["rhi_completed_share"] == pytest.approx(1 / 3)
    assert c1["found_away"] == 1  # E2 found 55.6 km north of where the child went missing from
    assert c1["adults_found_with"] == 1  # A1 (35); K9 is a child
    assert c1["flagged_adult_found_with"]


def test_age_unknown_is_listed_not_dropped(loaded, settings):
    frame = missing_children(loaded, settings=settings, until="2026-03-31").frame
    assert pd.isna(_row(frame, "C3")["age_years"])
    assert _row(frame, "C1")["age_years"] == 15  # born May 2010 (counted from 31 May)
    assert pd.isna(_row(frame, "C1")["flagged_adult_found_with"])  # no graph in this warehouse: not assessed


def test_age_on_counts_whole_years():
    born = pd.Series(pd.to_datetime(["2010-05-31", "2010-06-01", None]))
    assert age_on(born, date(2026, 5, 31)).tolist() == [16, 15, pd.NA]


def test_summary_per_month(loaded, settings):
    frame = missing_summary(loaded, settings=settings, period="month")
    jan = frame.set_index("period").loc["2026-01"]
    assert (jan["episodes"], jan["children"], jan["children_missing_repeatedly"]) == (3, 1, 1)
    assert (jan["rhi_recorded"], jan["rhi_offered_in_time"], jan["rhi_completed"]) == (3, 1, 1)
    assert jan["rhi_offered_in_time_pct"] == pytest.approx(100 / 3)
    assert jan["median_hours_to_rhi"] == pytest.approx(74.0)  # E1: returned 08:00 on 2 Jan, completed 10:00 5 Jan
    assert (jan["episodes_from_care"], jan["found_located"], jan["found_away"]) == (3, 2, 1)
    assert list(frame["period"]) == ["2026-01", "2026-02", "2026-03"]
    feb = frame.set_index("period").loc["2026-02"]
    assert (feb["episodes"], feb["rhi_recorded"]) == (2, 1)  # C2's open return episode has no interview record
    quarters = missing_summary(loaded, settings=settings, period="quarter")
    assert list(quarters["period"]) == ["2026 Q1"] and quarters["episodes"].iat[0] == 7
    with pytest.raises(ValidationError, match="period must be one of"):
        missing_summary(loaded, settings=settings, period="week")


def test_real_ssda903_return(con, settings):
    ingest_one(con, "ssda903-missing", shared_data_path("ssda903", "missing.csv"), settings=settings)
    table = missing_children(con, settings=settings, until="2018-03-31")
    frame = table.frame
    assert (len(frame), int(frame["episodes"].sum())) == (39, 42)  # one overlapping period refused at ingest
    assert frame["rhi_offered_72h_share"].isna().all() and frame["looked_after"].all()
    assert _row(frame, "510000")["age_years"] == 16  # born March 2002
    assert _row(frame, "26033")["episodes"] == 2
    assert "42 episodes from SSDA903 returns only" in " ".join(table.notes)
    summary = missing_summary(con, settings=settings, period="quarter")
    assert summary["episodes"].sum() == 42 and summary["rhi_recorded"].sum() == 0


def test_bad_episodes_are_refused_with_reasons(con, settings, tmp_path):
    write_csv(
        tmp_path / "bad.csv",
        MISSING,
        ["B1,C1,2026-01-02T10:00,2026-01-01T10:00,missing,,,,,,,", "B2,,2026-01-02T10:00,,missing,,,,,,,"],
    )
    result = ingest_file(con, "missing", tmp_path / "bad.csv", settings=settings)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (2, 0, 2)
    reasons = " | ".join(r[0] for r in con.execute("select reason from raw.rejected_rows").fetchall())
    assert "the episode ends before it starts" in reasons and "required" in reasons


# Kaplan-Meier: Freireich et al. (1963) 6-MP arm, as tabulated by Kleinbaum & Klein, Survival Analysis (3rd ed.)
SIX_MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
SIX_MP_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]


def test_kaplan_meier_textbook_values():
    km = KaplanMeier.fit(SIX_MP_TIMES, SIX_MP_EVENT)
    events = km.table[km.table["events"] > 0]
    assert events["time"].tolist() == [6, 7, 10, 13, 16, 22, 23]
    assert events["at_risk"].tolist() == [21, 17, 15, 12, 11, 7, 6]
    assert np.round(events["survival"].to_numpy(), 4).tolist() == [
        0.8571,
        0.8067,
        0.7529,
        0.6902,
        0.6275,
        0.5378,
        0.4482,
    ]
    assert km.median == 23.0 and km.n == 21
    assert km.at([0, 6, 8, 40]).round(4).tolist() == [1.0, 0.8571, 0.8067, 0.4482]
    assert km.at_risk_at([0, 6, 7, 36]).tolist() == [21, 21, 17, 0]
    assert events["std_error"].iat[0] == pytest.approx(0.0764, abs=1e-4)  # Greenwood


def test_kaplan_meier_censoring_and_refusals():
    km = KaplanMeier.fit([3, 4, 5, 5, 6, 8], [True, False, True, True, False, True])
    assert km.table["survival"].round(4).tolist() == [0.8333, 0.8333, 0.4167, 0.4167, 0.0]
    assert math.isnan(KaplanMeier.fit([1, 2], [False, False]).median)
    with pytest.raises(ValidationError, match="same length"):
        KaplanMeier.fit([1, 2], [True])
    with pytest.raises(ValidationError, match="finite and >= 0"):
        KaplanMeier.fit([-1.0], [True])


def test_time_to_next_episode_by_looked_after_status(loaded, settings):
    gaps = next_episode_gaps(loaded, settings=settings)
    c1 = gaps[gaps["person_id"] == "C1"].set_index("episode_id")
    # C1 (looked after): returns on 2 Jan, 11 Jan, 30 Jan are followed by episodes; the March one is censored
    # at the end of the data (C3's start at 10:00 on 3 March, 10 hours after the return's end of 2 March)
    assert c1["observed"].tolist() == [True, True, True, False] and (c1["looked_after"] == "looked after").all()
    assert c1["days"].round(4).tolist() == [8.5417, 18.5417, 29.75, 0.4167]  # 2 Jan 08:00 to 10 Jan 21:00, ...
    assert "E5" not in set(gaps["episode_id"])  # still missing: no return to count from
    curve = survival_at(loaded, settings=settings, days=(1, 30))
    assert set(curve["looked_after"]) == {"looked after", "not looked after"}
    row = curve[(curve["looked_after"] == "looked after") & (curve["day"] == 1)].iloc[0]
    assert row["returns"] == 4 and row["no_new_episode_pct"] == pytest.approx(100.0)


def test_overlaps_within_one_source_are_counted_in_the_notes():
    from ctxrisk.analytics.protect.missing import overlaps_within_source

    t = pd.to_datetime
    frame = pd.DataFrame(
        {
            "person_id": ["C1", "C1", "C1", "C2", "C2"],
            "source": ["partnership", "partnership", "ssda903", "partnership", "partnership"],
            "started_at": t(["2026-01-01", "2026-01-03", "2026-01-02", "2026-01-01", "2026-02-01"], utc=True),
            "ended_at": t(["2026-01-05", "2026-01-04", "2026-01-03", None, "2026-02-02"], utc=True),
        }
    )
    # C1's 3 Jan episode starts inside 1-5 Jan (the return's is another source); C2's first never ended
    assert overlaps_within_source(frame) == 2
    assert overlaps_within_source(frame.iloc[:0]) == 0


def test_settings_sections_load_and_refuse_bad_values(tmp_path):
    from ctxrisk.pipelines.settings import load_settings

    toml = tmp_path / "ctxrisk.toml"
    toml.write_text("[missing]\nrepeat_count = 4\n\n[mace]\nmax_age = 25\n\n[mace.weights]\nnrm_referral = 5.0\n")
    loaded = load_settings(toml)
    assert (loaded.missing.repeat_count, loaded.missing.repeat_window_days) == (4, 30)
    assert loaded.mace.max_age == 25 and loaded.mace.weight("nrm_referral") == 5.0
    assert loaded.mace.weight("flagged_adult") == 3.0  # the others keep their defaults
    toml.write_text("[missing]\nrepeat_count = 0\n")
    with pytest.raises(ValidationError, match=r"\[missing\] repeat_count must be a whole number >= 1"):
        load_settings(toml)
    toml.write_text("[mace]\nmax_age = 40\n")
    with pytest.raises(ValidationError, match=r"\[mace\] max_age must be a whole number from 1 to 25"):
        load_settings(toml)
    toml.write_text("[missing]\nrepeat_every = 3\n")
    with pytest.raises(ValidationError, match="unknown setting"):
        load_settings(toml)


def test_real_return_and_a_partnership_file_count_a_shared_episode_once(con, settings, tmp_path):
    ingest_one(con, "ssda903-missing", shared_data_path("ssda903", "missing.csv"), settings=settings)
    # the return: child 510000 away 13/11/2017 to 25/11/2017; the partnership saw them go at 22:40 on 12 Nov
    write_csv(
        tmp_path / "m.csv",
        MISSING,
        ["P1,510000,2017-11-12T22:40,2017-11-25T18:00,away,,,,,,2017-11-27T10:00,2017-11-28T10:00"],
    )
    ingest_file(con, "missing", tmp_path / "m.csv", settings=settings)
    frame = missing_children(con, settings=settings, until="2018-03-31").frame
    assert int(frame["episodes"].sum()) == 42  # 42 in the return; the partnership's one is the same episode
    row = _row(frame, "510000")
    assert (row["episodes"], row["sources"], row["rhi_offered_72h_share"]) == (1, "partnership;ssda903", 1.0)


def test_found_outside_the_partnership_boundary(con, settings, tmp_path):
    import json

    square = [[-2.05, 52.95], [-1.95, 52.95], [-1.95, 53.05], [-2.05, 53.05], [-2.05, 52.95]]
    layer = tmp_path / "area.geojson"
    layer.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"WD13CD": "A1", "WD13NM": "Area"},
                        "geometry": {"type": "Polygon", "coordinates": [square]},
                    }
                ],
            }
        )
    )
    ingest_one(con, "boundaries", layer, settings=settings, options={"level": "ward"})
    write_csv(
        tmp_path / "m.csv",
        MISSING,
        [
            "F1,C1,2026-01-01T20:00,2026-01-02T08:00,missing,53.0,-2.0,53.0,-2.0,,,",  # found inside
            "F2,C1,2026-02-01T20:00,2026-02-02T08:00,missing,53.0,-2.0,53.1,-2.0,,,",  # 11 km, outside the area
            "F3,C1,2026-03-01T20:00,2026-03-02T08:00,missing,53.0,-2.0,,,,,",  # found place not known
        ],
    )
    ingest_one(con, "missing", tmp_path / "m.csv", settings=settings)  # the runner places events in areas
    assert _row(missing_children(con, settings=settings).frame, "C1")["found_away"] == 1
    month = missing_summary(con, settings=settings, period="quarter").iloc[0]
    assert (month["found_located"], month["found_away"]) == (2, 1) and month["found_away_pct"] == 50.0
