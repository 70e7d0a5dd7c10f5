"""The docs cannot drift: every command is in the README, every sheet and header in the staff guide."""

from __future__ import annotations

import pytest

from compiler.cli import parser
from compiler.workbook import schemas
from tests.fixtures.paths import ROOT

README = (ROOT / "README.md").read_text()


def commands() -> list[str]:
    sub = next(a for a in parser()._actions if a.dest == "command")
    return sorted(sub.choices)


def test_there_are_commands_to_document():
    assert {"validate", "compile", "versions", "diff"} <= set(commands())


@pytest.mark.parametrize("command", commands())
def test_every_command_is_documented_in_the_readme(command):
    assert f"`dqm {command}" in README


@pytest.mark.parametrize("sheet", list(schemas.SHEETS))
def test_every_sheet_and_header_is_in_the_staff_guide(sheet):
    guide = (ROOT / "workbook" / "README.md").read_text()
    assert f"`{sheet}`" in guide or f"**{sheet}**" in guide
    missing = [h for h in schemas.columns(sheet) if h not in guide]
    assert missing == []
