"""The MACE list: children meeting any configured exploitation indicator, with the evidence, and the places list.

MACE 1 (children): a person younger than ``[mace] max_age`` on the list's date, or of unknown age, is listed
when they meet any indicator of ``[mace] indicators`` with evidence in the window:

``repeat_missing``
    ``[missing] repeat_count`` or more episodes starting within ``repeat_window_days`` (the densest window's
    episodes are the evidence).
``flagged_adult``
    Found with, or recorded in the same event as, an adult the association graph flags
    (:func:`ctxrisk.analytics.protect.links.flagged_adults`); intelligence carries its 3x5x2 grading.
``location_of_concern``
    An event of theirs (a missing episode's found-at place included) at a place of
    ``marts.locations_of_concern``.
``stop_search``
    Named in an involvement with a stop and search (``raw.stop_searches``) whose object's theme is one of
    ``[mace] search_themes`` (drugs or weapons), aged under 18 then (the search's age range where the birth
    date is unknown). police.uk publishes searches without names, so this needs a partner's involvements file.
``screening_high``
    Their latest screening up to the list's date is one of ``[mace] high_risk_levels`` (a state, not an
    event: ``since`` does not apply; a later lower screening ends it).
``nrm_referral``
    A National Referral Mechanism referral in the window.

Rows are sorted by the number of indicators met, then their strength (the sum of ``[mace] weights``), then
the latest evidence (most recent first). The list is OFFICIAL-SENSITIVE and never part of the steering
edition; :func:`mace_places` counts children per place for MACE 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from ctxrisk.analytics.protect.episodes import episode_measures, load_episodes, local_window
from ctxrisk.analytics.protect.frames import isin, join_by
from ctxrisk.analytics.protect.links import (
    FlaggedAdults,
    LocationsOfConcern,
    co_involvements,
    flagged_adults,
    load_locations_of_concern,
    place_links,
)
from ctxrisk.analytics.protect.missing import _as_of, age_on
from ctxrisk.pipelines.settings import MACE_INDICATORS, Settings

__all__ = ["INDICATOR_LABELS", "MaceResult", "mace_list", "mace_places"]

#: How each indicator is named in outputs.
INDICATOR_LABELS: dict[str, str] = {
    "repeat_missing": "missing repeatedly",
    "flagged_adult": "found with or in the same event as a flagged adult",
    "location_of_concern": "linked to a location of concern",
    "stop_search": "searched for drugs or weapons as a child",
    "screening_high": "latest screening high",
    "nrm_referral": "NRM referral",
}

_EVIDENCE = ["person_id", "evidence", "latest"]


@dataclass(frozen=True)
class MaceResult:
    """The MACE list.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per child: ``rank``, ``person_id``, ``age_years`` (NA: unknown), ``looked_after``,
        ``indicators`` (number met), ``strength``, ``indicators_met`` (``;``-separated names),
        ``evidence_<indicator>`` for each configured indicator (event IDs, dates, gradings), ``latest_evidence``.
    notes : list of str
        Indicators that could not be assessed, and why.
    links : pandas.DataFrame
        The place links behind ``location_of_concern`` (``person_id, event_id, event_type, occurred_at, rank``)
        of every listed-age person, for :func:`mace_places`.
    places : LocationsOfConcern
    """

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    links: pd.DataFrame = field(default_factory=pd.DataFrame)
    places: LocationsOfConcern | None = None


def _day(ts: pd.Series, tz: str) -> pd.Series:
    return pd.to_datetime(ts, utc=True).dt.tz_convert(tz).dt.strftime("%Y-%m-%d")


def _collect(frame: pd.DataFrame, item: pd.Series, when: pd.Series) -> pd.DataFrame:
    """Join each person's evidence items (oldest first) into one line, with the latest time."""
    if frame.empty:
        return pd.DataFrame(columns=_EVIDENCE)
    part = pd.DataFrame({"person_id": frame["person_id"].to_numpy(), "item": item.to_numpy(), "when": when.to_numpy()})
    part = part.sort_values(["person_id", "when", "item"], kind="stable").drop_duplicates(["person_id", "item"])
    evidence = join_by(part["person_id"], part["item"], "; ")
    latest = part.groupby("person_id", sort=False)["when"].max()
    out = pd.DataFrame({"evidence": evidence, "latest": latest.reindex(evidence.index)})
    return out.rename_axis("person_id").reset_index()


