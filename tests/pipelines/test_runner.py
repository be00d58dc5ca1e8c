"""Tests for ctxrisk.pipelines.runner: one file of any kind, many files with failures kept apart."""

from support import shared_data_path

from ctxrisk.pipelines import runner


def test_ingest_one_loads_a_canonical_kind_and_a_public_format(con, settings):
    result = runner.ingest_one(con, "ssda903-missing", shared_data_path("ssda903", "missing.csv"), settings=settings)
    assert (result.rows_loaded, result.rows_rejected) == (42, 1)
    street = shared_data_path("police_uk", "street", "2023-05-city-of-london-street.csv")
    assert runner.ingest_one(con, "police-uk-street", street, settings=settings).rows_loaded


def test_ingest_paths_keeps_loading_after_a_file_that_fails(con, settings, tmp_path):
    missing = tmp_path / "nope.csv"
    street = shared_data_path("police_uk", "street", "2023-05-city-of-london-street.csv")
    results, failures = runner.ingest_paths(con, "police-uk-street", [missing, street], settings=settings)
    assert [r.rows_loaded > 0 for r in results] == [True]
    assert len(failures) == 1 and failures[0][0] == str(missing) and "no such file" in failures[0][1]
