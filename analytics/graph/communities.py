"""Groups of closely linked people (Leiden communities) with their stability across seeds."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ctxrisk.analytics.graph.arrays import GraphArrays, as_arrays
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

GROUP_MEMBER_COLUMNS = (
    "person_id",
    "group_id",
    "age_band",
    "group_size",
    "group_children",
    "group_adults",
    "group_shared_locations",
)

GROUP_SUMMARY_COLUMNS = (
    "group_id",
    "size",
    "children",
    "adults",
    "unknown_age",
    "suspects",
    "looked_after_children",
    "internal_weight",
    "shared_locations",
    "top_locations",
)


def adjusted_rand_index(labels_a: list, labels_b: list) -> float:
    """Adjusted Rand index of two labellings of the same items (Hubert & Arabie 1985).

    ``ARI = (sum_ij C(n_ij,2) - E) / ((sum_i C(a_i,2) + sum_j C(b_j,2))/2 - E)`` with
    ``E = sum_i C(a_i,2) sum_j C(b_j,2) / C(n,2)``; 1 for identical partitions, about 0 for
    chance agreement. Returns 1.0 when both labellings are trivial (as scikit-learn does).
    """
    a = np.unique(np.asarray(labels_a), return_inverse=True)[1].ravel().astype(np.int64)
    b = np.unique(np.asarray(labels_b), return_inverse=True)[1].ravel().astype(np.int64)
    n = a.size
    # Sparse contingency: only the (group a, group b) cells that occur. A dense groups x groups table
    # needs gigabytes once there are tens of thousands of groups.
    width = int(b.max()) + 1 if n else 1
    cells = np.unique(a * width + b, return_counts=True)[1] if n else np.zeros(0, dtype=np.int64)
    rows = np.bincount(a) if n else np.zeros(0, dtype=np.int64)
    cols = np.bincount(b) if n else np.zeros(0, dtype=np.int64)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) // 2).sum())

    index = pairs(cells)
    sum_a, sum_b = pairs(rows), pairs(cols)
    total = n * (n - 1) / 2
    expected = sum_a * sum_b / total if total else 0.0
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def _leiden(h, seed: int, resolution: float) -> list[int]:
    """One seeded Leiden run (see :func:`ctxrisk.analytics.graph.leiden_worker.leiden_partition`)."""
    from ctxrisk.analytics.graph.leiden_worker import leiden_partition

    return leiden_partition(h, seed, resolution)


#: Most and fewest Leiden seeds :func:`default_seeds` gives, and its work budget (seeds x links).
MAX_DEFAULT_SEEDS = 10
MIN_DEFAULT_SEEDS = 3
SEED_BUDGET = 1.5e6


def default_seeds(n_edges: int) -> range:
    """Seeds for the run's groups: ``clip(SEED_BUDGET / links, 3, 10)``, as ``range(k)``.

    Each seed is one Leiden run over every link, so the work stays bounded as the graph grows: 10
    seeds up to 150k links (100k incidents: 49k), 3 from 375k (1M incidents: 490k links; 10M
    incidents: 4.9M). The stability (mean adjusted Rand index over the pairs of seeds) is then
    measured on 3 pairs instead of 45, and the run with the best modularity is still reported; the
    mart's ``attrs`` (and the step's log) say how many seeds ran.
    """
    budget = int(SEED_BUDGET // max(1, int(n_edges)))
    return range(max(MIN_DEFAULT_SEEDS, min(MAX_DEFAULT_SEEDS, budget)))


#: Fewest links for which extra processes run Leiden seeds (starting one costs about a second).
PARALLEL_MIN_EDGES = 100_000
#: Most processes running Leiden seeds at once (this one included).
MAX_LEIDEN_PROCESSES = 4


def _usable_cpus() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _leiden_seeds(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    seeds: list[int],
    resolution: float,
    *,
    processes: int | None,
) -> list[list[int]]:
    """One Leiden partition per seed, in seed order; on a large graph the seeds are shared with worker processes.

    igraph holds the interpreter lock while it runs, so threads would not overlap. Each worker is a
    fresh interpreter running :mod:`ctxrisk.analytics.graph.leiden_worker` (not a fork of a process holding
    database threads, and not a re-import of the caller's script as multiprocessing's spawn does);
    it gets every ``processes``-th seed and this process runs its own share meanwhile. Called from a
    thread other than the main one (``ctxrisk run`` computes the graph beside other steps), every share
    goes to a worker: a Leiden run here would hold the interpreter lock those steps need. The igraph
    graph of this process is only made when a seed runs here.
    """
    import threading

    from ctxrisk.analytics.graph.centrality import _edge_rows, igraph_from_arrays

    n = indptr.size - 1
    made: list = []

    def local() -> Any:
        if not made:
            made.append(igraph_from_arrays(indptr, indices, weights, n))
        return made[0]

    rows, once = _edge_rows(indptr, indices)
    wanted = min(_usable_cpus() if processes is None else int(processes), MAX_LEIDEN_PROCESSES, len(seeds))
    if wanted <= 1 or rows.size < PARALLEL_MIN_EDGES:
        return [_leiden(local(), seed, resolution) for seed in seeds]
    payload = (np.column_stack([rows, indices[once]]), weights[once], n)
    shares = [seeds[i::wanted] for i in range(wanted)]
    here = threading.current_thread() is threading.main_thread()
    if not here:
        shares = [[], *shares]
    workers = [_start_worker(payload, share, resolution) for share in shares[1:]]
    found = {seed: _leiden(local(), seed, resolution) for seed in shares[0]}
    for share, worker in zip(shares[1:], workers, strict=True):
        result = _finish_worker(worker)
        if result is None or len(result) != len(share):  # the worker failed (logged): run its seeds here
            result = [_leiden(local(), seed, resolution) for seed in share]
        found.update(zip(share, result, strict=True))
    log.info("ran %d Leiden seeds in %d processes", len(seeds), len(shares) - (0 if here else 1))
    return [found[seed] for seed in seeds]


def _start_worker(payload: tuple, seeds: list[int], resolution: float) -> tuple | None:
    """Start a Leiden worker and feed it its input from a thread (so this process can get on with its seeds)."""
    import pickle
    import subprocess
    import sys
    import threading
    from pathlib import Path

    # The worker file runs as a script (-P: its folder is not put on the import path), so the worker
    # imports igraph and numpy only, not this package and the libraries it loads.
    script = str(Path(__file__).resolve().with_name("leiden_worker.py"))
    try:
        proc = subprocess.Popen([sys.executable, "-P", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    except OSError as exc:
        log.warning("could not start a Leiden worker process (%s); its seeds run here", exc)
        return None
    data = pickle.dumps((*payload, list(seeds), float(resolution)), protocol=pickle.HIGHEST_PROTOCOL)

    def feed() -> None:
        try:
            proc.stdin.write(data)
            proc.stdin.close()
        except OSError:  # the worker died early; _finish_worker reports it
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    return proc, feeder


def _finish_worker(worker: tuple | None) -> list[list[int]] | None:
    """The worker's partitions, or None (logged) when it could not give them."""
    import pickle

    if worker is None:
        return None
    proc, feeder = worker
    out = proc.stdout.read()
    proc.wait()
    feeder.join()
    if proc.returncode != 0:
        log.warning("a Leiden worker process exited with code %s; its seeds run here", proc.returncode)
        return None
    try:
        return pickle.loads(out)
    except (pickle.UnpicklingError, EOFError) as exc:
        log.warning("a Leiden worker process gave unreadable output (%s); its seeds run here", exc)
        return None


