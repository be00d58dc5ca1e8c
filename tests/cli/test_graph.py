"""Tests for ctxrisk.cli.graph: the ``ctxrisk graph`` commands over a small warehouse."""

import json

import networkx as nx
import pytest
from typer.testing import CliRunner

from ctxrisk.cli.graph import app
from ctxrisk.pipelines.warehouse import connect

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
        "insert into raw.incidents (incident_id, source, occurred_at, time_precision, category, theme, "
        "latitude, longitude, located, file_id) values "
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


def test_adults_of_concern_csv_tests_against_chance(warehouse):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(_run("adults-of-concern", "-w", str(warehouse), "-f", "csv").stdout)))
    assert len(rows) == 1
    row = rows[0]
    for column in ("person_id", "children_linked", "expected_by_chance", "p", "q", "flagged", "evidence_summary"):
        assert column in row
    # 3 evidence items (6 ends, 2 held by children); a1 has 3 links, 2 with children: pi = 2/3
    assert (row["person_id"], row["children_linked"], row["flagged"]) == ("a1", "2", "False")
    assert float(row["expected_by_chance"]) == pytest.approx(2.0)
    assert float(row["p"]) == pytest.approx(20 / 27)
    assert float(row["q"]) == pytest.approx(1.0)  # BH over a1 and a2 (no child links, p = 1)
    assert row["finding"] == "linked to 2 children (no more than chance)"
    bad = runner.invoke(app, ["adults-of-concern", "-w", str(warehouse), "--alpha", "2"])
    assert bad.exit_code == 1 and "alpha must be between 0 and 1" in bad.output


def test_relations_and_window(warehouse):
    rows = json.loads(
        _run(
            "adults-of-concern", "-w", str(warehouse), "-f", "json", "--until", "2024-02-29", "--min-children", "1"
        ).stdout
    )
    assert [(r["person_id"], r["children_linked"]) for r in rows] == [("a1", 1)]
    rows = json.loads(
        _run("centrality", "-w", str(warehouse), "-f", "json", "--relations", "co_offender", "--no-mart").stdout
    )
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


def _json(*args):
    return json.loads(_run(*args, "-f", "json", "--no-mart").stdout)


def test_relations_filter_on_every_command(warehouse, tmp_path):
    w = ("-w", str(warehouse))
    only = ("--relations", "co_offender")  # keeps the a1-a2 link only; the children lose every link
    assert [r["person_id"] for r in _json("adults-of-concern", *w)] == ["a1"]
    assert _json("adults-of-concern", *w, *only) == []
    members = {r["person_id"]: r for r in _json("groups", "--members", "--seeds", "1", *w, *only)}
    assert members["a1"]["group_id"] == members["a2"]["group_id"]
    assert (members["c1"]["group_size"], members["c2"]["group_size"]) == (1, 1)
    assert {r["person_id"] for r in _json("centrality", *w, *only) if r["degree"] > 0} == {"a1", "a2"}
    assert {r["person_id"] for r in _json("at-risk-children", *w)} == {"c1", "c2"}
    assert _json("at-risk-children", *w, *only) == []
    assert {r["person_id"] for r in _json("ego", "a1", "--hops", "1", *w)} == {"a1", "a2", "c1", "c2"}
    assert {r["person_id"] for r in _json("ego", "a1", "--hops", "1", *w, *only)} == {"a1", "a2"}
    assert _json("paths", "c1", "c2", *w)[0]["persons"] == "c1 > a1 > c2"
    assert _json("paths", "c1", "c2", *w, *only) == []
    assert len(_json("connect", "c1", "c2", *w, "--relations", "co_involvement")) == 2
    apart = runner.invoke(app, ["connect", "c1", "c2", *w, *only, "--no-mart"])
    assert apart.exit_code == 1 and "no chain of links" in apart.output
    out = tmp_path / "only.graphml"
    _run("export", str(out), *w, *only)
    assert nx.read_graphml(out).number_of_edges() == 1
    cmp = _json("compare", "--split", "2024-02-15", "--show", "dropped-links", *w, "--relations", "co_involvement")
    assert [(r["person_a"], r["person_b"]) for r in cmp] == [("a1", "c1")]  # the co-offender link is filtered out
    sens = _json("sensitivity", "--repeats", "3", *w, *only)
    assert sens == []


