"""Export an association graph to GraphML, GEXF or i2 Analyst's Notebook import CSVs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.fsutil import ensure_folder
from ctxrisk.pipelines.spreadsheet import write_csv

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("graphml", "gexf", "i2")

#: Columns of the i2 entity CSV (one row per person; entity type ``Person``).
I2_ENTITY_COLUMNS: tuple[str, ...] = (
    "entity_id",
    "entity_type",
    "label",
    "age_band",
    "looked_after",
    "risk_level",
    "screened_at",
    "is_suspect",
    "roles",
    "n_events",
)

#: Columns of the i2 link CSV (one row per linked pair).
I2_LINK_COLUMNS: tuple[str, ...] = (
    "link_id",
    "from_id",
    "to_id",
    "link_type",
    "relations",
    "first_date",
    "first_time",
    "last_date",
    "last_time",
    "weight",
    "evidence_count",
    "best_grading",
    "handling",
    "event_ids",
)


def _plain(value: Any) -> Any:
    """A GraphML/GEXF-safe value: lists, tuples, sets and dicts become JSON strings."""
    if isinstance(value, set | frozenset):
        return json.dumps(sorted(value), default=str)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return value


def serialisable(g: nx.Graph, *, gexf: bool = False) -> nx.Graph:
    """Return a copy of ``g`` whose attributes GraphML/GEXF can hold.

    Lists, sets and dicts become JSON strings, ``None`` attributes are left out (GraphML has no
    null), numpy scalars become Python scalars. With ``gexf=True`` each node gets ``label`` (its ID)
    and each edge an ``id`` (``L000001`` …), which GEXF readers add anyway, so that a re-import is
    equal to this copy.
    """
    h = nx.Graph()
    h.graph.update({k: _plain(v) for k, v in g.graph.items() if v is not None})
    for n, d in g.nodes(data=True):
        attrs = {k: _plain(v) for k, v in d.items() if v is not None}
        if gexf:
            attrs["label"] = str(n)
        h.add_node(str(n), **attrs)
    for i, (a, b, d) in enumerate(sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))), start=1):
        attrs = {k: _plain(v) for k, v in d.items() if v is not None}
        if gexf:
            attrs["id"] = f"L{i:06d}"
        h.add_edge(str(a), str(b), **attrs)
    return h


def decode(g: nx.Graph) -> nx.Graph:
    """Inverse of :func:`serialisable` for a re-imported graph: JSON strings back to lists/dicts.

    The ``relations``, ``evidence``, ``roles`` and ``locations`` attributes are decoded; GEXF's
    ``label`` and edge ``id`` are dropped.
    """
    h = nx.Graph()
    h.graph.update(g.graph)
    json_keys = {"relations", "evidence", "roles", "locations"}
    for n, d in g.nodes(data=True):
        h.add_node(
            n,
            **{
                k: (json.loads(v) if k in json_keys and isinstance(v, str) else v) for k, v in d.items() if k != "label"
            },
        )
    for a, b, d in g.edges(data=True):
        h.add_edge(
            a,
            b,
            **{k: (json.loads(v) if k in json_keys and isinstance(v, str) else v) for k, v in d.items() if k != "id"},
        )
    return h


def _split_time(iso: str | None) -> tuple[str, str]:
    if not iso:
        return "", ""
    return iso[:10], iso[11:19]


def i2_tables(g: nx.Graph) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Entity and link tables for an i2 Analyst's Notebook import specification.

    Returns
    -------
    entities : DataFrame
        Columns :data:`I2_ENTITY_COLUMNS`; ``entity_type`` is ``Person`` and ``label`` the
        pseudonymous ID.
    links : DataFrame
        Columns :data:`I2_LINK_COLUMNS`: ``link_type`` is the relation with the most evidence weight,
        ``relations`` every relation joined by ``"; "``, dates as ``YYYY-MM-DD`` and times as
        ``HH:MM:SS`` (UTC) for the first and last evidence, ``best_grading`` the best 3x5x2 grade
        held (e.g. ``1B``), ``handling`` ``C`` when any evidence has conditions, else ``P``.
    """
    ent_rows = []
    for n, d in sorted(g.nodes(data=True), key=lambda x: str(x[0])):
        la = d.get("looked_after")
        ent_rows.append(
            {
                "entity_id": str(n),
                "entity_type": "Person",
                "label": str(n),
                "age_band": d.get("age_band", "unknown"),
                "looked_after": "" if la is None else ("yes" if la else "no"),
                "risk_level": d.get("risk_level") or "",
                "screened_at": (d.get("screened_at") or "")[:10],
                "is_suspect": "yes" if d.get("is_suspect") else "no",
                "roles": "; ".join(d.get("roles") or []),
                "n_events": int(d.get("n_events") or 0),
            }
        )
    link_rows = []
    for i, (a, b, d) in enumerate(sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))), start=1):
        evidence = d.get("evidence") or []
        by_rel: dict[str, float] = {}
        for e in evidence:
            by_rel[e["relation"]] = by_rel.get(e["relation"], 0.0) + float(e.get("weight") or 0.0)
        rels = d.get("relations") or sorted(by_rel)
        main = max(sorted(by_rel), key=lambda r: by_rel[r]) if by_rel else (rels[0] if rels else "")
        grades = sorted(e["grading"] for e in evidence if e.get("grading"))
        fd, ft = _split_time(d.get("first_seen"))
        ld, lt = _split_time(d.get("last_seen"))
        link_rows.append(
            {
                "link_id": f"L{i:06d}",
                "from_id": str(a),
                "to_id": str(b),
                "link_type": main,
                "relations": "; ".join(rels),
                "first_date": fd,
                "first_time": ft,
                "last_date": ld,
                "last_time": lt,
                "weight": round(float(d.get("weight", 0.0)), 6),
                "evidence_count": len(evidence),
                "best_grading": grades[0] if grades else "",
                "handling": "C" if d.get("handling_conditions") else "P",
                "event_ids": "; ".join(sorted({str(e["event_id"]) for e in evidence if e.get("event_id")})),
            }
        )
    entities = pd.DataFrame(ent_rows, columns=list(I2_ENTITY_COLUMNS))
    links = pd.DataFrame(link_rows, columns=list(I2_LINK_COLUMNS))
    return entities, links


