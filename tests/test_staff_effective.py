"""When a version takes effect, said before it decides any claim: `validate` and `compile` say
which claims move to the version they would publish, and warn at the Ruleset's Effective Date
where it takes effect before its own latest History Review Date, or on or before the previous
version's: a correction may be retroactive, but never unseen."""

from __future__ import annotations

import datetime as dt

from compiler.workbook.effective_dates import takes_effect_note

REVIEW = dt.date(2026, 12, 7)
KEPT = (
    "WARNING Ruleset!D2 (found: '12/08/2025'): v5 takes effect on 12/08/2025, before its latest "
    "History Review Date (12/07/2026) and on or before v4's effective date (12/08/2025): it "
    "decides every claim dated from 12/08/2025 on, those v4 decided included. A correction may "
    "apply from an earlier date; if this is not one, clear this cell (v5 then takes effect on "
    "12/07/2026), or type the date it takes effect."
)


def revision(rows, effective: dt.date | None) -> dict:
    """A revision of the founding rows (a drug added, its History row dated REVIEW), keeping
    `effective` as the Ruleset's Effective Date."""
    rows["Drug Lists"].append(["strong-cyp3a4-inducers", "apalutamide", "Erleada", None])
    rows["History"].append(["imatinib-per-rx", "Selected Revision", "Apalutamide added.", REVIEW])
    rows["Policies"][0][3] = REVIEW
    rows["Ruleset"][0][3] = effective
    return rows


def test_a_revision_that_keeps_last_years_effective_date_is_warned_and_said(
    founding_rows, make_workbook, exports_copy, dqm
):
    # The issue: 12/08/2025 kept under a History row dated 12/07/2026 validated clean and
    # compiled without a word, and v5 then decided every claim v4 had decided.
    path = make_workbook(revision(founding_rows, dt.date(2025, 12, 8)))
    note = (
        "oncology-dqm v5 takes effect on 12/08/2025: claims dated from then on are decided by it "
        "(v4 decided them before).\n"
    )
    assert dqm("validate", path, "--exports", exports_copy) == (
        0,
        f"{KEPT}\n{path}: 0 error(s), 1 warning(s).\n",
        note,
    )
    v5 = exports_copy / "oncology-dqm" / "v5.json"
    assert dqm("compile", path, "--exports", exports_copy) == (0, f"{KEPT}\n{v5}\n", note)


def test_a_cleared_effective_date_takes_effect_on_the_review_without_a_warning(
    founding_rows, make_workbook, exports_copy, dqm
):
    path = make_workbook(revision(founding_rows, None))
    note = (
        "oncology-dqm v5 takes effect on 12/07/2026: claims dated from then on are decided by it "
        "(v4 decided them before).\n"
    )
    assert dqm("validate", path, "--exports", exports_copy) == (
        0,
        f"{path}: 0 error(s), 0 warning(s).\n",
        note,
    )
    assert dqm("validate", path, "--exports", exports_copy, "--json").err == note
    v5 = exports_copy / "oncology-dqm" / "v5.json"
    assert dqm("compile", path, "--exports", exports_copy) == (0, f"{v5}\n", note)


def test_an_effective_date_before_the_review_alone_is_warned(
    founding_rows, make_workbook, exports_copy, dqm
):
    path = make_workbook(revision(founding_rows, dt.date(2026, 6, 1)))
    ran = dqm("validate", path, "--exports", exports_copy)
    assert ran.out.splitlines()[0] == (
        "WARNING Ruleset!D2 (found: '06/01/2026'): v5 takes effect on 06/01/2026, before its "
        "latest History Review Date (12/07/2026): it decides claims dated before the review that "
        "made it, from 06/01/2026 on. A correction may apply from an earlier date; if this is not "
        "one, clear this cell (v5 then takes effect on 12/07/2026), or type the date it takes "
        "effect."
    )


