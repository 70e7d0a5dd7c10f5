"""Publishing: determinism, idempotence, version increments, the History requirement, atomicity."""

from __future__ import annotations

import datetime as dt
import errno
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from compiler import atomic
from compiler.atomic import WriteError
from compiler.ruleset import diff
from compiler.ruleset import index as index_module
from compiler.ruleset import publishing as publishing_module
from compiler.ruleset import sealing as sealing_module
from compiler.ruleset.build import build
from compiler.ruleset.compile import compile_workbook
from compiler.ruleset.history import new_history_required
from compiler.ruleset.store import Published, Store, StoreError, Unchanged
from compiler.workbook.validate import validate_file
from tests.fixtures.paths import EXPORTS


def snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def raise_limit(rows, reviews_added=1):
    """The founding rows with the 400 mg retail limit raised to 90 and a new History row."""
    rows["Limits"][1][4] = 90
    rows["Overrides"][0][2] = 120
    rows["Tests"] = [t for t in rows["Tests"] if t[1] != "imatinib-400mg-tab" or t[2] != "Retail"]
    if reviews_added:
        rows["History"].append(
            [
                "imatinib-per-rx",
                "Revision",
                "Raised the 400 mg retail limit.",
                dt.date(2027, 1, 12),
            ]
        )
        rows["Policies"][0][3] = dt.date(2027, 1, 12)
    return rows


def test_same_workbook_compiled_twice_gives_identical_bytes(founding_rows, make_workbook, tmp_path):
    path = make_workbook(founding_rows)
    first, second = tmp_path / "a", tmp_path / "b"
    assert isinstance(compile_workbook(path, first).outcome, Published)
    assert isinstance(compile_workbook(path, second).outcome, Published)
    assert snapshot(first) == snapshot(second)
    assert sorted(snapshot(first)) == sorted(snapshot(second))


def test_version_file_carries_what_the_contract_lists(founding_rows, make_workbook, tmp_path):
    result = compile_workbook(make_workbook(founding_rows), tmp_path / "exports")
    text = result.outcome.path.read_text()
    assert set(json.loads(text)) == {
        "schema_version",
        "ruleset_id",
        "title",
        "owner",
        "version",
        "effective_date",
        "sha256",
        "content_sha256",
        "source",
        "policies",
        "criteria",
        "drug_lists",
        "tests",
        "changes",
    }


def test_unchanged_workbook_publishes_nothing_and_names_the_current_version(exports_copy):
    from tests.fixtures.paths import WORKBOOK

    before = snapshot(exports_copy)
    result = compile_workbook(WORKBOOK, exports_copy)
    assert isinstance(result.outcome, Unchanged)
    assert result.outcome.version == 4
    assert snapshot(exports_copy) == before


def test_resaved_workbook_with_the_same_rules_publishes_nothing(
    founding_rows, make_workbook, exports_copy
):
    # A different file (new bytes, rows in another order) that says the same thing.
    founding_rows["Drug Lists"].reverse()
    founding_rows["Tests"].reverse()
    result = compile_workbook(make_workbook(founding_rows), exports_copy)
    assert isinstance(result.outcome, Unchanged) and result.outcome.version == 4


def test_changed_rules_without_a_new_history_row_are_refused(
    founding_rows, make_workbook, exports_copy
):
    before = snapshot(exports_copy)
    result = compile_workbook(
        make_workbook(raise_limit(founding_rows, reviews_added=0)), exports_copy
    )
    assert result.outcome is None and not result.ok  # found before the store is written to
    assert [(f.code, f.sheet, f.cell, f.column, f.params) for f in result.findings] == [
        (
            "history-row-missing",
            "History",
            "A6",
            "Policy ID",
            {
                "version": 4,
                "more": 0,
                "changes": [
                    "imatinib-400mg-tab: Retail Max Qty per Rx 60 → 90",
                    "imatinib-400mg-tab / strong-cyp3a4-inducer: Retail Max Qty per Rx 90 → 120",
                ],
            },
        )
    ]
    assert snapshot(exports_copy) == before


