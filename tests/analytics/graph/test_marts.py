"""Tests for the graph marts: declared in pipelines/sql/marts/06*.sql, written by name, emptied by a purge."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from ctxrisk.analytics.graph.build import build_arrays
from ctxrisk.analytics.graph.marts import GRAPH_MARTS, graph_marts
from ctxrisk.analytics.graph.synthetic import worked_example
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.purge import purge_older_than
from ctxrisk.pipelines.warehouse import connect, declared_marts, stale_marts, write_mart

#: Every mart the graph step and the ``ctxrisk graph`` commands write.
COMMAND_MARTS = (
    "graph_ego",
    "graph_paths",
    "graph_connect",
    "graph_new_links",
    "graph_dropped_links",
    "graph_growing_groups",
    "graph_sensitivity",
)


@pytest.fixture(scope="module")
def frames():
    arrays = build_arrays(worked_example(), as_of="2025-01-01", half_life_days=1e12)
    return graph_marts(arrays, seeds=range(2))


@pytest.fixture
def con(tmp_path):
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()


def _types(con, name):
    rows = con.execute(
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [name],
    ).fetchall()
    return {c: (t, n == "YES") for c, t, n in rows}


def test_every_graph_mart_is_declared_and_a_new_warehouse_holds_it_empty(con):
    for name in (*GRAPH_MARTS, *COMMAND_MARTS):
        assert name in declared_marts()
        assert _types(con, name), name
        assert con.execute(f"select count(*) from marts.{name}").fetchone() == (0,)


def test_step_frames_match_their_declared_columns_and_types(con, frames):
    for name, frame in frames.items():
        assert write_mart(con, name, frame) == len(frame) > 0
        assert list(_types(con, name)) == list(frame.columns), name
    adults = _types(con, "graph_adults_of_concern")
    assert adults["person_id"] == ("VARCHAR", False)
    assert adults["flagged"] == ("BOOLEAN", False)
    assert adults["children_linked"] == ("BIGINT", False)
    assert adults["last_seen"] == ("TIMESTAMP WITH TIME ZONE", True)
    assert _types(con, "graph_at_risk_children")["nearest_suspect_hops"] == ("BIGINT", True)
    got = con.execute("select person_id, flagged from marts.graph_adults_of_concern").df()
    expected = frames["graph_adults_of_concern"][["person_id", "flagged"]]
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False)


def test_a_missing_or_extra_column_is_an_error(con, frames):
    groups = frames["graph_groups"]
    with pytest.raises(
        ValidationError, match=r"graph_groups: the frame lacks declared column\(s\) \['top_locations'\]"
    ):
        write_mart(con, "graph_groups", groups.drop(columns="top_locations"))
    with pytest.raises(ValidationError, match=r"has undeclared \['note'\]"):
        write_mart(con, "graph_groups", groups.assign(note="x"))


def test_a_value_of_the_wrong_type_or_a_missing_one_is_an_error(con, frames):
    groups = frames["graph_groups"]
    with pytest.raises(ValidationError, match="graph_groups: a value does not fit its declared column"):
        write_mart(con, "graph_groups", groups.assign(size="many"))
    with pytest.raises(ValidationError, match="a value does not fit its declared column"):
        write_mart(con, "graph_groups", groups.assign(top_locations=None))


def test_a_failed_write_keeps_the_rows_before_it(con, frames):
    groups = frames["graph_groups"]
    write_mart(con, "graph_groups", groups)
    with pytest.raises(ValidationError):
        write_mart(con, "graph_groups", groups.assign(size="many"))
    assert con.execute("select count(*) from marts.graph_groups").fetchone() == (len(groups),)


def test_an_undeclared_table_of_an_older_warehouse_gives_way_to_the_declared_one(con, frames):
    con.execute("drop table marts.graph_groups")
    con.execute("create table marts.graph_groups as select 1 as group_id, 'x' as stray")
    write_mart(con, "graph_groups", frames["graph_groups"])
    assert "stray" not in _types(con, "graph_groups")
    assert _types(con, "graph_groups")["internal_weight"] == ("DOUBLE", False)


def test_a_purge_empties_graph_marts_as_stale_and_the_next_write_rebuilds_them(con, frames):
    con.execute(
        "insert into raw.associations (person_a, person_b, relation, observed_at, file_id) "
        "values ('a1', 'a2', 'knows', '2010-02-01 00:00:00+00', 't')"
    )
    write_mart(con, "graph_centrality", frames["graph_centrality"])
    write_mart(con, "graph_adults_of_concern", frames["graph_adults_of_concern"])
    result = purge_older_than(con, datetime(2020, 1, 1, tzinfo=UTC))
    assert result.cleared_marts["graph_centrality"] == len(frames["graph_centrality"])
    assert con.execute("select count(*) from marts.graph_centrality").fetchone() == (0,)
    assert _types(con, "graph_centrality")["betweenness_se"] == ("DOUBLE", False)
    assert {"graph_centrality", "graph_adults_of_concern"} <= set(stale_marts(con))
    write_mart(con, "graph_centrality", frames["graph_centrality"])
    assert con.execute("select count(*) from marts.graph_centrality").fetchone() == (len(frames["graph_centrality"]),)
    assert "graph_centrality" not in stale_marts(con) and "graph_adults_of_concern" in stale_marts(con)
