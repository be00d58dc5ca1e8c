"""Every command's and option's help is shown as written: nothing in it is read as rich markup and lost."""

from __future__ import annotations

import typer
from rich.text import Text

from ctxrisk.cli.main import app


def _helps(command, path: str = "ctxrisk"):
    yield path, command.help or ""
    for param in command.params:
        yield f"{path} {param.name}", getattr(param, "help", None) or ""
    for name, sub in getattr(command, "commands", {}).items():
        yield from _helps(sub, f"{path} {name}")


def test_no_help_text_loses_words_to_markup():
    helps = list(_helps(typer.main.get_command(app)))
    assert len(helps) > 200  # every command and option of the CLI was reached
    lost = [(where, text) for where, text in helps if Text.from_markup(text).plain != text.replace("\\[", "[")]
    assert lost == []


def test_a_settings_name_shows_in_the_help():
    from typer.testing import CliRunner

    out = CliRunner().invoke(app, ["hotspots", "--help"], env={"COLUMNS": "200"}).output
    assert "default [hotspots] unit" in out and "default [hotspots] k_ring = 2" in out
