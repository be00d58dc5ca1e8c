"""Person association graphs for Prepare and Pursue work: build, analyse and export (networkx model)."""

from analytics.graph.build import DEFAULT_GRADING_WEIGHTS, age_band_at, build_graph, validate_relations
from analytics.graph.export import decode, export, i2_tables, serialisable
from analytics.graph.inputs import RELATIONS, GraphInputs, load_graph_inputs

__all__ = [
    "DEFAULT_GRADING_WEIGHTS",
    "RELATIONS",
    "GraphInputs",
    "age_band_at",
    "build_graph",
    "decode",
    "export",
    "i2_tables",
    "load_graph_inputs",
    "serialisable",
    "validate_relations",
]
