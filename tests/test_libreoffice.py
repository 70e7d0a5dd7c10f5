"""Real office software: workbooks opened and saved by LibreOffice Calc (Debian's
libreoffice-calc-nogui, `soffice --headless --convert-to xlsx`) compile as Excel's do.

The libreoffice tier: soffice, which scripts/setup.sh installs. Without it they are skipped, and
fail under scripts/test.sh (DQM_ALL_TIERS=1)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from compiler.ruleset.build import build
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.store import Published, Store, Unchanged
from compiler.workbook.findings import errors
from compiler.workbook.validate import validate_file
from tests.fixtures import hostile as corpus
from tests.fixtures.paths import WORKBOOK as BUNDLED

pytestmark = pytest.mark.libreoffice


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        pytest.fail(
            "LibreOffice Calc (soffice) is not installed: run scripts/setup.sh, or "
            "apt-get install libreoffice-calc-nogui."
        )
    return found


def saved_by_libreoffice(source: Path, folder: Path) -> Path:
    """`source` opened and saved as .xlsx by LibreOffice, with a private profile so runs never collide."""
    out = folder / "libreoffice"
    out.mkdir()
    run = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation=file://{folder / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    converted = out / (source.stem + ".xlsx")
    assert run.returncode == 0 and converted.exists(), run.stdout + run.stderr
    return converted


@pytest.fixture(scope="module")
def bundled_via_libreoffice(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lo-bundled")
    source = folder / "oncology-dqm.xlsx"
    shutil.copyfile(BUNDLED, source)
    return saved_by_libreoffice(source, folder)


@pytest.fixture(scope="module")
def formulas_via_libreoffice(tmp_path_factory) -> tuple[Path, Path]:
    """The founding workbook with its home delivery limits typed as formulas =3*E2, =3*E3
    (openpyxl saves no values for them), and that file saved by LibreOffice (which computes them)."""
    folder = tmp_path_factory.mktemp("lo-formulas")

    def formulas(wb):
        wb["Limits"]["F2"].value = "=3*E2"
        wb["Limits"]["F3"].value = "=3*E3"

    source = corpus.edit_cells(folder, formulas, "oncology-dqm.xlsx")
    return source, saved_by_libreoffice(source, folder)


def test_bundled_workbook_saved_by_libreoffice_compiles_to_the_same_content(
    bundled_via_libreoffice, exports_copy
):
    assert (
        bundled_via_libreoffice.read_bytes() != BUNDLED.read_bytes()
    )  # really another writer's file
    content = build(validate_file(bundled_via_libreoffice))
    assert content["content_sha256"] == build(validate_file(BUNDLED))["content_sha256"]
    assert (
        content["content_sha256"] == Store(exports_copy).load("oncology-dqm", 4)["content_sha256"]
    )
    result = compile_workbook(bundled_via_libreoffice, exports_copy)
    assert result.findings == []
    assert isinstance(result.outcome, Unchanged) and result.outcome.version == 4
    assert Store(exports_copy).versions("oncology-dqm") == [1, 2, 3, 4]


def test_libreoffice_keeps_the_dropdowns_and_header_help(bundled_via_libreoffice):
    ws = openpyxl.load_workbook(bundled_via_libreoffice)["Criteria"]
    by_start = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert by_start["C2"].type == "list"
    assert by_start["C2"].formula1 == '"Concomitant drug on list,Attested"'
    assert by_start["A1"].prompt.startswith("Short unique id of the override criterion.")


def test_formulas_without_saved_values_are_findings_before_libreoffice(formulas_via_libreoffice):
    source, _ = formulas_via_libreoffice
    assert [(f.code, f.sheet, f.cell, f.value) for f in errors(validate_file(source).findings)] == [
        ("formula-without-value", "Limits", "F2", "=3*E2"),
        ("formula-without-value", "Limits", "F3", "=3*E3"),
    ]


def test_formulas_saved_by_libreoffice_compile_with_their_values(
    formulas_via_libreoffice, exports_copy
):
    _, converted = formulas_via_libreoffice
    still_formulas = openpyxl.load_workbook(converted)["Limits"]
    assert (still_formulas["F2"].value, still_formulas["F3"].value) == ("=3*E2", "=3*E3")
    validated = validate_file(converted)
    assert validated.findings == []
    limits = validated.frames["Limits"]
    assert list(limits["Home Delivery Max Qty"]) == [540.0, 180.0]
    # 3 x 180 and 3 x 60 are the founding limits, so the rules are exactly v4's.
    result = compile_workbook(converted, exports_copy)
    assert isinstance(result.outcome, Unchanged) and result.outcome.version == 4
    assert not isinstance(result.outcome, Published)
