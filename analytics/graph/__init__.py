"""Person association graphs for Prepare and Pursue work: build, analyse and export (networkx model)."""

from analytics.graph.build import DEFAULT_GRADING_WEIGHTS, age_band_at, build_graph, validate_relations
from analytics.graph.centrality import betweenness, brokers, burt_constraint, centrality, kcore
from analytics.graph.communities import adjusted_rand_index, group_summary, groups
from analytics.graph.compare import PeriodComparison, compare_periods
from analytics.graph.concern import adults_of_concern, at_risk_children
from analytics.graph.export import decode, export, i2_tables, serialisable
from analytics.graph.inputs import RELATIONS, GraphInputs, load_graph_inputs
from analytics.graph.locations import children_linked_through_locations, person_location_graph
from analytics.graph.paths import connect, connecting_network, ego, ego_graph, paths
from analytics.graph.sensitivity import rank_sensitivity

__all__ = [
    "DEFAULT_GRADING_WEIGHTS",
    "RELATIONS",
    "GraphInputs",
    "PeriodComparison",
    "adjusted_rand_index",
    "adults_of_concern",
    "age_band_at",
    "at_risk_children",
    "betweenness",
    "brokers",
    "burt_constraint",
    "build_graph",
    "centrality",
    "children_linked_through_locations",
    "compare_periods",
    "connect",
    "connecting_network",
    "decode",
    "ego",
    "ego_graph",
    "export",
    "group_summary",
    "groups",
    "i2_tables",
    "kcore",
    "load_graph_inputs",
    "paths",
    "person_location_graph",
    "rank_sensitivity",
    "serialisable",
    "validate_relations",
]