def _modularity(adjacency: tuple[np.ndarray, np.ndarray, np.ndarray], labels: list[int], resolution: float) -> float:
    """Weighted modularity ``sum_c [L_c/m - gamma (d_c/2m)^2]`` from CSR arrays (as networkx computes it)."""
    indptr, indices, weights = adjacency
    rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    loop = np.where(rows == indices, weights, 0.0)  # a self-loop is one CSR entry but counts twice in degree
    two_m = float(weights.sum() + loop.sum())
    if two_m == 0:
        return 0.0
    lab = np.unique(np.asarray(labels), return_inverse=True)[1].ravel()
    strength = np.bincount(rows, weights=weights + loop, minlength=lab.size)
    same = lab[rows] == lab[indices]
    internal = float((weights + loop)[same].sum())  # 2 x the weight inside groups
    degree_sum = np.bincount(lab, weights=strength)
    return internal / two_m - resolution * float(((degree_sum / two_m) ** 2).sum())


def _internal_weights(pos: np.ndarray, code: np.ndarray, n_groups: int, adjacency: tuple) -> np.ndarray:
    """Sum of edge weights inside each group (each edge, and each self-loop, once), from CSR arrays.

    ``pos`` are the members' node positions and ``code`` their group codes (a person listed twice
    keeps the last group). Equals ``g.subgraph(people).size(weight="weight")`` per group without
    building subgraphs.
    """
    from ctxrisk.analytics.graph.centrality import _edge_rows

    indptr, indices, weights, _ = adjacency
    labels = np.full(indptr.size - 1, -1, dtype=np.int64)
    labels[pos] = code
    rows, once = _edge_rows(indptr, indices)
    cols, w = indices[once], weights[once]
    same = (labels[rows] == labels[cols]) & (labels[rows] >= 0)
    return np.bincount(labels[rows][same], weights=w[same], minlength=n_groups)