def test_a_blank_effective_date_on_the_previous_versions_day_is_warned(
    founding_rows, make_workbook, exports_copy, dqm
):
    # The new review dated as v4's effective date: blank, v5 takes effect that same day.
    founding_rows = revision(founding_rows, None)
    founding_rows["History"][-1][3] = dt.date(2026, 12, 2)
    founding_rows["Policies"][0][3] = dt.date(2026, 12, 2)
    founding_rows["Ruleset"][0][3] = dt.date(2026, 12, 2)
    path = make_workbook(founding_rows)
    from compiler.ruleset.check import check_workbook

    exports = exports_copy
    assert dqm("compile", path, "--exports", exports).code == 0  # v5, effective 12/02/2026
    founding_rows["Drug Lists"][-1][2] = "Erleada; ARN-509"
    founding_rows["History"].append(
        ["imatinib-per-rx", "Selected Revision", "ARN-509 added.", dt.date(2026, 12, 2)]
    )
    founding_rows["Ruleset"][0][3] = None
    checked = check_workbook(make_workbook(founding_rows), exports)
    assert [(f.code, f.sheet, f.cell, f.severity, f.message) for f in checked.findings] == [
        (
            "retroactive-effective-date",
            "Ruleset",
            "D2",
            "warning",
            "v6 takes effect on 12/02/2026, on or before v5's effective date (12/02/2026): it "
            "decides every claim dated from 12/02/2026 on, those v5 decided included. A "
            "correction may apply from an earlier date; if this is not one, type the date v6 "
            "takes effect, after 12/02/2026, in this cell.",
        )
    ]


def test_a_workbook_that_is_the_published_version_is_said_to_be_it(dqm):
    from tests.fixtures.paths import WORKBOOK

    # The bundled workbook is v4 (its Effective Date is v3's, on purpose): nothing moves, and
    # when v4 takes effect is still said.
    assert dqm("validate", WORKBOOK).err == (
        "oncology-dqm v4, which this workbook is, takes effect on 12/08/2025; nothing new to "
        "publish.\n"
    )


def test_the_first_version_says_when_it_takes_effect(founding_rows, make_workbook, tmp_path, dqm):
    path = make_workbook(revision(founding_rows, None))
    exports = tmp_path / "new-exports"
    ran = dqm("compile", path, "--exports", exports)
    assert (ran.code, ran.err) == (
        0,
        f"first version of oncology-dqm in {exports}: no earlier versions there\n"
        "oncology-dqm v1 takes effect on 12/07/2026: claims dated from then on are decided by "
        "it (no version decided them before).\n",
    )


def test_the_note_names_every_version_that_decided_the_claims_it_takes():
    published = {1: "2023-12-13", 2: "2024-12-17", 3: "2025-12-08", 4: "2025-12-08"}
    assert takes_effect_note("r", 5, "2027-01-01", published) == (
        "r v5 takes effect on 01/01/2027: claims dated from then on are decided by it (v4 "
        "decided them before)."
    )
    # v3 never decided a claim: v4 took effect the same day.
    assert takes_effect_note("r", 5, "2024-01-01", published) == (
        "r v5 takes effect on 01/01/2024: claims dated from then on are decided by it (v1, v2 "
        "and v4 decided them before)."
    )
    assert takes_effect_note("r", 5, "2020-01-01", {1: "2023-12-13", 2: "2024-12-17"}) == (
        "r v5 takes effect on 01/01/2020: claims dated from then on are decided by it (v1 and v2 "
        "decided them before, and none those dated before 12/13/2023)."
    )
    consecutive = {1: "2021-01-01", 2: "2022-01-01", 3: "2023-01-01"}
    assert takes_effect_note("r", 4, "2021-06-01", consecutive) == (
        "r v4 takes effect on 06/01/2021: claims dated from then on are decided by it (v1 to v3 "
        "decided them before)."
    )


def test_a_compile_that_published_after_another_says_so_of_its_own_version(exports_copy):
    from compiler.ruleset.compile import _takes_effect
    from compiler.ruleset.store import Store

    store = Store(exports_copy)
    assert _takes_effect(store, store.load("oncology-dqm", 4)) == (
        "oncology-dqm v4 takes effect on 12/08/2025: claims dated from then on are decided by it "
        "(v3 decided them before)."
    )
