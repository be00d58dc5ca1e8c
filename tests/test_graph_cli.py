"""Tests for analytics.graph_cli: the ``ctxrisk graph`` commands over a small warehouse."""

import json

import networkx as nx
import pytest
from typer.testing import CliRunner

from analytics.graph_cli import app
from pipelines.warehouse import connect

runner = CliRunner()


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    con = connect(path)
    con.execute(
        "insert into raw.persons (person_id, birth_year_month, looked_after, file_id) values "
        "('c1','2009-01',true,'t'), ('c2','2010-03',false,'t'), ('a1','1990-05',null,'t'), ('a2','1988-02',null,'t')"
    )
    con.execute(
        "insert into raw.incidents (incident_id, source, occurred_at, time_precision, category, theme, latitude, longitude, located, file_id) values "
        "('i1','partnership','2024-01-10 12:00:00+00','minute','cse','cse',53.1,-2.4,true,'t'),"
        "('i2','partnership','2024-03-05 12:00:00+00','minute','cse','cse',53.1,-2.4,true,'t')"
    )
    con.execute(
        "insert into raw.involvements (person_id, event_id, event_type, role, file_id) values "
        "('c1','i1','incident','victim','t'), ('a1','i1','incident','suspect','t'),"
        "('c2','i2','incident','victim','t'), ('a1','i2','incident','suspect','t')"
    )
    con.execute(
        "insert into raw.associations (person_a, person_b, relation, observed_at, file_id) values "
        "('a1','a2','co_offender','2024-02-01 00:00:00+00','t')"
    )
    con.close()
    return path


def _run(*args):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_adults_of_concern_json_and_mart(warehouse):
    result = _run("adults-of-concern", "--warehouse", str(warehouse), "--format", "json")
    rows = json.loads(result.stdout)
    assert [(r["person_id"], r["children_linked"]) for r in rows] == [("a1", 2)]
    con = connect(warehouse, read_only=True)
    assert con.execute("select person_id from marts.graph_adults_of_concern").fetchall() == [("a1",)]
    con.close()


def test_relations_and_window(warehouse):
    rows = json.loads(_run("adults-of-concern", "-w", str(warehouse), "-f", "json", "--until", "2024-02-29", "--min-children", "1").stdout)
    assert [(r["person_id"], r["children_linked"]) for r in rows] == [("a1", 1)]
    rows = json.loads(_run("centrality", "-w", str(warehouse), "-f", "json", "--relations", "co_offender", "--no-mart").stdout)
    linked = {r["person_id"] for r in rows if r["degree"] > 0}
    assert linked == {"a1", "a2"}
    bad = runner.invoke(app, ["centrality", "-w", str(warehouse), "--relations", "friend"])
    assert bad.exit_code == 1
    assert "unknown relation" in bad.output


def test_other_commands(warehouse, tmp_path):
    _run("groups", "-w", str(warehouse), "--seeds", "2")
    rows = json.loads(_run("at-risk-children", "-w", str(warehouse), "-f", "json").stdout)
    assert {r["person_id"] for r in rows} == {"c1", "c2"}
    rows = json.loads(_run("paths", "c1", "c2", "-w", str(warehouse), "-f", "json").stdout)
    assert rows[0]["persons"] == "c1 > a1 > c2"
    csv = _run("ego", "c1", "-w", str(warehouse), "-f", "csv", "--hops", "1").stdout
    assert csv.splitlines()[0].startswith("person_id,hops")
    rows = json.loads(_run("connect", "c1", "c2", "a2", "-w", str(warehouse), "-f", "json").stdout)
    assert len(rows) == 3
    out = tmp_path / "net.graphml"
    _run("export", str(out), "-w", str(warehouse))
    assert nx.read_graphml(out).number_of_edges() == 3
    missing = runner.invoke(app, ["ego", "nobody", "-w", str(warehouse)])
    assert missing.exit_code == 1
