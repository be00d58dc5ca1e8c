"""Tests for ctxrisk.pipelines.settings: defaults, a TOML file, environment and CLI overrides."""

from pathlib import Path

import pytest

from ctxrisk.pipelines.errors import ValidationError
from ctxrisk.pipelines.settings import load_settings


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CTXRISK_WAREHOUSE", raising=False)
    monkeypatch.delenv("CTXRISK_CONFIG", raising=False)
    s = load_settings()
    assert s.paths.warehouse == Path("output/ctxrisk.duckdb")
    assert s.hotspots.h3_resolution == 9 and s.hotspots.permutations == "auto" and s.hotspots.unit == "auto"
    assert s.privacy.suppression_threshold == 5
    assert s.maps.basemap_url is None
    assert "county_lines" in s.themes
    assert s.theme_for("Drug Supply ") == "county_lines"
    assert s.theme_for("something new") == "other"


def test_file_overrides_and_extends_mapping(tmp_path):
    config = tmp_path / "ctxrisk.toml"
    config.write_text(
        '[paths]\nwarehouse = "data/w.duckdb"\n[hotspots]\npermutations = 99\n'
        '[themes.categories]\n"Hotel concern" = "cse"\n'
    )
    s = load_settings(config)
    assert s.paths.warehouse == tmp_path / "data" / "w.duckdb"  # relative to the file
    assert s.hotspots.permutations == 99
    assert s.theme_for("hotel concern") == "cse"
    assert s.theme_for("drug supply") == "county_lines"  # defaults kept


def test_env_and_cli_override_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("CTXRISK_WAREHOUSE", str(tmp_path / "env.duckdb"))
    assert load_settings(None).paths.warehouse == tmp_path / "env.duckdb"
    assert load_settings(None, warehouse=tmp_path / "cli.duckdb").paths.warehouse == tmp_path / "cli.duckdb"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[themes.categories]\n"x" = "gangs"\n', "unknown theme"),
        ("[hotspots]\nresolution = 8\n", r"unknown setting\(s\) \['resolution'\] in \[hotspots\]"),
        ("[hotspots\n", "not valid TOML"),
    ],
)
def test_bad_settings(tmp_path, text, match):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ValidationError, match=match):
        load_settings(config)


def test_missing_file(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        load_settings(tmp_path / "none.toml")
