"""Node attributes of the association graph as arrays: order, age band, screening, roles, events, locations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ctxrisk.analytics.graph.arrays import iso as _iso
from ctxrisk.analytics.graph.coding import NAT as _NAT
from ctxrisk.analytics.graph.coding import codes as _codes
from ctxrisk.analytics.graph.coding import factorize as _factorize
from ctxrisk.analytics.graph.coding import times as _times
from ctxrisk.analytics.graph.coding import unique_ints as _unique_ints
from ctxrisk.analytics.graph.inputs import GraphInputs, in_window


def _age_bands(birth: np.ndarray, when: np.ndarray) -> np.ndarray:
    """Vectorised :func:`age_band_at` over ``YYYY-MM`` strings and ``datetime64`` times."""
    code, months = pd.factorize(np.asarray(birth, dtype=object))
    year_of, month_of = np.full(len(months) + 1, np.nan), np.full(len(months) + 1, np.nan)
    for i, text in enumerate(np.asarray(months, dtype=object)):
        if isinstance(text, str) and len(text) >= 7:
            try:
                year_of[i], month_of[i] = int(text[:4]), int(text[5:7])
            except ValueError:
                pass
    year, month = year_of[code], month_of[code]  # code -1 (no birth month) reads the trailing NaN
    stamp = pd.DatetimeIndex(when)
    age = stamp.year.to_numpy(dtype=float) - year - (stamp.month.to_numpy(dtype=float) < month)
    out = np.full(len(birth), "unknown", dtype=object)
    known = ~np.isnan(age) & (age >= 0) & ~np.isnat(when)
    out[known & (age < 18)] = "child"
    out[known & (age >= 18) & (age < 25)] = "young_adult"
    out[known & (age >= 25)] = "adult"
    return out


def _code_csr(
    keys: np.ndarray, values: pd.Series | np.ndarray, nodes: np.ndarray, n_people: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values (as str) per integer key, as offsets over ``nodes`` (person codes) and the values."""
    v_code, v_names = _factorize(values, sort=True)
    ok = (keys >= 0) & (v_code >= 0)
    n_v = max(len(v_names), 1)
    pairs = _unique_ints(keys[ok] * n_v + v_code[ok])
    key = pairs // n_v
    counts = np.bincount(key, minlength=n_people)
    first = np.r_[0, np.cumsum(counts)[:-1]] if n_people else np.zeros(0, dtype=np.int64)
    per_node = counts[nodes]
    ptr = np.zeros(nodes.size + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(per_node)
    take = np.repeat(first[nodes] - ptr[:-1], per_node) + np.arange(int(ptr[-1]))
    return ptr, v_names[pairs[take] % n_v] if take.size else np.empty(0, dtype=object)


def node_arrays(
    inputs: GraphInputs,
    inv: pd.DataFrame,
    coded: Any,
    a: np.ndarray,
    b: np.ndarray,
    dates: np.ndarray,
    lo: pd.Timestamp | None,
    hi: pd.Timestamp | None,
    ref: pd.Timestamp,
) -> dict[str, np.ndarray]:
    """Everyone involved in the window (linked or not, unlinked in ID order) and every node attribute, as arrays.

    ``coded`` holds the person codes of each input table (see ``build_arrays``); ``a``, ``b`` and
    ``dates`` are the evidence ends and times. Also returns ``position``: the node position of
    every person code (-1 when not a node).
    """
    n_people = len(coded.people)
    inv_code = coded.inv_person
    nodes, position, id_rank = _node_order(a, b, inv_code, n_people)
    role_ptr, roles = _code_csr(inv_code, inv["role"], nodes, n_people)
    is_suspect = np.zeros(nodes.size, dtype=bool)
    is_suspect[np.repeat(np.arange(nodes.size), np.diff(role_ptr))[roles == "suspect"]] = True
    risk, screened = _screenings(inputs.screenings, coded.screenings, n_people, hi if hi is not None else ref)
    pl = inputs.person_locations
    if len(pl):
        window = in_window(pl["linked_at"], lo, hi, keep_null=True).to_numpy(dtype=bool)
        location_ptr, locations = _code_csr(np.where(window, coded.locations, -1), pl["location_id"], nodes, n_people)
    else:
        location_ptr, locations = np.zeros(nodes.size + 1, dtype=np.int64), np.empty(0, dtype=object)
    return {
        "people": coded.people[nodes],
        "id_rank": id_rank,
        "age_band": _node_bands(inputs, inv, coded, nodes, a, b, dates, ref),
        "looked_after": _looked_after(inputs, coded, nodes, n_people),
        "risk_level": risk[nodes],
        "screened_at": screened[nodes],
        "is_suspect": is_suspect,
        "n_events": _event_counts(inv, inv_code, n_people)[nodes].astype(np.int64),
        "role_ptr": role_ptr,
        "roles": roles,
        "location_ptr": location_ptr,
        "locations": locations,
        "position": position,
    }


def _node_order(
    a: np.ndarray, b: np.ndarray, inv_code: np.ndarray, n_people: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node person codes (linked people as add_edges_from meets them, then the unlinked in ID order),
    each code's node position (-1 when not a node) and each node's rank by ID."""
    met = np.column_stack([a, b]).ravel()
    _, first = np.unique(met, return_index=True)
    linked = met[np.sort(first)]
    is_linked = np.zeros(n_people, dtype=bool)
    is_linked[linked] = True
    involved = _unique_ints(inv_code[inv_code >= 0])
    nodes = np.r_[linked, involved[~is_linked[involved]]].astype(np.int64)
    position = np.full(n_people, -1, dtype=np.int64)
    position[nodes] = np.arange(nodes.size)
    id_rank = np.empty(nodes.size, dtype=np.int64)
    id_rank[np.argsort(nodes, kind="stable")] = np.arange(nodes.size)  # codes sort as the IDs do
    return nodes, position, id_rank


def _node_bands(
    inputs: GraphInputs,
    inv: pd.DataFrame,
    coded: Any,
    nodes: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    dates: np.ndarray,
    ref: pd.Timestamp,
) -> np.ndarray:
    """Age band at the latest involvement in the window, else from the birth month at the latest event."""
    n_people, inv_code = len(coded.people), coded.inv_person
    inv_time = _times(inv["occurred_at"]).view(np.int64)
    ok = inv_code >= 0
    order = np.lexsort((inv_time[ok], inv_code[ok]))  # stable: the last row of the latest time wins
    pc = inv_code[ok][order]
    last = np.flatnonzero(np.r_[pc[1:] != pc[:-1], True]) if pc.size else np.empty(0, dtype=np.int64)
    band = np.full(n_people, None, dtype=object)
    band_code, band_names = _factorize(inv["age_band"])  # a few distinct bands, not a string per row
    band[pc[last]] = np.r_[band_names, None][band_code[ok][order][last]]
    when = np.full(n_people, _NAT, dtype=np.int64)
    when[pc[last]] = inv_time[ok][order][last]
    has_inv = np.zeros(n_people, dtype=bool)
    has_inv[pc[last]] = True
    ev_time = np.full(n_people, _NAT, dtype=np.int64)
    dated = ~np.isnat(dates)
    for ends in (a, b):
        np.maximum.at(ev_time, ends[dated], dates[dated].view(np.int64))
    ref_us = np.datetime64(ref.tz_convert("UTC").tz_localize(None).to_datetime64(), "us").view(np.int64)
    when = np.where(has_inv, when, np.where(ev_time != _NAT, ev_time, ref_us))
    birth = np.full(n_people, None, dtype=object)
    pcode = coded.persons
    last_row = np.flatnonzero(pcode >= 0)
    if last_row.size:  # the last row of a person wins
        month_code, months = _factorize(inputs.persons["birth_year_month"])  # a few hundred months
        birth[pcode[last_row]] = np.r_[months, None][month_code[last_row]]
    valid = np.isin(band[nodes], np.array(["child", "young_adult", "adult"], dtype=object))
    return np.where(valid, band[nodes], _age_bands(birth[nodes], when[nodes].view("datetime64[us]"))).astype(object)


def _looked_after(inputs: GraphInputs, coded: Any, nodes: np.ndarray, n_people: int) -> np.ndarray:
    """Looked-after flag of each node (True, False or None), from the person's last row."""
    looked = np.full(n_people, None, dtype=object)
    pcode = coded.persons
    last_row = np.flatnonzero(pcode >= 0)
    if last_row.size:
        looked[pcode[last_row]] = inputs.persons["looked_after"].to_numpy(dtype=object)[last_row]
    return np.array(
        [
            None if la is None or la is pd.NA or (isinstance(la, float) and np.isnan(la)) else bool(la)
            for la in looked[nodes].tolist()
        ],
        dtype=object,
    )


def _screenings(
    scr: pd.DataFrame, codes: np.ndarray, n_people: int, end: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """Risk level and time (ISO UTC) of each person's latest screening at or before ``end`` (None when none)."""
    keep = (scr["screened_at"].notna() & (scr["screened_at"] <= end)).to_numpy(dtype=bool) & (codes >= 0)
    risk = np.full(n_people, None, dtype=object)
    screened = np.full(n_people, None, dtype=object)
    if keep.any():
        s_time = _times(scr["screened_at"])[keep]
        s_code = codes[keep]
        order = np.lexsort((s_time.view(np.int64), s_code))
        sc = s_code[order]
        last = np.flatnonzero(np.r_[sc[1:] != sc[:-1], True])
        levels = scr["risk_level"].to_numpy(dtype=object)[keep][order][last]
        risk[sc[last]] = [None if v is None or v is pd.NA or v != v else str(v) for v in levels]
        screened[sc[last]] = _iso(s_time[order][last])
    return risk, screened


def _event_counts(inv: pd.DataFrame, inv_code: np.ndarray, n_people: int) -> np.ndarray:
    """Distinct events (event type and ID) each person code is involved in."""
    etype, _ = _factorize(inv["event_type"])
    eid, n_eid = _codes(inv["event_id"])  # only counted: the IDs themselves are not needed as strings
    combined = np.where((etype >= 0) & (eid >= 0) & (inv_code >= 0), (inv_code * max(n_eid, 1) + eid) * 8 + etype, -1)
    distinct = _unique_ints(combined[combined >= 0])
    if not distinct.size:
        return np.zeros(n_people, dtype=np.int64)
    return np.bincount(distinct // 8 // max(n_eid, 1), minlength=n_people)