def export(g: nx.Graph, path: str | Path, *, format: str = "graphml") -> list[Path]:  # noqa: A002
    """Write the graph for other tools.

    Parameters
    ----------
    g : networkx.Graph
        A graph from :func:`ctxrisk.analytics.graph.build.build_graph` (or a subgraph of one).
    path : str or Path
        Output file for ``graphml``/``gexf``. For ``i2`` a directory (no suffix) receives
        ``entities.csv`` and ``links.csv``; a file name ``net.csv`` gives ``net_entities.csv`` and
        ``net_links.csv``.
    format : {"graphml", "gexf", "i2"}
        ``graphml`` and ``gexf`` re-import with ``networkx.read_graphml``/``read_gexf`` equal (nodes,
        edges, node and edge attributes) to :func:`serialisable` of the graph (GraphML also keeps the
        graph attributes such as ``as_of``; GEXF does not); :func:`decode` restores the lists.
        ``i2`` writes UTF-8 CSVs with the columns of :func:`i2_tables`.

    Returns
    -------
    list of Path
        The files written.
    """
    if format not in FORMATS:
        msg = f"unknown export format {format!r}; choose one of {list(FORMATS)}"
        raise ValidationError(msg)
    path = Path(path)
    if format == "graphml":
        ensure_folder(path.parent)
        nx.write_graphml(serialisable(g), path)
        written = [path]
    elif format == "gexf":
        ensure_folder(path.parent)
        nx.write_gexf(serialisable(g, gexf=True), path)
        written = [path]
    else:
        if path.suffix:
            ent_path = path.with_name(f"{path.stem}_entities.csv")
            link_path = path.with_name(f"{path.stem}_links.csv")
        else:
            ent_path, link_path = path / "entities.csv", path / "links.csv"
        ensure_folder(ent_path.parent)
        entities, links = i2_tables(g)
        # For a spreadsheet or i2: an ID or name starting with = + - @ is written with a quote in front.
        write_csv(entities, ent_path, encoding="utf-8")
        write_csv(links, link_path, encoding="utf-8")
        written = [ent_path, link_path]
    log.info(
        "exported graph with %s nodes and %s edges as %s to %s",
        f"{g.number_of_nodes():,}",
        f"{g.number_of_edges():,}",
        format,
        ", ".join(str(p) for p in written),
    )
    return written
