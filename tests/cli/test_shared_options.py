"""Options several commands share: each keeps its place, help and default, and bad input is refused the same way."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ctxrisk.cli.main import app

runner = CliRunner()


def _options(*command: str) -> list[str]:
    """The option names of a command's --help, in the order shown."""
    r = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    return re.findall(r"^│ (--[a-z-]+)", r.output, flags=re.MULTILINE)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ("hotspots", "backtest"),
            "--train --test --train-months --test-months --k-units --unit --theme --source --event-type "
            "--include-out-of-area --study-area --k --seed --alpha --format --mart --warehouse --config --help",
        ),
        (
            ("hotspots", "periods"),
            "--period --unit --theme --source --event-type --include-out-of-area --study-area --k --seed --alpha "
            "--warehouse --config --help",
        ),
        (("mace",), "--since --until --format --limit --fresh-graph --warehouse --config --help"),
        (("mace", "places"), "--since --until --format --limit --fresh-graph --warehouse --config --help"),
        (("missing", "children"), "--since --until --format --limit --fresh-graph --warehouse --config --help"),
    ],
)
def test_shared_options_follow_the_commands_own_in_order(command, expected):
    assert _options(*command) == expected.split()


def test_shared_options_keep_their_help_and_defaults():
    text = " ".join(runner.invoke(app, ["hotspots", "backtest", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "Training period: YYYY, YYYY-MM, YYYY-MM-DD or A..B." in text  # the command's own option
    assert "[default: 6]" in text and "Seed of the permutations (default from settings)." in text
    assert "Write the result to its mart (default yes)." in text and "[default: mart]" in text
    text = " ".join(runner.invoke(app, ["mace", "places", "--help"], env={"COLUMNS": "200"}).output.split())
    assert "Build the association graph now for the flagged adults" in text and "[default: 50]" in text


@pytest.mark.parametrize(
    "command",
    [("hotspots", "periods"), ("hotspots", "backtest"), ("mace",), ("mace", "places"), ("missing", "children")],
)
def test_a_missing_warehouse_is_refused_with_exit_1_and_no_traceback(tmp_path, command):
    missing = tmp_path / "absent.duckdb"
    r = runner.invoke(app, [*command, "--warehouse", str(missing)])
    assert r.exit_code == 1
    assert "does not exist (nothing was created)" in " ".join(r.output.split())
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert not missing.exists()


def test_a_format_is_shown_as_typed_in_its_error():
    """A value that looks like rich markup is printed as given, not read as markup."""
    r = runner.invoke(app, ["mace", "--format", "[bold]x"])
    assert r.exit_code == 2
    assert "got '[bold]x'" in r.output