def _shared_locations_flat(
    lengths: np.ndarray, flat: list | np.ndarray, group_code: np.ndarray, n_groups: int
) -> tuple[np.ndarray, list[str]]:
    """Per group: how many locations two or more members are linked to, and up to five of them (``;``-joined).

    From each member's number of locations (``lengths``) and the locations one after another
    (``flat``). A location listed twice for one person counts twice (as a per-member tally does).
    The five are the most-linked first, then by location ID.
    """
    counts = np.zeros(n_groups, dtype=np.int64)
    top = [""] * n_groups
    if not lengths.sum():
        return counts, top
    locs = pd.Series(flat, dtype=object)
    tally = (
        pd.DataFrame({"group": np.repeat(group_code, lengths), "location": locs.to_numpy(dtype=object)})
        .groupby(["group", "location"], sort=False)
        .size()
        .reset_index(name="n")
    )
    tally = tally[tally["n"] >= 2]
    if tally.empty:
        return counts, top
    tally = tally.sort_values(["group", "n", "location"], ascending=[True, False, True], kind="stable")
    group = tally["group"].to_numpy(dtype=np.int64)
    counts += np.bincount(group, minlength=n_groups)
    rank = np.arange(group.size) - np.searchsorted(group, group, side="left")
    first5 = rank < 5
    names = tally["location"].to_numpy(dtype=object)[first5].tolist()
    g5 = group[first5]
    starts = np.flatnonzero(np.r_[True, g5[1:] != g5[:-1]])
    ends = np.r_[starts[1:], g5.size]
    for gid, s, e in zip(g5[starts].tolist(), starts.tolist(), ends.tolist(), strict=True):
        top[gid] = ";".join(names[s:e])
    return counts, top


def group_summary(
    graph: GraphArrays | nx.Graph, members: pd.DataFrame, *, adjacency: tuple | None = None
) -> pd.DataFrame:
    """Summarise each group: size, children, adults, suspects, shared locations.

    Parameters
    ----------
    graph : GraphArrays or networkx.Graph
        Association graph (node attributes ``age_band``, ``is_suspect``, ``looked_after``,
        ``locations``).
    members : DataFrame
        ``person_id`` and ``group_id`` columns (e.g. from :func:`groups`); every person a node.
    adjacency : tuple, optional
        ``arrays.adjacency()`` if already computed (saves a pass).

    Returns
    -------
    DataFrame
        Columns ``group_id``; ``size``; ``children``; ``adults`` (18+: young adults and adults);
        ``unknown_age``; ``suspects``; ``looked_after_children``; ``internal_weight`` (sum of edge
        weights inside the group); ``shared_locations`` (locations linked to two or more members);
        ``top_locations`` (up to five of them, most members first, ``;``-separated). Ordered by
        ``group_id``. Counted with array operations over all people at once (no loop over groups).
    """
    arrays = as_arrays(graph)
    pos = pd.Index(arrays.people, dtype=object).get_indexer(
        pd.Index(members["person_id"].to_numpy(dtype=object), dtype=object)
    )
    if (pos < 0).any():
        first = members["person_id"].to_numpy()[pos < 0][0]
        msg = f"{int((pos < 0).sum()):,} member(s) are not people of the graph (first: {first!r})"
        raise ValidationError(msg)
    return _summary(arrays, pos, members["group_id"].to_numpy(), adjacency or arrays.adjacency())