def test_compare_periods_command(warehouse):
    w = ("-w", str(warehouse))
    result = runner.invoke(app, ["compare", "--split", "2024-02-15", "--show", "new-links", *w, "-f", "json"])
    assert result.exit_code == 0, result.output
    new = json.loads(result.stdout)
    assert [(r["person_a"], r["person_b"], r["relations"], r["children"]) for r in new] == [
        ("a1", "c2", "co_involvement", 1)
    ]
    assert "2 dropped" in result.stderr
    con = connect(warehouse, read_only=True)
    dropped = con.execute("select person_a, person_b from marts.graph_dropped_links order by 1, 2").fetchall()
    assert dropped == [("a1", "a2"), ("a1", "c1")]
    assert con.execute("select count(*) from marts.graph_new_links").fetchone() == (1,)
    con.close()
    bad = runner.invoke(app, ["compare", "--split", "2025-01-01", *w, "--until", "2024-06-30"])
    assert bad.exit_code == 1 and "must fall inside" in bad.output
    wrong = runner.invoke(app, ["compare", "--split", "2024-02-15", "--show", "everything", *w])
    assert wrong.exit_code != 0


def test_sensitivity_command(warehouse):
    w = ("-w", str(warehouse))
    result = runner.invoke(
        app,
        ["sensitivity", "--ranking", "at-risk-children", "--repeats", "4", "--drop-share", "0.25", *w, "-f", "json"],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    # c1 and c2 are each one link from suspect a1; 3 links, one dropped each time
    assert [r["person_id"] for r in rows] == ["c1", "c2"]
    assert all(0 < r["kept_share"] <= 1 for r in rows)
    assert "mean Spearman" in result.stderr
    con = connect(warehouse, read_only=True)
    assert con.execute("select count(*) from marts.graph_sensitivity").fetchone() == (2,)
    con.close()
    wrong = runner.invoke(app, ["sensitivity", "--ranking", "gossip", *w])
    assert wrong.exit_code != 0


def test_shared_options_are_checked_once_for_every_command(warehouse, tmp_path):
    w = ("-w", str(warehouse))
    for command in ("adults-of-concern", "groups", "centrality", "at-risk-children"):
        bad = runner.invoke(app, [command, *w, "-f", "xml"])
        assert bad.exit_code == 2 and "--format must be one of" in bad.output
    # export writes files: it takes the window options but no output format
    assert runner.invoke(app, ["export", str(tmp_path / "g.graphml"), *w, "-f", "json"]).exit_code == 2
    late = runner.invoke(app, ["centrality", *w, "--since", "2030-01-01", "--until", "2029-01-01"])
    assert late.exit_code == 1 and "must be after since" in late.output


def _declared(con, name):
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
        "and table_name = ? order by ordinal_position",
        [name],
    ).fetchall()
    return dict(rows)


def test_every_command_writes_its_declared_mart(warehouse):
    w = ("-w", str(warehouse), "-f", "json")
    _run("groups", "--seeds", "2", *w)
    _run("ego", "c1", *w)
    _run("paths", "c1", "c2", *w)
    _run("connect", "c1", "c2", *w)
    _run("compare", "--split", "2024-02-15", *w, "--relations", "co_offender")  # nothing new: empty marts
    con = connect(warehouse, read_only=True)
    counts = {
        name: con.execute(f"select count(*) from marts.{name}").fetchone()[0]
        for name in ("graph_group_members", "graph_ego", "graph_paths", "graph_connect")
    }
    assert counts == {"graph_group_members": 4, "graph_ego": 4, "graph_paths": 1, "graph_connect": 2}
    groups = con.execute("select count(distinct group_id) from marts.graph_group_members").fetchone()
    assert con.execute("select count(*) from marts.graph_groups").fetchone() == groups
    assert con.execute("select count(*) from marts.graph_new_links").fetchone() == (0,)
    assert _declared(con, "graph_connect")["first_seen"] == "TIMESTAMP WITH TIME ZONE"
    assert _declared(con, "graph_new_links")["weight"] == "DOUBLE"
    assert _declared(con, "graph_ego")["is_suspect"] == "BOOLEAN"
    first = con.execute("select first_seen from marts.graph_connect order by first_seen limit 1").fetchone()[0]
    assert first.isoformat().startswith("2024-01-10T12:00:00")
    con.close()


def test_the_top_level_config_option_reaches_the_graph_commands(warehouse, tmp_path, monkeypatch):
    from ctxrisk.cli.common import State
    from ctxrisk.cli.main import app as main_app

    monkeypatch.setattr(State, "config", None)  # restored afterwards: the option must not outlive the test

    config = tmp_path / "elsewhere.toml"
    config.write_text(f'[paths]\nwarehouse = "{warehouse.as_posix()}"\n', encoding="utf-8")
    # run from a folder with no ctxrisk.toml: only `ctxrisk --config` names the warehouse
    result = runner.invoke(main_app, ["--config", str(config), "graph", "adults-of-concern", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [r["person_id"] for r in json.loads(result.stdout)] == ["a1"]
