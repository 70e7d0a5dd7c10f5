"""A compile cut short (killed between writing a version and listing it in index.json, or while
writing its files) is finished or discarded by the next `dqm compile` of any workbook, or by
`dqm versions`, which say what they mended. What is not a cut-short publish is refused, never
mended: an index listing a version whose file is gone."""

from __future__ import annotations

import copy

from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.store import Store
from tests.test_publish import raise_limit

RULESET = "oncology-dqm"


def cut_short_after_v5(exports, founding_rows, make_workbook):
    """v5 published whole, then index.json as it was before: a compile killed between the two."""
    index = exports / RULESET / "index.json"
    before = index.read_bytes()
    rows = raise_limit(copy.deepcopy(founding_rows))
    assert compile_workbook(make_workbook(rows), exports).outcome.version == 5
    index.write_bytes(before)
    return index


def test_dqm_versions_lists_a_version_the_index_missed_and_says_so(
    dqm, exports_copy, founding_rows, make_workbook
):
    index = cut_short_after_v5(exports_copy, founding_rows, make_workbook)
    code, out, err = dqm("versions", RULESET, "--exports", exports_copy)
    assert (code, err) == (
        0,
        f"dqm: {index} now lists v5, published whole by a compile that was cut short before it "
        "listed it.\n",
    )
    assert (
        out.splitlines()[-2]
        == "  v5  in effect from 2025-12-08; imatinib-per-rx reviewed 2027-01-12"
    )
    assert Store(exports_copy).index_problems(RULESET) == []
    assert dqm("versions", RULESET, "--exports", exports_copy).err == ""  # nothing left to mend


def test_a_compile_refused_for_its_own_findings_still_mends_the_store(
    dqm, exports_copy, founding_rows, make_workbook
):
    index = cut_short_after_v5(exports_copy, founding_rows, make_workbook)
    other = raise_limit(founding_rows)
    other["History"][-1][2] = "Raised the 400 mg retail limit to 100."  # edits v5's row: refused
    code, _, err = dqm("compile", make_workbook(other), "--exports", exports_copy)
    assert code == 1
    assert err.splitlines()[0] == (
        f"dqm: {index} now lists v5, published whole by a compile that was cut short before it "
        "listed it."
    )
    assert err.splitlines()[-1].startswith("Not published: 1 error(s)")
    assert Store(exports_copy).index_problems(RULESET) == []


def test_files_of_a_version_that_never_came_are_removed_and_counted(dqm, exports_copy):
    folder = exports_copy / RULESET
    (folder / "v5.jdm.json").write_text("{}")  # its graph was written, then the compile died
    (folder / ".v5.json.a1b2.tmp").write_text("{")
    code, _, err = dqm("versions", "--exports", exports_copy)
    assert (code, err) == (
        0,
        f"dqm: Removed 2 file(s) a cut-short compile left in {folder}.\n",
    )
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(("v5", ".v5"))) == []


def test_an_index_listing_a_version_whose_file_is_gone_is_refused_not_mended(dqm, exports_copy):
    folder = exports_copy / RULESET
    (folder / "v4.json").unlink()
    (folder / "v4.jdm.json").unlink()
    before = (folder / "index.json").read_bytes()
    assert dqm("versions", RULESET, "--exports", exports_copy) == (
        2,
        "",
        f"dqm: {folder / 'index.json'} lists v4 that the folder does not hold as published; "
        "restore the folder from version control.\n",
    )
    assert (folder / "index.json").read_bytes() == before


def test_a_sound_store_is_not_locked_or_touched(dqm, exports_copy):
    folder = exports_copy / RULESET
    (folder / ".lock").unlink(missing_ok=True)
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert Store(exports_copy).repair(RULESET) == []
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