def test_changed_rules_with_a_new_history_row_become_the_next_version(
    founding_rows, make_workbook, exports_copy
):
    result = compile_workbook(make_workbook(raise_limit(founding_rows)), exports_copy)
    assert isinstance(result.outcome, Published)
    assert result.outcome.version == 5
    assert result.outcome.path == exports_copy / "oncology-dqm" / "v5.json"
    doc = Store(exports_copy).load("oncology-dqm", 5)
    assert doc["changes"]["since_version"] == 4
    assert [c["text"] for c in doc["changes"]["items"]] == [
        "imatinib-per-rx: Review Date 2026-12-01 → 2027-01-12",
        "imatinib-400mg-tab: Retail Max Qty per Rx 60 → 90",
        "imatinib-400mg-tab / strong-cyp3a4-inducer: Retail Max Qty per Rx 90 → 120",
        "imatinib-per-rx: History row added: Revision, 2027-01-12: Raised the 400 mg retail limit.",
    ]
    assert doc["changes"]["items"][1] == {
        "kind": "limit",
        "action": "changed",
        "id": "imatinib-400mg-tab",
        "field": "Retail Max Qty per Rx",
        "before": 60,
        "after": 90,
        "text": "imatinib-400mg-tab: Retail Max Qty per Rx 60 → 90",
    }
    index = json.loads((exports_copy / "oncology-dqm" / "index.json").read_text())
    assert [e["version"] for e in index["versions"]] == [1, 2, 3, 4, 5]
    assert index["versions"][4]["history_added"] == [
        {
            "policy_id": "imatinib-per-rx",
            "type_of_revision": "Revision",
            "summary_of_changes": "Raised the 400 mg retail limit.",
            "review_date": "2027-01-12",
        }
    ]
    assert index["versions"] == Store(exports_copy).entries("oncology-dqm")
    # and once published, compiling it again publishes nothing
    assert isinstance(
        compile_workbook(make_workbook(founding_rows, "again.xlsx"), exports_copy).outcome,
        Unchanged,
    )


def test_changes_cover_overrides_criteria_and_drug_list_members(
    founding_rows, make_workbook, exports_copy
):
    raise_limit(founding_rows)
    founding_rows["Drug Lists"].append(["strong-cyp3a4-inducers", "enzalutamide", "Xtandi", None])
    founding_rows["Drug Lists"] = [r for r in founding_rows["Drug Lists"] if r[1] != "rifabutin"]
    founding_rows["Drug Lists"][0][2] = "Decadron"
    founding_rows["Criteria"][0][1] = "Patient takes a strong CYP3A4 inducer"
    result = compile_workbook(make_workbook(founding_rows), exports_copy)
    texts = [c["text"] for c in result.outcome.doc["changes"]["items"]]
    assert texts[3:] == [
        "strong-cyp3a4-inducer: Description Patient is taking a strong cytochrome P450 (CYP)3A4 "
        "inducer → Patient takes a strong CYP3A4 inducer",
        "strong-cyp3a4-inducers / enzalutamide: drug list member added",
        "strong-cyp3a4-inducers / rifabutin: drug list member removed",
        "strong-cyp3a4-inducers / dexamethasone: Also Known As Decadron; Hemady; Dexamethasone "
        "Intensol → Decadron",
        "imatinib-per-rx: History row added: Revision, 2027-01-12: Raised the 400 mg retail limit.",
    ]


def test_workbook_with_errors_publishes_nothing(founding_rows, make_workbook, exports_copy):
    before = snapshot(exports_copy)
    raise_limit(founding_rows)
    founding_rows["Limits"][1][4] = "sixty"
    result = compile_workbook(make_workbook(founding_rows), exports_copy)
    assert result.outcome is None and not result.ok
    assert [(f.code, f.sheet, f.cell) for f in result.findings] == [
        ("not-a-number", "Limits", "E3")
    ]
    assert snapshot(exports_copy) == before


