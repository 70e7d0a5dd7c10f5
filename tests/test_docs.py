"""The docs cannot drift: every link resolves inside the repository, every command and option the
parser defines is in docs/commands.md with its usage line, every sheet, header and finding code is
in the workbook contract, every claim and decision column in docs/claims-and-decisions.md, every
path the docs name exists, and the README's tour prints what it says it prints."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import compiler
from compiler import cli, vocabulary
from compiler.workbook import catalogue, schemas
from tests.fixtures.paths import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
COMMANDS = ROOT / "docs" / "commands.md"
CONTRACT = ROOT / "docs" / "workbook.md"
CLAIMS = ROOT / "docs" / "claims-and-decisions.md"
STAFF_GUIDE = ROOT / "workbook" / "README.md"
# Every Markdown file a reader of the repository is sent to.
PAGES = [README, *DOCS, STAFF_GUIDE, ROOT / "benchmarks" / "README.md"]
WRITTEN = [README, *DOCS]  # the pages this test also holds to the code

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)


def prose(path: Path) -> str:
    """A page without its code blocks (what is there is output, not links)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: formatting dropped, lowercase, punctuation removed,
    spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in HEADING.findall(prose(path))}


def relative_links(path: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(path))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # https:, mailto:
    ]


# -- links ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_to_a_file_and_heading_in_the_repository(page):
    broken = []
    for target in relative_links(page):
        file, _, anchor = target.partition("#")
        resolved = (page.parent / file).resolve() if file else page
        missing = not resolved.is_relative_to(ROOT) or not resolved.exists()
        if missing or (anchor and resolved.suffix == ".md" and anchor not in anchors(resolved)):
            broken.append(target)
    assert broken == []


def test_the_readme_and_docs_link_to_every_reference_page():
    linked = {
        (README.parent / t.partition("#")[0]).resolve()
        for t in relative_links(README)
        if t.partition("#")[0]
    }
    assert {p.resolve() for p in DOCS} <= linked
    assert {STAFF_GUIDE.resolve(), (ROOT / "benchmarks" / "README.md").resolve()} <= linked


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_links_or_refers_outside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    assert re.findall(r"\.\./shared|/work/|shared/WORKBOOK|WORKBOOK\.md|DESIGN\.md", text) == []
    escaping = [
        t for t in relative_links(page) if not (page.parent / t).resolve().is_relative_to(ROOT)
    ]
    assert escaping == []


PATH_IN_CODE = re.compile(
    r"`((?:compiler|tests|scripts|benchmarks|exports|workbook|docs|examples|conformance|app_pages"
    r"|\.streamlit|\.ci)/[^`\s<>*…]*|app\.py|pyproject\.toml)`"
)