def _repeat_missing(ep: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    n = settings.missing.repeat_count
    tz = settings.local_timezone
    if ep.empty:
        return pd.DataFrame(columns=_EVIDENCE)
    ep = ep.reset_index(drop=True)
    best = ep.groupby("person_id", sort=False)["in_window"].idxmax()
    best = best[ep.loc[best.to_numpy(), "in_window"].to_numpy() >= n]
    days = _day(ep["started_at"], tz)
    rows = []
    for person, i in best.items():
        k = int(ep.at[i, "in_window"])
        items = [f"{ep.at[j, 'episode_id']} {days.iat[j]}" for j in range(i, i + k)]
        days_in = settings.missing.repeat_window_days
        rows.append(
            (person, f"{k} episodes within {days_in} days: " + ", ".join(items), ep.at[i + k - 1, "started_at"])
        )
    return pd.DataFrame(rows, columns=_EVIDENCE)


def _grading(source: pd.Series, intel: pd.Series) -> pd.Series:
    graded = source.notna() & intel.notna()
    return pd.Series(np.where(graded, ", graded " + source.astype(str) + intel.astype(str), ""), index=source.index)


def _flagged_adult(con, flagged: FlaggedAdults, lo, hi, tz: str) -> pd.DataFrame:
    co = co_involvements(con, flagged.ids)
    if lo is not None:
        co = co[co["occurred_at"] >= lo]
    if hi is not None:
        co = co[co["occurred_at"] < hi]
    co = co[~isin(co["child_id"], flagged.ids)].reset_index(drop=True)
    found = (co["event_type"] == "missing") & (co["adult_role"] == "found_with")
    how = np.where(found, "found with ", "in the same " + co["event_type"].astype(str) + " as ")
    item = (
        pd.Series(how, index=co.index)
        + co["adult_id"].astype(str)
        + " ("
        + co["event_id"].astype(str)
        + " "
        + _day(co["occurred_at"], tz).fillna("undated")
        + _grading(co["source_evaluation"], co["intelligence_evaluation"])
        + ")"
    )
    return _collect(co.rename(columns={"child_id": "person_id"}), item, co["occurred_at"])


def _location(links: pd.DataFrame, places: LocationsOfConcern, tz: str) -> pd.DataFrame:
    if links.empty:
        return pd.DataFrame(columns=_EVIDENCE)
    names = dict(zip(places.frame["rank"].astype(int), places.frame["name"].astype(str), strict=True))
    items = links.assign(
        item=links["event_id"].astype(str) + " " + _day(links["occurred_at"], tz).fillna("undated")
    ).sort_values(["person_id", "rank", "occurred_at", "event_id"], kind="stable")
    key = items.groupby(["person_id", "rank"], sort=False).ngroup()
    events = join_by(key, items["item"], ", ")
    first = items.assign(key=key.to_numpy()).drop_duplicates("key").set_index("key")
    per_place = pd.DataFrame(
        {
            "person_id": first["person_id"].reindex(events.index).to_numpy(),
            "rank": first["rank"].reindex(events.index).to_numpy(),
            "events": events.to_numpy(),
            "latest": items.groupby(key.to_numpy())["occurred_at"].max().reindex(events.index).to_numpy(),
        }
    )
    label = per_place["rank"].astype(int).map({r: f"#{r} {n}".strip() for r, n in names.items()})
    return _collect(per_place, label + ": " + per_place["events"], per_place["latest"])


_SEARCH_SQL = """
select distinct i.person_id, s.search_id, s.occurred_at, s.object_of_search, s.outcome
from raw.involvements as i
join raw.stop_searches as s on s.search_id = i.event_id
left join staging.persons as p on p.person_id = i.person_id
where s.theme in (select unnest($themes::varchar[]))
    and coalesce(date_sub('year', p.birth_date, timezone($tz, s.occurred_at)::date) < 18, s.is_child, false)
    and ($since is null or s.occurred_at >= $since) and ($until is null or s.occurred_at < $until)
"""


def _stop_search(con, settings: Settings, params: dict) -> pd.DataFrame:
    q = con.execute(_SEARCH_SQL, {**params, "themes": list(settings.mace.search_themes)}).df()
    q["occurred_at"] = pd.to_datetime(q["occurred_at"], utc=True)
    obj = q["object_of_search"].fillna("object not recorded").astype(str)
    outcome = q["outcome"].fillna("").astype(str).map(lambda o: f", {o}" if o else "")
    item = (
        q["search_id"].astype(str) + " " + _day(q["occurred_at"], settings.local_timezone) + " (" + obj + outcome + ")"
    )
    return _collect(q, item, q["occurred_at"])


_SCREENING_SQL = """
select person_id, screened_at, tool, risk_level
from raw.screenings
where $until is null or screened_at < $until
qualify row_number() over (partition by person_id order by screened_at desc, tool desc) = 1
"""


def _screening(con, settings: Settings, params: dict) -> pd.DataFrame:
    q = con.execute(_SCREENING_SQL, {"until": params["until"]}).df()
    q = q[q["risk_level"].isin(settings.mace.high_risk_levels)]
    q["screened_at"] = pd.to_datetime(q["screened_at"], utc=True)
    item = (
        q["risk_level"].astype(str) + " on " + _day(q["screened_at"], settings.local_timezone) + " (" + q["tool"] + ")"
    )
    return _collect(q, item, q["screened_at"])


_NRM_SQL = """
select person_id, referred_at, outcome from raw.referrals
where type = 'nrm' and ($since is null or referred_at >= $since) and ($until is null or referred_at < $until)
"""


def _nrm(con, settings: Settings, params: dict) -> pd.DataFrame:
    q = con.execute(_NRM_SQL, params).df()
    q["referred_at"] = pd.to_datetime(q["referred_at"], utc=True)
    outcome = q["outcome"].fillna("").astype(str).map(lambda o: f": {o}" if o else "")
    item = "NRM " + _day(q["referred_at"], settings.local_timezone) + outcome
    return _collect(q, item, q["referred_at"])


def _people(con, ids: list[str], as_of: date) -> pd.DataFrame:
    frame = con.execute(
        "select person_id, birth_date, looked_after from staging.persons where person_id in (select unnest($ids))",
        {"ids": ids},
    ).df()
    frame = pd.DataFrame({"person_id": pd.Series(ids, dtype=frame["person_id"].dtype)}).merge(
        frame, on="person_id", how="left"
    )
    frame["age_years"] = age_on(frame["birth_date"], as_of)
    frame["looked_after"] = frame["looked_after"].astype("boolean")
    return frame.drop(columns=["birth_date"])


def mace_list(
    con: duckdb.DuckDBPyConnection,
    *,
    settings: Settings,
    since: str | date | None = None,
    until: str | date | None = None,
    flagged: FlaggedAdults | None = None,
    places: LocationsOfConcern | None = None,
) -> MaceResult:
    """The children a MACE panel should discuss, and why (see the module docstring).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    settings : Settings
        ``[mace]`` (indicators, weights, levels, themes, ``max_age``, ``location_rings``) and ``[missing]``.
    since, until : str, date or None
        First and last local day of evidence kept (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``); ages are given
        on ``until`` (default today), and the latest screening is the latest up to it.
    flagged, places
        Default: the warehouse's graph result and ``marts.locations_of_concern``.

    Returns
    -------
    MaceResult
    """
    cfg = settings.mace
    tz = settings.local_timezone
    lo, hi = local_window(since, until, tz)
    params = {"since": None if lo is None else lo.to_pydatetime(), "until": None if hi is None else hi.to_pydatetime()}
    flagged = flagged_adults(con) if flagged is None else flagged
    places = load_locations_of_concern(con, settings=settings) if places is None else places
    bands = ("child", "unknown", "young_adult") if cfg.max_age > 18 else ("child", "unknown")
    links = place_links(con, places, since=lo, until=hi, bands=bands)
    finders: dict[str, Callable[[], pd.DataFrame]] = {
        "repeat_missing": lambda: _repeat_missing(
            episode_measures(load_episodes(con, settings=settings, since=since, until=until), settings=settings),
            settings,
        ),
        "flagged_adult": lambda: _flagged_adult(con, flagged, lo, hi, tz),
        "location_of_concern": lambda: _location(links, places, tz),
        "stop_search": lambda: _stop_search(con, settings, {**params, "tz": tz}),
        "screening_high": lambda: _screening(con, settings, params),
        "nrm_referral": lambda: _nrm(con, settings, params),
    }
    notes = []
    if "flagged_adult" in cfg.indicators and not flagged.assessed:
        notes.append(f"Flagged adults not assessed: {flagged.basis}.")
    if "location_of_concern" in cfg.indicators and not places.assessed:
        notes.append("Locations of concern not assessed: run `ctxrisk locations` first.")
    found = {name: finders[name]().set_index("person_id") for name in MACE_INDICATORS if name in cfg.indicators}
    frame = _assemble(con, found, settings, _as_of(until, settings))
    return MaceResult(frame, notes, links, places)


def _assemble(con, found: dict[str, pd.DataFrame], settings: Settings, as_of: date) -> pd.DataFrame:
    cfg = settings.mace
    ids = sorted(set().union(*(f.index for f in found.values()))) if found else []
    people = _people(con, ids, as_of)
    listed = people["age_years"].isna() | (people["age_years"] < cfg.max_age)
    frame = people[listed.to_numpy(bool)].set_index("person_id")
    met = pd.DataFrame({name: isin(frame.index.to_series(), f.index) for name, f in found.items()}, index=frame.index)
    frame["indicators"] = met.sum(axis=1).astype(int)
    frame["strength"] = sum(met[name] * cfg.weight(name) for name in found) if found else 0.0
    named = pd.Series("", index=frame.index)
    for name in found:
        named = named + np.where(met[name].to_numpy(bool), name + "; ", "")
    frame["indicators_met"] = named.str.removesuffix("; ")
    latest = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    for name, f in found.items():
        frame[f"evidence_{name}"] = f["evidence"].reindex(frame.index)
        when = pd.to_datetime(f["latest"], utc=True).reindex(frame.index)
        latest = latest.where(latest.notna() & (when.isna() | (latest >= when)), when)
    frame["latest_evidence"] = latest.dt.tz_convert(settings.local_timezone).dt.strftime("%Y-%m-%d")
    frame = frame.reset_index()
    frame["_latest"] = latest.to_numpy()
    frame = frame.sort_values(
        ["indicators", "strength", "_latest", "person_id"], ascending=[False, False, False, True], na_position="last"
    ).drop(columns="_latest")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def mace_places(result: MaceResult, *, settings: Settings, steering: bool = False) -> pd.DataFrame:
    """MACE 2: each location of concern with the children linked to it.

    Parameters
    ----------
    result : MaceResult
        From :func:`mace_list` (its ``links`` and ``places``).
    settings : Settings
        ``[privacy] suppression_threshold`` for ``steering``.
    steering : bool
        Show counts under the threshold as ``<N`` (for a steering output; the panel's own list is exact).

    Returns
    -------
    pandas.DataFrame
        Every place in rank order: ``rank``, ``name``, ``score``, ``children_linked`` (distinct listed-age
        children with an event there in the window), ``mace_children`` (of them, on the MACE list),
        ``events_linked``, ``last_linked`` (local date), ``latitude``, ``longitude``.
    """
    places = result.places
    if places is None or places.frame.empty:
        return pd.DataFrame(
            columns=["rank", "name", "score", "children_linked", "mace_children", "events_linked", "last_linked"]
        )
    links = result.links
    listed = set(result.frame["person_id"])
    g = links.groupby("rank")
    counts = pd.DataFrame(
        {
            "children_linked": g["person_id"].nunique(),
            "mace_children": links[isin(links["person_id"], listed)].groupby("rank")["person_id"].nunique(),
            "events_linked": g["event_id"].nunique(),
            "last_linked": g["occurred_at"].max(),
        }
    )
    out = places.frame.set_index("rank").join(counts, how="left").reset_index()
    for c in ("children_linked", "mace_children", "events_linked"):
        out[c] = out[c].fillna(0).astype(int)
    out["last_linked"] = _day(out["last_linked"], settings.local_timezone)
    out = out[
        [
            "rank",
            "name",
            "score",
            "children_linked",
            "mace_children",
            "events_linked",
            "last_linked",
            "latitude",
            "longitude",
        ]
    ]
    if steering:
        threshold = int(settings.privacy.suppression_threshold)
        for c in ("children_linked", "mace_children", "events_linked"):
            out[c] = [f"<{threshold}" if 0 < v < threshold else str(v) for v in out[c]]
    return out
