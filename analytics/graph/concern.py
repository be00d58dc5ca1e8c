"""Safeguarding rankings: adults linked to several children, and children near several suspects."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ctxrisk.analytics.graph.arrays import GraphArrays, iso
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

ADULT_BANDS = ("young_adult", "adult")

ADULTS_OF_CONCERN_COLUMNS = (
    "person_id",
    "age_band",
    "children_linked",
    "score",
    "looked_after_children",
    "high_risk_children",
    "relations",
    "last_seen",
    "evidence_summary",
)

AT_RISK_CHILDREN_COLUMNS = (
    "person_id",
    "suspects_linked",
    "direct_suspects",
    "nearest_suspect_hops",
    "looked_after",
    "risk_level",
)


def adults_of_concern(
    g: nx.Graph,
    *,
    min_children: int = 2,
    high_risk_levels: Iterable[str] = ("high",),
) -> pd.DataFrame:
    """Adults (18+) linked directly to at least ``min_children`` distinct children.

    Parameters
    ----------
    g : networkx.Graph
        Association graph from :func:`ctxrisk.analytics.graph.build.build_graph`.
    min_children : int
        Least number of distinct children an adult must be linked to (``>= 1``; default 2).
    high_risk_levels : iterable of str
        Screening risk levels counted in ``high_risk_children``.

    Returns
    -------
    DataFrame
        Ranked by ``score`` then ``children_linked`` (highest first): among adults linked to
        enough children, the strongest evidence comes first, so weak, old or low-graded links to
        many children (e.g. one large event each) do not outrank repeated, graded evidence.
        Columns ``person_id``;
        ``age_band`` (``young_adult`` or ``adult``); ``children_linked`` (distinct children with a
        direct link); ``score`` (sum of the link weights to those children: recency-decayed,
        grading-weighted evidence); ``looked_after_children``; ``high_risk_children``;
        ``relations`` (relation: number of evidence items, ``;``-separated); ``last_seen`` (latest
        dated evidence, ISO UTC); ``evidence_summary`` (one line for a panel paper).
    """
    if int(min_children) < 1:
        msg = f"min_children must be at least 1, got {min_children!r}"
        raise ValidationError(msg)
    high = set(high_risk_levels)
    rows = []
    for n, d in g.nodes(data=True):
        if d.get("age_band") not in ADULT_BANDS:
            continue
        kids = [m for m in g.neighbors(n) if g.nodes[m].get("age_band") == "child"]
        if len(kids) < int(min_children):
            continue
        rel_counts: dict[str, int] = {}
        dates = []
        score = 0.0
        for m in kids:
            edge = g.edges[n, m]
            score += float(edge.get("weight", 0.0))
            for e in edge.get("evidence") or []:
                rel_counts[e["relation"]] = rel_counts.get(e["relation"], 0) + 1
            if edge.get("last_seen"):
                dates.append(edge["last_seen"])
        looked_after = sum(bool(g.nodes[m].get("looked_after")) for m in kids)
        high_risk = sum(g.nodes[m].get("risk_level") in high for m in kids)
        rels = ";".join(f"{r}:{c}" for r, c in sorted(rel_counts.items(), key=lambda x: (-x[1], x[0])))
        last = max(dates) if dates else None
        summary = (
            f"linked to {len(kids)} children ({looked_after} looked after, {high_risk} screened high risk) "
            f"through {sum(rel_counts.values())} evidence items: {', '.join(f'{r} x{c}' for r, c in sorted(rel_counts.items(), key=lambda x: (-x[1], x[0])))}"
            f"; latest {last[:10] if last else 'undated'}"
        )
        rows.append(
            {
                "person_id": n,
                "age_band": d.get("age_band"),
                "children_linked": len(kids),
                "score": score,
                "looked_after_children": looked_after,
                "high_risk_children": high_risk,
                "relations": rels,
                "last_seen": last,
                "evidence_summary": summary,
            }
        )
    frame = pd.DataFrame(rows, columns=list(ADULTS_OF_CONCERN_COLUMNS))
    frame = frame.sort_values(
        ["score", "children_linked", "person_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    log.info("%s adults linked to %d or more children", f"{len(frame):,}", int(min_children))
    return frame


def at_risk_children(g: nx.Graph, *, hops: int = 2, min_suspects: int = 1) -> pd.DataFrame:
    """Children ranked by how many distinct suspects are within ``hops`` links of them.

    Children recorded as suspects in the window are left out of this ranking: in criminal
    exploitation a child recorded as a suspect may themselves be exploited, so review them
    separately rather than by this measure.

    Parameters
    ----------
    g : networkx.Graph
        Association graph (node attributes ``age_band``, ``is_suspect``).
    hops : int
        Largest number of links between the child and a suspect (``>= 1``; default 2).
    min_suspects : int
        Leave out children with fewer suspects within reach (default 1; 0 lists every child).

    Returns
    -------
    DataFrame
        Ranked by ``suspects_linked``, then ``direct_suspects`` (highest first). Columns
        ``person_id``; ``suspects_linked`` (distinct people recorded as suspects within ``hops``);
        ``direct_suspects`` (suspects one link away); ``nearest_suspect_hops`` (NaN when none);
        ``looked_after``; ``risk_level`` (latest screening).
    """
    if int(hops) < 1:
        msg = f"hops must be at least 1, got {hops!r}"
        raise ValidationError(msg)
    rows = []
    for n, d in g.nodes(data=True):
        if d.get("age_band") != "child" or d.get("is_suspect"):
            continue
        reach = nx.single_source_shortest_path_length(g, n, cutoff=int(hops))
        near = {m: h for m, h in reach.items() if m != n and g.nodes[m].get("is_suspect")}
        if len(near) < int(min_suspects):
            continue
        rows.append(
            {
                "person_id": n,
                "suspects_linked": len(near),
                "direct_suspects": sum(h == 1 for h in near.values()),
                "nearest_suspect_hops": min(near.values()) if near else float("nan"),
                "looked_after": d.get("looked_after"),
                "risk_level": d.get("risk_level"),
            }
        )
    frame = pd.DataFrame(rows, columns=list(AT_RISK_CHILDREN_COLUMNS))
    frame = frame.sort_values(
        ["suspects_linked", "direct_suspects", "person_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    log.info("%s children with a suspect within %d links", f"{len(frame):,}", int(hops))
    return frame


def _ordered_sums(values: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Sum of each segment ``values[starts[i]:starts[i]+lengths[i]]`` added left to right from 0.0.

    The same floating-point result as a Python ``+=`` loop (``np.add.reduceat`` sums pairwise,
    which can differ in the last bits); one vectorised step per position, up to the longest segment.
    """
    out = np.zeros(starts.size)
    for k in range(int(lengths.max(initial=0))):
        has = lengths > k
        out[has] += values[starts[has] + k]
    return out


