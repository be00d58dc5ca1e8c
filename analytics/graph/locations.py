"""The person–location layer: a bipartite graph of people and places, and children linked through places."""

from __future__ import annotations

import logging
from typing import Any

import networkx as nx
import pandas as pd

from ctxrisk.analytics.graph.inputs import GraphInputs, in_window, parse_bound
from ctxrisk.pipelines.errors import ValidationError

log = logging.getLogger(__name__)

#: Prefix of location node IDs, so a location can never share an ID with a person.
LOCATION_PREFIX = "location:"

CHILDREN_THROUGH_LOCATIONS_COLUMNS = (
    "person_id",
    "children_linked",
    "linked_children",
    "shared_locations",
    "location_ids",
    "adults_at_locations",
)


def person_location_graph(
    inputs: GraphInputs,
    *,
    persons_graph: nx.Graph | None = None,
    since: Any = None,
    until: Any = None,
) -> nx.Graph:
    """Bipartite graph of people and the locations they are linked to.

    Parameters
    ----------
    inputs : GraphInputs
        Uses ``person_locations`` (``person_id``, ``location_id``, optional ``linked_at``).
    persons_graph : networkx.Graph, optional
        Association graph whose person attributes (``age_band``, ``is_suspect``, ``looked_after``)
        are copied onto person nodes; people not in it get ``age_band='unknown'``.
    since, until : str, date, datetime or None
        Window on ``linked_at`` (undated links are kept).

    Returns
    -------
    networkx.Graph
        Person nodes (``kind='person'``, ``bipartite=0``) keyed by person ID; location nodes
        (``kind='location'``, ``bipartite=1``, ``location_id``) keyed ``"location:<id>"``. Edges carry
        ``n_links`` and ``first_seen``/``last_seen`` (ISO UTC or None).
    """
    if not isinstance(inputs, GraphInputs):
        msg = f"inputs must be GraphInputs, not {type(inputs).__name__}"
        raise ValidationError(msg)
    lo, hi = parse_bound(since), parse_bound(until, end=True)
    pl = inputs.person_locations
    pl = pl.loc[in_window(pl["linked_at"], lo, hi, keep_null=True)].dropna(subset=["person_id", "location_id"])
    b = nx.Graph()
    if len(pl):
        agg = pl.assign(person_id=pl["person_id"].astype(str), location_id=pl["location_id"].astype(str)).groupby(
            ["person_id", "location_id"], sort=True
        )
        stats = agg["linked_at"].agg(["size", "min", "max"]).reset_index()
        for row in stats.itertuples(index=False):
            b.add_node(row.person_id, kind="person", bipartite=0)
            b.add_node(LOCATION_PREFIX + row.location_id, kind="location", bipartite=1, location_id=row.location_id)
            b.add_edge(
                row.person_id,
                LOCATION_PREFIX + row.location_id,
                n_links=int(row.size),
                first_seen=None if pd.isna(row.min) else row.min.strftime("%Y-%m-%dT%H:%M:%SZ"),
                last_seen=None if pd.isna(row.max) else row.max.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
    for n, d in b.nodes(data=True):
        if d["kind"] != "person":
            continue
        src = persons_graph.nodes[n] if persons_graph is not None and n in persons_graph else {}
        d["age_band"] = src.get("age_band", "unknown")
        d["is_suspect"] = bool(src.get("is_suspect", False))
        if src.get("looked_after") is not None:
            d["looked_after"] = bool(src["looked_after"])
    n_loc = sum(1 for _, d in b.nodes(data=True) if d["kind"] == "location")
    log.info(
        "person-location graph: %s people, %s locations, %s links",
        f"{b.number_of_nodes() - n_loc:,}",
        f"{n_loc:,}",
        f"{b.number_of_edges():,}",
    )
    return b


def children_linked_through_locations(plg: nx.Graph, *, min_children: int = 2) -> pd.DataFrame:
    """Children linked to other children through the locations they share.

    Parameters
    ----------
    plg : networkx.Graph
        A graph from :func:`person_location_graph`.
    min_children : int
        A location links children when at least this many children are linked to it (``>= 2``).

    Returns
    -------
    DataFrame
        One row per child sharing a location with another child, ranked by ``children_linked``
        then ``adults_at_locations``. Columns ``person_id``; ``children_linked`` (distinct other
        children sharing a location); ``linked_children`` (their IDs, ``;``-separated);
        ``shared_locations`` (count); ``location_ids`` (``;``-separated); ``adults_at_locations``
        (distinct adults 18+ linked to those locations).
    """
    if int(min_children) < 2:
        msg = f"min_children must be at least 2 to link children, got {min_children!r}"
        raise ValidationError(msg)
    kind = nx.get_node_attributes(plg, "kind")
    band = nx.get_node_attributes(plg, "age_band")
    shared: dict[str, list[str]] = {}
    for loc in (n for n, k in kind.items() if k == "location"):
        people = list(plg.neighbors(loc))
        kids = [p for p in people if band.get(p) == "child"]
        if len(kids) >= int(min_children):
            shared[loc] = people
    per_child: dict[Any, dict[str, set]] = {}
    for loc, people in shared.items():
        kids = [p for p in people if band.get(p) == "child"]
        adults = {p for p in people if band.get(p) in ("young_adult", "adult")}
        for k in kids:
            rec = per_child.setdefault(k, {"children": set(), "locations": set(), "adults": set()})
            rec["children"].update(c for c in kids if c != k)
            rec["locations"].add(plg.nodes[loc].get("location_id", loc))
            rec["adults"].update(adults)
    rows = [
        {
            "person_id": k,
            "children_linked": len(r["children"]),
            "linked_children": ";".join(sorted(map(str, r["children"]))),
            "shared_locations": len(r["locations"]),
            "location_ids": ";".join(sorted(r["locations"])),
            "adults_at_locations": len(r["adults"]),
        }
        for k, r in per_child.items()
    ]
    frame = pd.DataFrame(rows, columns=list(CHILDREN_THROUGH_LOCATIONS_COLUMNS))
    frame = frame.sort_values(
        ["children_linked", "adults_at_locations", "person_id"], ascending=[False, False, True], kind="stable"
    ).reset_index(drop=True)
    log.info("%s children linked to other children through %s shared locations", f"{len(frame):,}", f"{len(shared):,}")
    return frame
