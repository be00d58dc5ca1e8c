"""Safeguarding rankings: adults linked to children more than chance explains, and children near suspects."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

from ctxrisk.analytics.graph.arrays import GraphArrays, as_arrays, iso
from ctxrisk.analytics.graph.subset import restrict
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

ADULT_BANDS = ("young_adult", "adult")

ADULTS_OF_CONCERN_COLUMNS = (
    "person_id",
    "age_band",
    "children_linked",
    "child_links",
    "links",
    "expected_by_chance",
    "p",
    "q",
    "flagged",
    "finding",
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


class ChildLinkTest:
    """Are a person's recorded links with children more than chance explains?

    Each evidence item of the association graph (a shared incident, missing episode, intelligence
    item or recorded association) is one *link* between two people. Under the null hypothesis a
    person's links join other people's link ends at random while everyone keeps their number of
    links (the configuration model: Newman 2006; Chung and Lu 2002). Then a link of person ``i``
    ends at a child with probability

    .. math:: \\pi_i = S / (T - n_i)

    where ``S`` is the number of link ends held by children, ``T`` the number of link ends in the
    graph (twice the number of evidence items) and ``n_i`` the person's own links. The number of
    the person's links that end at a child is then ``X_i ~ Binomial(n_i, pi_i)``, with expectation
    ``n_i pi_i``. The test is one-sided (more links with children than expected):
    ``p_i = P(X_i >= x_i)``. No simulation is involved, so there is no seed. The p values of all
    people tested are adjusted for multiple testing with the Benjamini–Hochberg step-up procedure
    (``q``), and a person is significant when ``q < alpha``.

    The test treats evidence items as independent draws: repeated records between the same two
    people (several missing episodes found together, say) are counted as repeated links, which is
    the pattern of sustained contact the test is meant to find. It is for people who are not
    children themselves (their own link ends are not in ``S``).

    Parameters
    ----------
    child_links : array_like of int
        ``x_i``: each person's links that end at a child.
    links : array_like of int
        ``n_i``: each person's links (``>= child_links``).
    child_ends : int
        ``S``: link ends held by children in the whole graph.
    total_ends : int
        ``T``: link ends in the whole graph.
    alpha : float
        False discovery rate for :attr:`significant`, in (0, 1). Default 0.05.

    Attributes
    ----------
    chance : ndarray of float
        ``pi_i``, the probability under the null that one of the person's links ends at a child.
    expected : ndarray of float
        ``n_i pi_i``, links with children expected by chance.
    p : ndarray of float
        One-sided p value ``P(X_i >= x_i)``.
    q : ndarray of float
        Benjamini–Hochberg adjusted p value over every person tested.
    significant : ndarray of bool
        ``q < alpha``.

    References
    ----------
    Newman, M. E. J. (2006) Modularity and community structure in networks. PNAS 103(23), 8577-8582.
    Chung, F. and Lu, L. (2002) Connected components in random graphs with given expected degree
    sequences. Annals of Combinatorics 6, 125-145.
    Benjamini, Y. and Hochberg, Y. (1995) Controlling the false discovery rate. JRSS B 57(1), 289-300.

    Examples
    --------
    >>> t = ChildLinkTest([3, 1], [3, 2], child_ends=5, total_ends=12)
    >>> t.expected.round(3).tolist(), t.p.round(4).tolist()
    ([1.667, 1.0], [0.1715, 0.75])
    """

    def __init__(
        self,
        child_links: Any,
        links: Any,
        *,
        child_ends: int,
        total_ends: int,
        alpha: float = 0.05,
    ) -> None:
        x = np.asarray(child_links, dtype=np.int64)
        n = np.asarray(links, dtype=np.int64)
        if x.shape != n.shape or (x < 0).any() or (x > n).any():
            msg = "child_links must be as many counts as links, each between 0 and its links"
            raise ValidationError(msg)
        if not 0 < float(alpha) < 1:
            msg = f"alpha must be between 0 and 1, got {alpha!r}"
            raise ValidationError(msg)
        if not 0 <= int(child_ends) <= int(total_ends):
            msg = f"child_ends ({child_ends}) must be between 0 and total_ends ({total_ends})"
            raise ValidationError(msg)
        self.alpha = float(alpha)
        others = int(total_ends) - n
        self.chance = np.clip(np.divide(int(child_ends), others, out=np.zeros(n.shape), where=others > 0), 0.0, 1.0)
        self.expected = n * self.chance
        self.p = np.where(x > 0, stats.binom.sf(x - 1, n, self.chance), 1.0)
        self.q = stats.false_discovery_control(self.p, method="bh") if self.p.size else np.zeros(0)
        self.significant = self.q < self.alpha


def adults_of_concern(
    graph: GraphArrays | nx.Graph,
    *,
    min_children: int = 2,
    alpha: float = 0.05,
    high_risk_levels: Iterable[str] = ("high",),
    since: Any = None,
    until: Any = None,
    relations: Iterable[str] | str | None = None,
) -> pd.DataFrame:
    """Adults (18+) linked to children, each tested against chance with :class:`ChildLinkTest`.

    Every person aged 18 or over with at least one link is tested (that is the family over which
    ``q`` is adjusted, whatever ``min_children`` lists). Only adults aged 25 and over can be
    ``flagged``: 18-24-year-olds are listed as young adults who may be exploited themselves,
    never as adults of concern, whatever their ``q``.

    Parameters
    ----------
    graph : GraphArrays or networkx.Graph
        From :func:`ctxrisk.analytics.graph.build.build_arrays` (or its networkx form).
    min_children : int
        Least number of distinct children a listed person is linked to (``>= 1``; default 2).
        It chooses the rows shown, not the people tested.
    alpha : float
        False discovery rate for ``flagged`` (default 0.05; ``[graph] alpha`` in settings).
    high_risk_levels : iterable of str
        Screening risk levels counted in ``high_risk_children``.
    since, until, relations
        Test only the evidence in this window and of these relations
        (:func:`ctxrisk.analytics.graph.subset.restrict`); the default is the whole graph.

    Returns
    -------
    DataFrame
        One row per person, flagged adults first, then by ``p`` and ``score``. Columns
        ``person_id``; ``age_band`` (``young_adult`` 18-24 or ``adult`` 25+);
        ``children_linked`` (distinct children with a direct link); ``child_links`` (evidence
        items linking the person to a child); ``links`` (all the person's evidence items);
        ``expected_by_chance`` (links with children expected under the null); ``p``, ``q``
        (one-sided p value and Benjamini–Hochberg q); ``flagged`` (adult 25+ with ``q < alpha``);
        ``finding`` (one line: "adult linked to N children (more than chance)" when flagged);
        ``score`` (sum of the link weights to those children: recency-decayed, grading-weighted);
        ``looked_after_children``; ``high_risk_children``; ``relations`` (relation: evidence
        items with children, ``;``-separated); ``last_seen`` (latest dated evidence with a child,
        ISO UTC); ``evidence_summary`` (one line for a panel paper).
    """
    if int(min_children) < 1:
        msg = f"min_children must be at least 1, got {min_children!r}"
        raise ValidationError(msg)
    arrays = as_arrays(graph)
    if since is not None or until is not None or relations is not None:
        arrays = restrict(arrays, since=since, until=until, relations=relations)
    links = _child_links(arrays)
    tested = np.flatnonzero(np.isin(arrays.age_band, ADULT_BANDS) & (links["links"] > 0))
    test = ChildLinkTest(
        links["child_links"][tested],
        links["links"][tested],
        child_ends=links["child_ends"],
        total_ends=links["total_ends"],
        alpha=alpha,
    )
    listed = links["children"][tested] >= int(min_children)
    frame = _describe(arrays, links, tested[listed], set(high_risk_levels))
    frame.insert(5, "expected_by_chance", test.expected[listed])
    frame.insert(6, "p", test.p[listed])
    frame.insert(7, "q", test.q[listed])
    frame.insert(8, "flagged", test.significant[listed] & (frame["age_band"] == "adult").to_numpy())
    frame.insert(
        9,
        "finding",
        [_finding(*r) for r in zip(frame["age_band"], frame["children_linked"], test.significant[listed], strict=True)],
    )
    frame = frame.sort_values(
        ["flagged", "p", "score", "children_linked", "person_id"],
        ascending=[False, True, False, False, True],
        kind="stable",
    ).reset_index(drop=True)
    log.info(
        "%s of %s people aged 18+ with a link tested; %s adults linked to children more than chance (q < %s)",
        f"{len(frame):,}",
        f"{tested.size:,}",
        f"{int(frame['flagged'].sum()):,}",
        alpha,
    )
    return frame[list(ADULTS_OF_CONCERN_COLUMNS)]


def _finding(band: str, children: int, significant: bool) -> str:
    """The one-line finding of a row of :func:`adults_of_concern`."""
    kids = f"{children} {'child' if children == 1 else 'children'}"
    if not significant:
        return f"linked to {kids} (no more than chance)"
    if band == "adult":
        return f"adult linked to {kids} (more than chance)"
    return f"young adult (18-24) linked to {kids} (more than chance); may be exploited themselves"


def _child_links(arrays: GraphArrays) -> dict[str, Any]:
    """Per person: evidence items in all (``links``), with children (``child_links``), distinct children."""
    n = arrays.n_nodes
    child = arrays.age_band == "child"
    per_edge = np.diff(arrays.evidence_ptr)
    u, v = arrays.edge_u, arrays.edge_v
    ends = np.concatenate([u, v])
    other = np.concatenate([v, u])
    items = np.concatenate([per_edge, per_edge])
    to_child = child[other]
    links = np.bincount(ends, weights=items, minlength=n).astype(np.int64)
    return {
        "links": links,
        "child_links": np.bincount(ends[to_child], weights=items[to_child], minlength=n).astype(np.int64),
        "children": np.bincount(ends[to_child], minlength=n),
        "child_ends": int(links[child].sum()),
        "total_ends": int(links.sum()),
    }


def _describe(arrays: GraphArrays, links: dict[str, Any], people: np.ndarray, high: set[str]) -> pd.DataFrame:
    """The evidence columns of :func:`adults_of_concern` for the people at node positions ``people``."""
    n, k = arrays.n_nodes, people.size
    slot = np.full(n, -1, dtype=np.int64)
    slot[people] = np.arange(k)
    ends = np.concatenate([arrays.edge_u, arrays.edge_v])
    other = np.concatenate([arrays.edge_v, arrays.edge_u])
    edge = np.concatenate([np.arange(arrays.n_edges)] * 2)
    sel = (slot[ends] >= 0) & (arrays.age_band[other] == "child")
    seg, kid, e = slot[ends[sel]], other[sel], edge[sel]
    is_high = np.array([r in high for r in arrays.risk_level.tolist()], dtype=bool)
    looked = np.bincount(seg, weights=arrays.looked_after.astype(bool)[kid], minlength=k).astype(np.int64)
    high_risk = np.bincount(seg, weights=is_high[kid], minlength=k).astype(np.int64)
    last_int = np.full(k, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_int, seg, arrays.last_seen[e].view(np.int64))  # NaT is the smallest int64
    ptr = arrays.evidence_ptr
    per_edge = ptr[e + 1] - ptr[e]
    ev = np.repeat(ptr[e] - (np.cumsum(per_edge) - per_edge), per_edge) + np.arange(int(per_edge.sum()))
    n_rel = len(arrays.relation_names)
    rel_counts = np.bincount(
        np.repeat(seg, per_edge) * n_rel + arrays.evidence_relation[ev].astype(np.int64), minlength=k * n_rel
    ).reshape(k, n_rel)
    frame = pd.DataFrame(
        {
            "person_id": arrays.people[people],
            "age_band": arrays.age_band[people],
            "children_linked": links["children"][people],
            "child_links": links["child_links"][people],
            "links": links["links"][people],
            "score": np.bincount(seg, weights=arrays.weight[e], minlength=k),
            "looked_after_children": looked,
            "high_risk_children": high_risk,
        }
    )
    names = arrays.relation_names
    ranked = [
        sorted(((names[r], c) for r, c in enumerate(row) if c), key=lambda x: (-x[1], x[0]))
        for row in rel_counts.tolist()
    ]
    last = iso(last_int.view("datetime64[us]")).tolist()
    frame["relations"] = [";".join(f"{r}:{c}" for r, c in rel) for rel in ranked]
    frame["last_seen"] = last
    frame["evidence_summary"] = [
        _summary(*row)
        for row in zip(frame["children_linked"], looked.tolist(), high_risk.tolist(), ranked, last, strict=True)
    ]
    return frame


def _summary(children: int, looked: int, high_risk: int, ranked: list[tuple[str, int]], last: str | None) -> str:
    """One line of evidence for a panel paper."""
    items = ", ".join(f"{r} x{c}" for r, c in ranked)
    return (
        f"linked to {children} children ({looked} looked after, {high_risk} screened high risk) "
        f"through {sum(c for _, c in ranked)} evidence items: {items}; latest {last[:10] if last else 'undated'}"
    )


#: Children whose reach is worked out together in :func:`at_risk_children` (bounds the sparse products).
REACH_CHUNK = 8192


def at_risk_children(
    graph: GraphArrays | nx.Graph,
    *,
    hops: int = 2,
    min_suspects: int = 1,
    csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Children ranked by how many distinct suspects are within ``hops`` links of them.

    Children recorded as suspects in the window are left out of this ranking: in criminal
    exploitation a child recorded as a suspect may themselves be exploited, so review them
    separately rather than by this measure. Reach is breadth-first, as sparse products over
    blocks of :data:`REACH_CHUNK` children: the people first reached at step ``d`` are
    ``frontier @ A`` less those already reached, and the last step is taken to suspects only.

    Parameters
    ----------
    graph : GraphArrays or networkx.Graph
        From :func:`ctxrisk.analytics.graph.build.build_arrays` (or its networkx form; node
        attributes ``age_band``, ``is_suspect``).
    hops : int
        Largest number of links between the child and a suspect (``>= 1``; default 2).
    min_suspects : int
        Leave out children with fewer suspects within reach (default 1; 0 lists every child).
    csr : tuple, optional
        ``arrays.csr()`` if already computed.

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
    hops = int(hops)
    arrays = as_arrays(graph)
    indptr, indices, _ = csr if csr is not None else arrays.csr()
    children = np.flatnonzero((arrays.age_band == "child") & ~arrays.is_suspect)
    linked, direct, nearest = _suspect_reach(indptr, indices, children, np.flatnonzero(arrays.is_suspect), hops)
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


def _reached(mat: Any) -> Any:
    """``mat`` as CSR with every stored value set to 1."""
    mat = mat.tocsr()
    mat.data[:] = 1
    return mat


def _suspect_reach(
    indptr: np.ndarray, indices: np.ndarray, children: np.ndarray, suspects: np.ndarray, hops: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per child: distinct suspects within ``hops``, suspects one link away, and hops to the nearest (0: none)."""
    from scipy import sparse

    n = indptr.size - 1
    adj = sparse.csr_array((np.ones(indices.size, dtype=np.int32), indices, indptr), shape=(n, n))
    to_suspects = adj[:, suspects].tocsr()
    linked = np.zeros(children.size, dtype=np.int64)
    direct = np.zeros(children.size, dtype=np.int64)
    nearest = np.zeros(children.size, dtype=np.int64)
    for lo in range(0, children.size, REACH_CHUNK):
        rows = children[lo : lo + REACH_CHUNK]
        k = rows.size
        frontier = sparse.csr_array((np.ones(k, dtype=np.int32), (np.arange(k), rows)), shape=(k, n))
        seen = frontier
        for d in range(1, hops + 1):
            if d < hops:
                new = _reached(frontier @ adj)
                new = _reached(new - new.multiply(seen))
                new.eliminate_zeros()
                found = np.asarray(new[:, suspects].sum(axis=1)).ravel().astype(np.int64)
                seen = _reached(seen + new)
                frontier = new
            else:  # the last step is taken to suspects only
                new = _reached(frontier @ to_suspects)
                new = _reached(new - new.multiply(seen[:, suspects]))
                new.eliminate_zeros()
                found = np.diff(new.indptr).astype(np.int64)
            part = slice(lo, lo + k)
            linked[part] += found
            if d == 1:
                direct[part] = found
            first = (nearest[part] == 0) & (found > 0)
            nearest[part][first] = d
    return linked, direct, nearest
