"""The dqm command as staff type it: exit codes and exactly what it prints."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from compiler.cli import parser
from tests.fixtures.paths import WORKBOOK

SIXTY = "'Retail Max Qty' must be a number. Type a number such as 60, in digits."


# The bundled workbook is v4 as published: validate and compile say when v4 takes effect.
UNCHANGED = (
    "oncology-dqm v4, which this workbook is, takes effect on 12/08/2025; nothing new to publish.\n"
)


def test_validate_clean_workbook_returns_0(dqm):
    assert dqm("validate", WORKBOOK) == (0, f"{WORKBOOK}: 0 error(s), 0 warning(s).\n", UNCHANGED)


def test_validate_prints_each_finding_with_sheet_cell_and_what_to_type(
    dqm, founding_rows, make_workbook
):
    founding_rows["Limits"][1][4] = "sixty"
    founding_rows["Limits"][0][5] = 170
    path = make_workbook(founding_rows)
    code, out, err = dqm("validate", path)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"ERROR Limits!E3 (found: 'sixty'): {SIXTY}",
        "WARNING Limits!F2 (found: 170): Home delivery (170) is below retail (180) for "
        "imatinib-100mg-tab; home delivery usually allows a longer supply. Check the number.",
        f"{path}: 1 error(s), 1 warning(s).",
    ]


def test_validate_json_lists_errors_and_warnings_as_objects(dqm, founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = "sixty"
    code, out, _ = dqm("validate", make_workbook(founding_rows), "--json")
    assert code == 1
    assert json.loads(out) == {
        "errors": [
            {
                "code": "not-a-number",
                "sheet": "Limits",
                "cell": "E3",
                "column": "Retail Max Qty",
                "value": "sixty",
                "message": SIXTY,
                "params": {"header": "Retail Max Qty", "example": "60"},
            }
        ],
        "warnings": [],
    }


def test_validate_json_of_a_clean_workbook(dqm):
    assert dqm("validate", WORKBOOK, "--json") == (
        0,
        '{\n  "errors": [],\n  "warnings": []\n}\n',
        UNCHANGED,
    )


def test_compile_unchanged_workbook_says_which_version_is_current(dqm, exports_copy):
    code, out, err = dqm("compile", WORKBOOK, "--exports", exports_copy)
    assert (code, err) == (0, UNCHANGED)
    assert out == f"Nothing changed: v4 is current ({exports_copy}/oncology-dqm/v4.json).\n"


def test_compile_publishes_and_prints_the_new_version_path(
    dqm, founding_rows, make_workbook, exports_copy
):
    founding_rows["Limits"][1][4] = 90
    founding_rows["Overrides"][0][2] = 120
    founding_rows["Tests"] = []  # its expectations were for the old limits
    founding_rows["History"].append(
        ["imatinib-per-rx", "Revision", "Raised the limit.", dt.date(2027, 1, 12)]
    )
    founding_rows["Policies"][0][3] = dt.date(2027, 1, 12)
    founding_rows["Ruleset"][0][3] = None  # v5 takes effect on its review
    assert dqm("compile", make_workbook(founding_rows), "--exports", exports_copy) == (
        0,
        f"{exports_copy}/oncology-dqm/v5.json\n",
        "oncology-dqm v5 takes effect on 01/12/2027: claims dated from then on are decided by it "
        "(v4 decided them before).\n",
    )
    code, out, _ = dqm("diff", "oncology-dqm", "4", "5", "--exports", exports_copy)
    assert (code, out.splitlines()) == (
        0,
        [
            "oncology-dqm: v4 (in effect from 2025-12-08) → v5 (in effect from 2027-01-12)",
            "oncology-dqm: Effective Date 2025-12-08 → 2027-01-12",
            "imatinib-per-rx: Review Date 2026-12-01 → 2027-01-12",
            "imatinib-400mg-tab: Retail Max Qty per Rx 60 → 90",
            "imatinib-400mg-tab / strong-cyp3a4-inducer: Retail Max Qty per Rx 90 → 120",
            "imatinib-per-rx: History row added: Revision, 2027-01-12: Raised the limit.",
        ],
    )


def test_compile_with_errors_returns_1_and_writes_nothing(
    dqm, founding_rows, make_workbook, exports_copy
):
    founding_rows["Limits"][1][4] = "sixty"
    path = make_workbook(founding_rows)
    before = sorted(p.name for p in (exports_copy / "oncology-dqm").iterdir())
    assert dqm("compile", path, "--exports", exports_copy) == (
        1,
        "",
        f"ERROR Limits!E3 (found: 'sixty'): {SIXTY}\nNot published: 1 error(s) in {path}.\n",
    )
    assert sorted(p.name for p in (exports_copy / "oncology-dqm").iterdir()) == before


def test_versions_lists_each_version_with_its_history_entries(dqm):
    code, out, _ = dqm("versions")
    assert (code, out.splitlines()) == (
        0,
        [
            "oncology-dqm",
            "  v1  in effect from 2023-12-13; imatinib-per-rx reviewed 2023-12-13",
            "      imatinib-per-rx: History row added: Annual Revision, 2023-12-13: No criteria changes.",
            "  v2  in effect from 2024-12-17; imatinib-per-rx reviewed 2024-12-17",
            "      imatinib-per-rx: History row added: Annual Revision, 2024-12-17: No criteria changes.",
            "  v3  in effect from 2025-12-08; imatinib-per-rx reviewed 2025-12-08",
            "      imatinib-per-rx: History row added: Annual Revision, 2025-12-08: No criteria changes.",
            "  v4  in effect from 2025-12-08; imatinib-per-rx reviewed 2026-12-01",
            "      imatinib-per-rx: History row added: Selected Revision, 2026-12-01: Product codes "
            "added (NDC and RxCUI) so claims can name the products. No criteria changes.",
        ],
    )


def test_diff_between_published_reviews(dqm):
    assert dqm("diff", "oncology-dqm", "v2", "v3") == (
        0,
        (
            "oncology-dqm: v2 (in effect from 2024-12-17) → v3 (in effect from 2025-12-08)\n"
            "oncology-dqm: Effective Date 2024-12-17 → 2025-12-08\n"
            "imatinib-per-rx: Review Date 2024-12-17 → 2025-12-08\n"
            "imatinib-per-rx: History row added: Annual Revision, 2025-12-08: No criteria changes.\n"
        ),
        "",
    )


def test_bad_arguments_get_one_line_and_code_2(dqm, tmp_path):
    assert dqm("validate", tmp_path / "nope.xlsx") == (
        2,
        "",
        f"dqm: {tmp_path}/nope.xlsx: no such file.\n",
    )
    assert dqm("diff", "oncology-dqm", "1", "9") == (
        2,
        "",
        "dqm: Ruleset 'oncology-dqm' has no version 9; published: v1, v2, v3, v4.\n",
    )
    assert dqm("diff", "oncology-dqm", "one", "2") == (
        2,
        "",
        "dqm: 'one' is not a version number; use 1, 2, … or v1, v2, … (or latest).\n",
    )
    assert dqm("versions", "nope") == (
        2,
        "",
        "dqm: No published ruleset 'nope' in exports/ (published: oncology-dqm).\n",
    )


def test_a_file_that_is_not_a_workbook_is_one_finding_not_a_traceback(dqm, tmp_path):
    path = tmp_path / "claims.xlsx"
    path.write_text("claim_id,product_id\n1,x\n")
    code, out, _ = dqm("validate", path)
    assert code == 1
    assert out.splitlines()[0] == (
        "ERROR Workbook: 'claims.xlsx' is not an Excel workbook (.xlsx). Open it in Excel and use "
        "File > Save As > Excel Workbook (.xlsx)."
    )


def test_the_console_script_ends_with_the_command_s_code(dqm_process, tmp_path):
    # A real process: the installed `dqm` entry point, its process-wide settings, and the exit
    # status a shell or a scheduled job sees, which the in-process tests above cannot show.
    assert dqm_process("validate", WORKBOOK) == (
        0,
        f"{WORKBOOK}: 0 error(s), 0 warning(s).\n",
        UNCHANGED,
    )
    assert dqm_process("validate", tmp_path / "nope.xlsx") == (
        2,
        "",
        f"dqm: {tmp_path}/nope.xlsx: no such file.\n",
    )


def test_diff_of_the_codes_review_lists_each_code_added_and_no_effective_date_change(dqm):
    code, out, err = dqm("diff", "oncology-dqm", "3", "4")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "oncology-dqm: v3 (in effect from 2025-12-08) → v4 (in effect from 2025-12-08)",
        "imatinib-per-rx: Review Date 2025-12-08 → 2026-12-01",
        "imatinib-100mg-tab: NDC 47335-0472-13 added",
        "imatinib-100mg-tab: NDC 47335-0472-81 added",
        "imatinib-100mg-tab: NDC 47335-0472-83 added",
        "imatinib-100mg-tab: NDC 47335-0472-88 added",
        "imatinib-400mg-tab: NDC 47335-0475-13 added",
        "imatinib-400mg-tab: NDC 47335-0475-64 added",
        "imatinib-400mg-tab: NDC 47335-0475-83 added",
        "imatinib-400mg-tab: NDC 47335-0475-88 added",
        "imatinib-100mg-tab: RxCUI 403878 added",
        "imatinib-400mg-tab: RxCUI 403879 added",
        "imatinib-100mg-tab: RxCUI 404588 added",
        "imatinib-400mg-tab: RxCUI 404589 added",
        "imatinib-per-rx: History row added: Selected Revision, 2026-12-01: Product codes added "
        "(NDC and RxCUI) so claims can name the products. No criteria changes.",
    ]


def test_a_folder_given_as_the_workbook_is_named_as_a_folder(dqm, tmp_path):
    assert dqm("validate", tmp_path) == (
        2,
        "",
        f"dqm: {tmp_path} is a folder, not a workbook; give the .xlsx file's path.\n",
    )


def test_versions_of_a_mistyped_exports_folder_is_an_error_not_an_empty_list(dqm, tmp_path):
    typo = tmp_path / "exprots"
    assert dqm("versions", "--exports", typo) == (
        2,
        "",
        f"dqm: {typo}: no such folder (--exports names the exports folder).\n",
    )
    typo.mkdir()  # a real folder with nothing published is still an answer
    assert dqm("versions", "--exports", typo) == (0, f"No published rulesets in {typo}/.\n", "")


@pytest.mark.parametrize("command", ["validate", "compile", "decide", "versions", "diff"])
def test_every_exports_option_says_what_it_is_and_its_default(command):
    sub = next(a for a in parser()._actions if a.dest == "command").choices[command]
    (option,) = [a for a in sub._actions if "--exports" in a.option_strings]
    # compile creates a folder only when named (its default must exist): it knows whether it was.
    assert option.default == (None if command == "compile" else "exports")
    assert option.help.startswith("the exports folder ")
    assert option.help.endswith(
        " (default: exports, which must exist)" if command == "compile" else " (default: exports)"
    )
    assert "--exports DIR" in sub.format_help()


def test_versions_prints_history_text_without_its_terminal_escape_sequences(
    dqm, founding_rows, make_workbook, tmp_path
):
    # calamine reads Excel's _x001B_ as the escape character itself: a History summary could
    # clear the reviewer's terminal or recolour what follows.
    founding_rows["History"].append(
        [
            "imatinib-per-rx",
            "Revision",
            "_x001B_[2J_x001B_[31mLimit raised._x001B_[0m\u202eon purpose_x001B_]0;owned_x0007_",
            dt.date(2026, 12, 2),
        ]
    )
    founding_rows["Policies"][0][3] = dt.date(2026, 12, 2)
    exports = tmp_path / "exports"
    assert dqm("compile", make_workbook(founding_rows), "--exports", exports).code == 0
    code, out, err = dqm("versions", "--exports", exports)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == (
        "      imatinib-per-rx: History row added: Revision, 2026-12-02: Limit raised.on purpose"
    )
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out


def test_a_version_number_is_ascii_digits(dqm):
    for text in ("\uff13", "\u0663", "3.0", "+3", "v"):  # full-width 3, Arabic-Indic 3
        assert dqm("diff", "oncology-dqm", "1", text) == (
            2,
            "",
            f"dqm: {text!r} is not a version number; use 1, 2, … or v1, v2, … (or latest).\n",
        )
    assert dqm("diff", "oncology-dqm", "v1", "V3").code == 0


def test_an_id_longer_than_any_file_name_is_a_finding_and_a_one_line_refusal(
    dqm, founding_rows, make_workbook, tmp_path
):
    long_id = "a" * 300
    founding_rows["Ruleset"][0][0] = long_id
    code, out, err = dqm("compile", make_workbook(founding_rows), "--exports", tmp_path / "e")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        f"ERROR Ruleset!A2 (found: {long_id!r}): 'Ruleset ID' is longer than 64 characters; an id "
        "names files in the exports, so keep it short, such as 'oncology-dqm'."
    )
    refusal = (
        f"dqm: {'a' * 64 + '…'!r} is not a ruleset id: an id is lowercase letters, digits and "
        "hyphens, at most 64 characters.\n"
    )
    claims = tmp_path / "claims.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    assert dqm("decide", claims, "--ruleset", long_id) == (2, "", refusal)
    assert dqm("versions", long_id) == (2, "", refusal)


def test_diff_takes_latest_and_a_draft_workbook_and_says_when_each_takes_effect(
    dqm, founding_rows, make_workbook
):
    from tests.test_publish import raise_limit  # 400 mg retail 60 -> 90, with its History row

    draft = make_workbook(raise_limit(founding_rows))
    code, out, err = dqm("diff", "oncology-dqm", "latest", draft)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:2] == [
        f"oncology-dqm: v4 (in effect from 2025-12-08) → draft {draft.name} (in effect from "
        "2025-12-08)",
        "imatinib-per-rx: Review Date 2026-12-01 → 2027-01-12",
    ]
    assert lines[2].startswith("imatinib-400mg-tab: Retail Max Qty") and lines[2].endswith(
        " 60 → 90"
    )