@pytest.mark.parametrize("page", WRITTEN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_the_docs_name_exists(page):
    named = set(PATH_IN_CODE.findall(page.read_text(encoding="utf-8")))
    generated = {"benchmarks/data/"}  # git-ignored: the benchmarks write it
    assert sorted(p for p in named - generated if not (ROOT / p).exists()) == []


# -- commands ------------------------------------------------------------------------------------


def subparsers() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in cli.parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def documented_options(command: argparse.ArgumentParser) -> list[str]:
    """Each option as its help shows it (argparse.SUPPRESS: not shown, not documented)."""
    return [
        s
        for a in command._actions
        if a.help != argparse.SUPPRESS and a.option_strings and "-h" not in a.option_strings
        for s in a.option_strings
    ]


def command_section(command: str) -> str:
    """The part of docs/commands.md under the heading "## `dqm COMMAND`"."""
    text = COMMANDS.read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    found = [s for s in sections if s.startswith(f"`dqm {command}`\n")]
    assert len(found) == 1, f"docs/commands.md has no section ## `dqm {command}`"
    return found[0]


def test_the_parser_has_the_commands_the_tour_runs():
    assert {"validate", "compile", "decide", "versions", "diff", "impact"} <= set(subparsers())


@pytest.mark.parametrize("command", sorted(subparsers()))
def test_every_command_has_its_usage_line_in_the_reference(command):
    usage = subparsers()[command].format_usage()
    expected = " ".join(usage.replace("usage: ", "", 1).replace("[-h] ", "").split())
    block = re.search(r"```\n(.*?)```", command_section(command), re.DOTALL)
    assert block is not None
    assert " ".join(block.group(1).split()) == expected


@pytest.mark.parametrize("command", sorted(subparsers()))
def test_every_option_of_every_command_is_in_its_options_table_and_no_other(command):
    section = command_section(command)
    table = set(re.findall(r"^\| `(--[a-z-]+)", section, re.MULTILINE))
    assert table == set(documented_options(subparsers()[command]))


@pytest.mark.parametrize("command", sorted(subparsers()))
def test_every_command_is_in_the_reference_index_and_says_its_exit_codes(command):
    text = COMMANDS.read_text(encoding="utf-8")
    assert f"| [`dqm {command}`](#dqm-{command}) |" in text
    assert re.search(r"^Exit 0", command_section(command), re.MULTILINE)


# -- the workbook contract -----------------------------------------------------------------------


def sheet_table(sheet: str) -> dict[str, str]:
    """Header -> its "required" cell, from the table under "### `SHEET`" in docs/workbook.md."""
    text = CONTRACT.read_text(encoding="utf-8")
    part = text.split(f"### `{sheet}`\n", 1)
    assert len(part) == 2, f"docs/workbook.md has no section ### `{sheet}`"
    section = re.split(r"^#{2,3} ", part[1], flags=re.MULTILINE)[0]
    rows = re.findall(r"^\| ([^|`]+?) \| ([^|]+?) \|", section, re.MULTILINE)
    return {h: req for h, req in rows if h not in ("header", "---")}


@pytest.mark.parametrize("sheet", list(schemas.SHEETS))
def test_every_sheet_lists_its_headers_and_which_are_required(sheet):
    table = sheet_table(sheet)
    assert list(table) == list(schemas.columns(sheet))
    required = [h for h, req in table.items() if req == "yes"]
    assert required == schemas.required_headers(sheet)


@pytest.mark.parametrize("sheet", list(schemas.SHEETS))
def test_every_sheet_and_header_is_in_the_staff_guide(sheet):
    guide = STAFF_GUIDE.read_text(encoding="utf-8")
    assert f"`{sheet}`" in guide or f"**{sheet}**" in guide
    missing = [h for h in schemas.columns(sheet) if h not in guide]
    assert missing == []


def test_every_finding_code_is_in_the_contract_and_every_code_there_exists():
    findings = CONTRACT.read_text(encoding="utf-8").split("\n## Findings\n", 1)[1]
    listed = re.findall(r"^\| `([a-z0-9-]+)` \|", findings, re.MULTILINE)
    assert sorted(listed) == sorted(catalogue.MESSAGES)
    assert len(listed) == len(set(listed))


# -- claims and decisions ------------------------------------------------------------------------


def first_column(text: str) -> set[str]:
    """The names a table's rows start with (a row may name two: `ruleset_id`, `ruleset_version`)."""
    rows = re.findall(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \|", text, re.MULTILINE)
    return {name for pair in rows for name in pair if name}


def test_every_claim_column_and_decision_field_is_documented_and_no_other():
    text = CLAIMS.read_text(encoding="utf-8")
    claims = text.split("\n## Claims\n", 1)[1].split("\n## ", 1)[0]
    decisions = text.split("\n## Decisions\n", 1)[1].split("\n## ", 1)[0]
    assert first_column(claims) == set(vocabulary.CLAIM_COLUMNS)
    assert first_column(decisions) == set(vocabulary.DECISION_COLUMNS)


def test_every_decision_value_is_explained():
    text = CLAIMS.read_text(encoding="utf-8")
    for decision in vocabulary.DECISIONS:
        assert f"- **`{decision}`**:" in text, decision


def test_every_name_the_docs_call_on_compiler_is_public():
    called = set()
    for page in WRITTEN:
        called |= set(re.findall(r"\bcompiler\.([A-Za-z_]+)\b", page.read_text(encoding="utf-8")))
    packages = {"decide", "workbook", "ruleset", "vocabulary", "names", "codes", "api", "__all__"}
    assert sorted(called - packages - set(compiler.__all__)) == []


# -- the README's tour ---------------------------------------------------------------------------


def tour_steps(scratch: str, bin_dir: str) -> list[tuple[str, str, str | None]]:
    """The tour's code blocks in order: ("sh", script, None) for setup blocks, ("$", command,
    expected output) for each command of a transcript block."""
    text = README.read_text(encoding="utf-8")
    tour = text.split("\n## A five-minute tour\n", 1)[1].split("\n## ", 1)[0]
    tour = tour.replace("/tmp/dqm-tour", scratch).replace(".venv/bin/", bin_dir)
    steps = []
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", tour, re.MULTILINE | re.DOTALL):
        if lang == "sh":
            steps.append(("sh", body, None))
            continue
        for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            steps.append(("$", command, output))
    return steps


def matches(expected: str, actual: str) -> bool:
    """Output as the README shows it: "…" stands for the rest of a line, or, alone on a line, for
    any lines."""
    pattern = []
    for line in expected.strip("\n").split("\n"):
        if line.strip() == "…":
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(".*?".join(map(re.escape, line.split("…"))) + r"\n")
    return re.fullmatch("".join(pattern), actual.strip("\n") + "\n") is not None


def test_the_readme_tour_prints_what_it_shows(tmp_path):
    scratch = str(tmp_path / "dqm-tour")
    bin_dir = str(Path(sys.executable).parent) + os.sep
    steps = tour_steps(scratch, bin_dir)
    ran = 0
    for kind, command, expected in steps:
        if "streamlit run" in command:  # the app: a server, tested in test_app and the browser tier
            continue
        done = subprocess.run(
            ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        if kind == "sh":
            assert done.returncode == 0, (command, done.stderr)
            continue
        ran += 1
        assert done.returncode in (0, 1), (command, done.stderr)  # an answer, not a failure
        assert matches(expected, done.stdout), (command, done.stdout)
    assert ran >= 8  # validate twice, compile twice, decide, versions, diff, impact