def test_failure_mid_write_leaves_the_store_exactly_as_it_was(
    founding_rows, make_workbook, exports_copy, monkeypatch
):
    before = snapshot(exports_copy)
    workbook = make_workbook(raise_limit(founding_rows))

    def crash(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(
        atomic.os, "link", crash
    )  # the step that makes a file visible (the graph first)
    graph = exports_copy / "oncology-dqm" / "v5.jdm.json"
    with pytest.raises(WriteError, match=re.escape(f"Cannot write {graph}: the disk is full.")):
        compile_workbook(workbook, exports_copy)
    assert snapshot(exports_copy) == before


def test_failure_while_writing_the_temporary_file_leaves_nothing_behind(
    founding_rows, make_workbook, exports_copy, monkeypatch
):
    before = snapshot(exports_copy)
    workbook = make_workbook(raise_limit(founding_rows))

    def crash(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic.os, "fsync", crash)
    graph = exports_copy / "oncology-dqm" / "v5.jdm.json"
    with pytest.raises(WriteError, match=re.escape(f"Cannot write {graph}: input/output error.")):
        compile_workbook(workbook, exports_copy)
    assert snapshot(exports_copy) == before


def test_a_published_file_is_never_rewritten(exports_copy):
    path = exports_copy / "oncology-dqm" / "v3.json"
    before = path.read_bytes()
    with pytest.raises(StoreError, match="already published and is never rewritten"):
        publishing_module._write_new(path, b"{}")
    assert path.read_bytes() == before


def test_first_compile_into_an_empty_store_is_v1(founding_rows, make_workbook, tmp_path):
    result = compile_workbook(make_workbook(founding_rows), tmp_path / "exports")
    assert result.outcome.version == 1
    assert result.outcome.doc["changes"]["since_version"] is None
    assert result.outcome.doc["changes"]["items"][0]["text"] == "oncology-dqm: ruleset added"
    assert (tmp_path / "exports" / "ruleset.schema.json").exists()
    (entry,) = Store(tmp_path / "exports").entries("oncology-dqm")
    assert [(h["review_date"], h["type_of_revision"]) for h in entry["history_added"]] == [
        ("2023-12-13", "Annual Revision"),
        ("2024-12-17", "Annual Revision"),
        ("2025-12-08", "Annual Revision"),
        ("2026-12-01", "Selected Revision"),
    ]


def test_index_entry_lists_each_history_row_added_not_one_edited_in_place(
    founding_rows, make_workbook
):
    # Rows are known by policy and Review Date, as the change list knows them: an edited row is a
    # change there, and not a new row here. (compile now refuses an edited published row; a store
    # published before that rule may hold one, and its index still reads it so.)
    v4 = Store(EXPORTS).load("oncology-dqm", 4)
    raise_limit(founding_rows)
    founding_rows["History"][0][1] = "Initial Review"
    content = build(validate_file(make_workbook(founding_rows)))
    assert [
        (c["action"], c["field"]) for c in diff.changes(v4, content) if c["kind"] == "history"
    ] == [("changed", "Type of Revision"), ("added", None)]
    assert index_module.history_added(content, v4) == [
        {
            "policy_id": "imatinib-per-rx",
            "type_of_revision": "Revision",
            "summary_of_changes": "Raised the 400 mg retail limit.",
            "review_date": "2027-01-12",
        }
    ]


def test_the_store_knows_files_only():
    # The store never imports what a version holds or what is derived from it: compile does. It
    # lists each version's effective date in the index, by the one rule of when a version takes
    # effect (plain Python, no stage), and checks what a reader checks of a version (integrity:
    # plain Python too). A fresh interpreter, since this one has imported everything.
    code = (
        "import sys, compiler.ruleset.store; print(*sorted(m for m in sys.modules "
        "if m.startswith('compiler.')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == [
        "compiler.atomic",
        "compiler.effective",
        "compiler.errors",
        "compiler.ruleset",
        "compiler.ruleset.index",
        "compiler.ruleset.integrity",
        "compiler.ruleset.publishing",
        "compiler.ruleset.sealing",
        "compiler.ruleset.store",
        "compiler.vocabulary",  # what an id is: a ruleset's folder is named by one
    ]


def test_editing_a_history_row_is_a_change_not_the_new_row_a_version_needs(
    founding_rows, make_workbook
):
    v4 = Store(EXPORTS).load("oncology-dqm", 4)
    raise_limit(founding_rows, reviews_added=0)
    founding_rows["History"][2][2] = "Raised the 400 mg retail limit."
    validated = validate_file(make_workbook(founding_rows))
    (missing,) = new_history_required(validated, v4, build(validated))
    assert (missing.code, missing.sheet, missing.cell) == ("history-row-missing", "History", "A6")
    assert (
        "imatinib-per-rx: History row of 2025-12-08: Summary of Changes No criteria changes. → "
        "Raised the 400 mg retail limit."
    ) in missing.params["changes"]


def test_history_rows_added_removed_and_changed_are_told_apart(founding_rows, make_workbook):
    # What diff says of a History edited in place (compile refuses that now: test_audit_trail.py).
    v4 = Store(EXPORTS).load("oncology-dqm", 4)
    raise_limit(founding_rows)
    founding_rows["History"][0][1] = "Initial Review"
    del founding_rows["History"][1]
    content = build(validate_file(make_workbook(founding_rows)))
    history = [
        (c["action"], c["field"], c["before"], c["after"], c["text"])
        for c in diff.changes(v4, content)
        if c["kind"] == "history"
    ]
    assert history == [
        (
            "changed",
            "Type of Revision",
            "Annual Revision",
            "Initial Review",
            "imatinib-per-rx: History row of 2023-12-13: Type of Revision Annual Revision → Initial Review",
        ),
        (
            "added",
            None,
            None,
            None,
            "imatinib-per-rx: History row added: Revision, 2027-01-12: Raised the 400 mg retail limit.",
        ),
        (
            "removed",
            None,
            None,
            None,
            "imatinib-per-rx: History row removed: Annual Revision, 2024-12-17: No criteria changes.",
        ),
    ]


def test_sealed_bytes_are_the_canonical_bytes_of_the_sealed_version():
    # store.sealed serialises once and splices the hash line in: it must equal serialising again.
    v3 = Store(Path(__file__).resolve().parents[1] / "exports").load("oncology-dqm", 3)
    for doc in (
        v3,
        {**v3, "zz": {'\n  "source": ': "a key after sha256 and a tricky string"}},
        {k: v for k, v in v3.items() if k in ("changes", "owner", "policies")},
    ):
        sealed_doc, data = sealing_module.sealed(doc)
        assert sealed_doc == sealing_module.seal(doc)
        assert b"".join(data) == sealing_module.canonical_bytes(sealed_doc)