def _summary(arrays: GraphArrays, pos: np.ndarray, group_id: np.ndarray, adjacency: tuple) -> pd.DataFrame:
    """:func:`group_summary` of the members at node positions ``pos`` in groups ``group_id``."""
    gids, code = np.unique(group_id, return_inverse=True)
    code = code.ravel().astype(np.int64)
    internal = _internal_weights(pos, code, gids.size, adjacency)
    ptr = arrays.location_ptr
    lengths = (ptr[pos + 1] - ptr[pos]).astype(np.int64)
    take = np.repeat(ptr[pos] - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    shared = _shared_locations_flat(lengths, arrays.locations[take], code, gids.size)
    return _summary_frame(gids, code, internal, _array_attributes(arrays, pos), shared)


def _array_attributes(arrays: GraphArrays, pos: np.ndarray) -> pd.DataFrame:
    """Age band, suspect and looked-after flags of the nodes at positions ``pos``."""
    return pd.DataFrame(
        {
            "age_band": arrays.age_band[pos],
            "suspect": arrays.is_suspect[pos].astype(bool),
            "looked_after": arrays.looked_after[pos].astype(bool),
        }
    )


def _summary_frame(
    gids: np.ndarray,
    code: np.ndarray,
    internal: np.ndarray,
    attrs: pd.DataFrame,
    shared_top: tuple[np.ndarray, list[str]],
) -> pd.DataFrame:
    """One row per group from the members' group codes and attributes."""
    k = gids.size
    band = attrs["age_band"].to_numpy(dtype=object)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(code[mask], minlength=k).astype(np.int64)

    child = band == "child"
    shared, top = shared_top
    frame = pd.DataFrame(
        {
            "group_id": gids,
            "size": np.bincount(code, minlength=k).astype(np.int64),
            "children": count(child),
            "adults": count((band == "young_adult") | (band == "adult")),
            "unknown_age": count(band == "unknown"),
            "suspects": count(attrs["suspect"].to_numpy()),
            "looked_after_children": count(attrs["looked_after"].to_numpy() & child),
            "internal_weight": internal.astype(float),
            "shared_locations": shared,
            "top_locations": top,
        },
        columns=list(GROUP_SUMMARY_COLUMNS),
    )
    return frame


def groups(
    graph: GraphArrays | nx.Graph,
    *,
    seeds: Iterable[int] = range(10),
    resolution: float = 1.0,
    adjacency: tuple | None = None,
    processes: int | None = None,
) -> pd.DataFrame:
    """Find groups of closely linked people and how stable they are across random seeds.

    Leiden (Traag, Waltman & van Eck 2019; igraph's C ``community_leiden``) optimises weighted
    modularity with resolution ``gamma``; its communities are always internally connected (one
    optimiser iteration per seed:
    :data:`ctxrisk.analytics.graph.leiden_worker.LEIDEN_ITERATIONS`). Each seed gives one
    partition; the one with the highest modularity is reported. Stability is the mean adjusted
    Rand index (Hubert & Arabie 1985) over all pairs of seed runs: 1 = every seed found the same
    groups, about 0 = no better than chance.

    Parameters
    ----------
    graph : GraphArrays or networkx.Graph
        Association graph (edge ``weight``).
    seeds : iterable of int
        Seeds of the runs (default 0–9). At least one.
    resolution : float
        Modularity resolution, ``> 0``; higher gives more, smaller groups.
    adjacency : tuple, optional
        ``arrays.adjacency()`` if already computed (saves a pass).
    processes : int, optional
        Processes running the Leiden seeds side by side on graphs of at least
        :data:`PARALLEL_MIN_EDGES` links (default: the CPUs this process may use, at most
        :data:`MAX_LEIDEN_PROCESSES`; 1 runs every seed here). Each seed's partition is the same
        either way: every run has its own seeded random number generator.

    Returns
    -------
    DataFrame
        One row per person: ``person_id``, ``group_id`` (1 = largest group; ties by most children),
        ``age_band``, ``group_size``, ``group_children``, ``group_adults``,
        ``group_shared_locations``; ranked by group then person. ``attrs`` holds ``method``
        (``leiden``), ``seeds``, ``best_seed``, ``modularity`` and ``stability_ari`` (NaN with one
        seed). :func:`group_summary` gives one row per group; :func:`group_tables` gives both.
    """
    return group_tables(graph, seeds=seeds, resolution=resolution, adjacency=adjacency, processes=processes)[0]


def group_tables(
    graph: GraphArrays | nx.Graph,
    *,
    seeds: Iterable[int] = range(10),
    resolution: float = 1.0,
    adjacency: tuple | None = None,
    processes: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(groups(graph, ...), group_summary(graph, members))`` with the summary worked out once.

    Parameters as for :func:`groups`.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        msg = "seeds must hold at least one seed"
        raise ValidationError(msg)
    if not resolution > 0:
        msg = f"resolution must be > 0, got {resolution!r}"
        raise ValidationError(msg)
    arrays = as_arrays(graph)
    if arrays.n_nodes == 0:
        frame = pd.DataFrame(columns=list(GROUP_MEMBER_COLUMNS))
        empty = {"method": "leiden", "seeds": seeds, "best_seed": seeds[0], "modularity": 0.0}
        frame.attrs.update({**empty, "stability_ari": float("nan")})
        return frame, pd.DataFrame(columns=list(GROUP_SUMMARY_COLUMNS))
    indptr, indices, weights, nodes = adjacency if adjacency is not None else arrays.adjacency()
    partitions = _leiden_seeds(indptr, indices, weights, seeds, resolution, processes=processes)
    runs = [
        (seed, labels, _modularity((indptr, indices, weights), labels, resolution))
        for seed, labels in zip(seeds, partitions, strict=True)
    ]
    best_seed, best, best_q = max(runs, key=lambda r: r[2])
    if len(runs) > 1:
        stability = float(np.mean([adjusted_rand_index(a[1], b[1]) for a, b in itertools.combinations(runs, 2)]))
    else:
        stability = float("nan")
    group_id = _numbered(arrays, np.asarray(best, dtype=np.int64))
    summary = _summary(arrays, np.arange(len(nodes)), group_id, (indptr, indices, weights, nodes))
    frame = _member_frame(arrays, group_id, summary)
    frame.attrs.update(
        {"method": "leiden", "seeds": seeds, "best_seed": best_seed, "modularity": best_q, "stability_ari": stability}
    )
    log.info(
        "found %s groups among %s people with Leiden (modularity %.3f, stability ARI %.3f over %d seeds)",
        f"{len(summary):,}",
        f"{len(nodes):,}",
        best_q,
        stability,
        len(seeds),
    )
    return frame, summary


def _numbered(arrays: GraphArrays, label: np.ndarray) -> np.ndarray:
    """Group number of each node: groups ranked by size, then children, then their first person by ID."""
    n_labels = int(label.max()) + 1
    size = np.bincount(label, minlength=n_labels)
    children = np.bincount(label, weights=arrays.age_band == "child", minlength=n_labels)
    first = np.full(n_labels, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, label, arrays.id_rank)
    used = np.flatnonzero(size)
    ranked = used[np.lexsort((first[used], -children[used], -size[used]))]
    renumber = np.zeros(n_labels, dtype=np.int64)
    renumber[ranked] = np.arange(1, ranked.size + 1)
    return renumber[label]


def _member_frame(arrays: GraphArrays, group_id: np.ndarray, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per person with their group's size, children, adults and shared locations, by group then ID."""
    by_group = summary.set_index("group_id")
    order = np.lexsort((arrays.id_rank, group_id))
    gid = pd.Series(group_id[order])
    frame = pd.DataFrame(
        {
            "person_id": arrays.people[order],
            "group_id": gid,
            "age_band": arrays.age_band[order],
            "group_size": gid.map(by_group["size"]),
            "group_children": gid.map(by_group["children"]),
            "group_adults": gid.map(by_group["adults"]),
            "group_shared_locations": gid.map(by_group["shared_locations"]),
        },
        columns=list(GROUP_MEMBER_COLUMNS),
    )
    return frame