def adults_of_concern_arrays(
    arrays: GraphArrays,
    *,
    min_children: int = 2,
    high_risk_levels: Iterable[str] = ("high",),
    csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """:func:`adults_of_concern` computed from the graph's arrays (the same DataFrame, no networkx graph).

    Parameters
    ----------
    arrays : GraphArrays
        From :func:`ctxrisk.analytics.graph.build.build_arrays`.
    min_children, high_risk_levels
        As for :func:`adults_of_concern`.
    csr : tuple, optional
        ``arrays.csr()`` if already computed.
    """
    if int(min_children) < 1:
        msg = f"min_children must be at least 1, got {min_children!r}"
        raise ValidationError(msg)
    high = set(high_risk_levels)
    indptr, indices, edge = csr if csr is not None else arrays.csr()
    n = arrays.n_nodes
    band = arrays.age_band
    adult = np.isin(band, np.array(ADULT_BANDS, dtype=object))
    child = band == "child"
    rows = np.repeat(np.arange(n), np.diff(indptr))
    sel = adult[rows] & child[indices]
    kids = np.bincount(rows[sel], minlength=n)
    sel &= (kids >= int(min_children))[rows]
    row, kid, e = rows[sel], indices[sel], edge[sel]  # row-major, neighbours in networkx order
    del rows, sel
    people = np.unique(row)
    n_kids = kids[people]
    starts = (np.cumsum(n_kids) - n_kids).astype(np.int64)
    segment = np.repeat(np.arange(people.size), n_kids)
    score = _ordered_sums(arrays.weight[e], starts, n_kids)
    looked = np.bincount(segment, weights=arrays.looked_after.astype(bool)[kid], minlength=people.size).astype(np.int64)
    is_high = np.array([r in high for r in arrays.risk_level.tolist()], dtype=bool)
    high_risk = np.bincount(segment, weights=is_high[kid], minlength=people.size).astype(np.int64)
    last_int = np.full(people.size, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_int, segment, arrays.last_seen[e].view(np.int64))  # NaT is the smallest int64
    last_iso = iso(last_int.view("datetime64[us]")).tolist()
    ptr = arrays.evidence_ptr
    per_edge = ptr[e + 1] - ptr[e]
    ev = np.repeat(ptr[e] - (np.cumsum(per_edge) - per_edge), per_edge) + np.arange(int(per_edge.sum()))
    n_rel = len(arrays.relation_names)
    rel_counts = np.bincount(
        np.repeat(segment, per_edge) * n_rel + arrays.evidence_relation[ev].astype(np.int64),
        minlength=people.size * n_rel,
    ).reshape(people.size, n_rel)
    names = arrays.relation_names
    rows_out = []
    for p, k, sc, la, hr, last, counts in zip(
        people.tolist(),
        n_kids.tolist(),
        score.tolist(),
        looked.tolist(),
        high_risk.tolist(),
        last_iso,
        rel_counts.tolist(),
        strict=True,
    ):
        ranked = sorted(((names[r], c) for r, c in enumerate(counts) if c), key=lambda x: (-x[1], x[0]))
        rows_out.append(
            {
                "person_id": arrays.people[p],
                "age_band": band[p],
                "children_linked": k,
                "score": sc,
                "looked_after_children": la,
                "high_risk_children": hr,
                "relations": ";".join(f"{r}:{c}" for r, c in ranked),
                "last_seen": last,
                "evidence_summary": (
                    f"linked to {k} children ({la} looked after, {hr} screened high risk) "
                    f"through {sum(c for _, c in ranked)} evidence items: {', '.join(f'{r} x{c}' for r, c in ranked)}"
                    f"; latest {last[:10] if last else 'undated'}"
                ),
            }
        )
    frame = pd.DataFrame(rows_out, columns=list(ADULTS_OF_CONCERN_COLUMNS))
    frame = frame.sort_values(
        ["score", "children_linked", "person_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    log.info("%s adults linked to %d or more children", f"{len(frame):,}", int(min_children))
    return frame


#: Children whose reach is worked out together in :func:`at_risk_children_arrays` (bounds the sparse products).
REACH_CHUNK = 8192


def at_risk_children_arrays(
    arrays: GraphArrays,
    *,
    hops: int = 2,
    min_suspects: int = 1,
    csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """:func:`at_risk_children` computed from the graph's arrays (the same DataFrame, no networkx graph).

    Breadth-first reach as sparse products over blocks of :data:`REACH_CHUNK` children: the
    people first reached at step ``d`` are ``frontier @ A`` less those already reached, and the
    last step is taken to suspects only.

    Parameters
    ----------
    arrays : GraphArrays
        From :func:`ctxrisk.analytics.graph.build.build_arrays`.
    hops, min_suspects
        As for :func:`at_risk_children`.
    csr : tuple, optional
        ``arrays.csr()`` if already computed.
    """
    from scipy import sparse

    if int(hops) < 1:
        msg = f"hops must be at least 1, got {hops!r}"
        raise ValidationError(msg)
    hops = int(hops)
    indptr, indices, _ = csr if csr is not None else arrays.csr()
    n = arrays.n_nodes
    suspect = arrays.is_suspect
    children = np.flatnonzero((arrays.age_band == "child") & ~suspect)
    adj = sparse.csr_array((np.ones(indices.size, dtype=np.int32), indices, indptr), shape=(n, n))
    suspects = np.flatnonzero(suspect)
    to_suspects = adj[:, suspects].tocsr()
    linked = np.zeros(children.size, dtype=np.int64)
    direct = np.zeros(children.size, dtype=np.int64)
    nearest = np.zeros(children.size, dtype=np.int64)  # 0: no suspect within reach

    def reached(mat: Any) -> Any:
        mat = mat.tocsr()
        mat.data[:] = 1
        return mat

    for lo in range(0, children.size, REACH_CHUNK):
        rows = children[lo : lo + REACH_CHUNK]
        k = rows.size
        frontier = sparse.csr_array((np.ones(k, dtype=np.int32), (np.arange(k), rows)), shape=(k, n))
        seen = frontier
        for d in range(1, hops + 1):
            if d < hops:
                new = reached(frontier @ adj)
                new = reached(new - new.multiply(seen))
                new.eliminate_zeros()
                found = np.asarray(new[:, suspects].sum(axis=1)).ravel().astype(np.int64)
                seen = reached(seen + new)
                frontier = new
            else:
                new = reached(frontier @ to_suspects)
                seen_s = seen[:, suspects]
                new = reached(new - new.multiply(seen_s))
                new.eliminate_zeros()
                found = np.diff(new.indptr).astype(np.int64)
            part = slice(lo, lo + k)
            linked[part] += found
            if d == 1:
                direct[part] = found
            first = (nearest[part] == 0) & (found > 0)
            nearest[part][first] = d
    keep = linked >= int(min_suspects)
    rows_out = [
        {
            "person_id": p,
            "suspects_linked": s,
            "direct_suspects": dr,
            "nearest_suspect_hops": h if h else float("nan"),
            "looked_after": la,
            "risk_level": rl,
        }
        for p, s, dr, h, la, rl in zip(
            arrays.people[children[keep]].tolist(),
            linked[keep].tolist(),
            direct[keep].tolist(),
            nearest[keep].tolist(),
            arrays.looked_after[children[keep]].tolist(),
            arrays.risk_level[children[keep]].tolist(),
            strict=True,
        )
    ]
    frame = pd.DataFrame(rows_out, columns=list(AT_RISK_CHILDREN_COLUMNS))
    frame = frame.sort_values(
        ["suspects_linked", "direct_suspects", "person_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    log.info("%s children with a suspect within %d links", f"{len(frame):,}", hops)
    return frame
