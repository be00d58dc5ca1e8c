"""Tests for ctxrisk.pipelines.lad: the packaged local-authority outlines of England."""

from __future__ import annotations

import pytest

from ctxrisk.pipelines.lad import ATTRIBUTION, local_authorities, local_authorities_for_points, local_authority


def test_every_district_of_england_once_with_a_code():
    frame = local_authorities()
    assert len(frame) == 296
    assert frame["code"].is_unique and frame["code"].str.match(r"^E0[6-9]\d{6}$").all()
    assert frame.crs.to_epsg() == 4326 and frame.geometry.is_valid.all()


def test_by_code_or_name():
    by_code = local_authority("E06000049")
    by_name = local_authority("  cheshire east ")
    assert by_code.loc[0, "name"] == by_name.loc[0, "name"] == "Cheshire East"
    minx, miny, maxx, maxy = by_code.total_bounds
    assert (round(minx, 1), round(miny, 1), round(maxx, 1), round(maxy, 1)) == (-2.8, 52.9, -2.0, 53.4)


def test_unknown_area_suggests_names():
    with pytest.raises(ValueError, match=r"no local authority .* 'Cheshire Eats'; did you mean Cheshire East"):
        local_authority("Cheshire Eats")


def test_points_to_districts():
    # Crewe, Liverpool, the City of London, Paris
    codes = local_authorities_for_points([53.0977, 53.4084, 51.5155, 48.8566], [-2.4410, -2.9916, -0.0922, 2.3522])
    assert codes.tolist() == ["E06000049", "E08000012", "E09000001", None]
    assert local_authorities_for_points([], []).tolist() == []


def test_attribution_names_the_licence():
    assert "Open Government Licence" in ATTRIBUTION and "Crown copyright" in ATTRIBUTION
