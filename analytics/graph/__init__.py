"""Person association graphs for Prepare and Pursue work: build, analyse and export (arrays; networkx on demand)."""

from ctxrisk.analytics.graph.arrays import GraphArrays, from_networkx, to_networkx
from ctxrisk.analytics.graph.build import (
    DEFAULT_GRADING_WEIGHTS,
    age_band_at,
    build_arrays,
    build_graph,
    validate_relations,
)
from ctxrisk.analytics.graph.centrality import betweenness, brokers, burt_constraint, centrality, kcore
from ctxrisk.analytics.graph.communities import adjusted_rand_index, group_summary, groups
from ctxrisk.analytics.graph.compare import PeriodComparison, compare_periods
from ctxrisk.analytics.graph.concern import ChildLinkTest, adults_of_concern, at_risk_children
from ctxrisk.analytics.graph.export import decode, export, i2_tables, serialisable
from ctxrisk.analytics.graph.inputs import RELATIONS, GraphInputs, load_graph_inputs
from ctxrisk.analytics.graph.locations import children_linked_through_locations, person_location_graph
from ctxrisk.analytics.graph.paths import connect, connecting_network, ego, ego_graph, paths
from ctxrisk.analytics.graph.sensitivity import rank_sensitivity
from ctxrisk.analytics.graph.subset import restrict

__all__ = [
    "ChildLinkTest",
    "DEFAULT_GRADING_WEIGHTS",
    "RELATIONS",
    "GraphArrays",
    "GraphInputs",
    "PeriodComparison",
    "adjusted_rand_index",
    "adults_of_concern",
    "age_band_at",
    "at_risk_children",
    "betweenness",
    "build_arrays",
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
    "from_networkx",
    "group_summary",
    "groups",
    "i2_tables",
    "kcore",
    "load_graph_inputs",
    "paths",
    "person_location_graph",
    "rank_sensitivity",
    "restrict",
    "serialisable",
    "to_networkx",
    "validate_relations",
]
