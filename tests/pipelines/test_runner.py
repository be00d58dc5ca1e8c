"""Tests for ctxrisk.pipelines.runner: what an ingest sets up before it reads a file."""

import pytest
from support import shared_data_path

from ctxrisk.pipelines import geo, runner


@pytest.mark.parametrize(
    ("kind", "located"),
    [
        ("incidents", True),
        ("missing", True),
        ("persons", False),
        ("involvements", False),
        ("police-uk-street", True),
        ("police-uk-stop-search", True),
        ("police-uk-outcomes", True),
        ("ssda903-missing", False),
        ("annex-a", False),
        ("boundaries", False),
    ],
)
def test_proj_is_set_up_only_for_kinds_with_coordinates(kind, located):
    assert runner._locates_points(kind) is located


def test_an_ssda903_return_is_ingested_without_setting_up_proj(monkeypatch, con, settings):
    calls = []
    monkeypatch.setattr(geo, "warm_up", lambda: calls.append("proj"))
    result = runner.ingest_one(con, "ssda903-missing", shared_data_path("ssda903", "missing.csv"), settings=settings)
    assert (result.rows_loaded, result.rows_rejected, calls) == (42, 1, [])
    street = shared_data_path("police_uk", "street", "2023-05-city-of-london-street.csv")
    assert runner.ingest_one(con, "police-uk-street", street, settings=settings).rows_loaded
    assert calls == ["proj"]
