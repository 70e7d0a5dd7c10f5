"""Publish conformance/exports/conformance-demo/ v1 to v5 (each run publishes the versions the
folder does not have yet, so published files never change): a small ruleset with what the
founding one lacks, so the conformance vectors cover it: an attested criterion, two overrides tied
on a channel maximum, fractional limits, codes in every NDC layout and an RxCUI with leading zeros,
non-ASCII drug names, a policy retired, a correction (v3) that takes effect before v2 and so
supersedes it, and limits over time: sumatriptan limited Per Rx from 2025-01-01 (v4), then Per
Days from 2025-03-01 (v5: 9 tablets per 30 days at retail, 27 per 90 at home delivery, an attested
criterion allowing 18 and 54; and a nasal spray with fractional limits and no override). Published
by the real compiler; the files are then immutable inputs of `dqm conformance`, like exports/."""

from __future__ import annotations

import copy
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compiler.ruleset.compile import compile_workbook  # noqa: E402
from compiler.workbook.template import write_workbook  # noqa: E402

D = dt.date
ALPHA, BETA = "alpha-per-rx", "beta-per-rx"
V1 = {
    "Ruleset": [["conformance-demo", "Conformance demo", "dqm conformance", D(2024, 1, 1)]],
    "Policies": [
        [ALPHA, "Alpha – Per Rx", "Per Rx", D(2024, 1, 1), 12, None, None],
        [BETA, "Beta – Per Rx", "Per Rx", D(2024, 1, 1), 6, None, None],
    ],
    "Limits": [
        [ALPHA, "alpha-10mg-tab", "Alpha®", "10 mg tablets", 30, 90, "tablets", None],
        [ALPHA, "alpha-oral-solution", "Alpha®", "1 mg/mL oral solution", 7.5, 22.5, "mL", None],
        [BETA, "beta-5mg-cap", "Beta", "5 mg capsules", 10, 30, "capsules", None],
    ],
    "Product Codes": [
        ["alpha-10mg-tab", "NDC", "1234-5678-90", "4-4-2 layout"],
        ["alpha-10mg-tab", "NDC", "12345-678-90", "5-3-2 layout"],
        ["alpha-10mg-tab", "NDC", "12345-6789-1", "5-4-1 layout"],
        ["alpha-10mg-tab", "RxCUI", "1001", None],
        ["alpha-oral-solution", "NDC", "12345-6789-02", "5-4-2 layout"],
        ["alpha-oral-solution", "RxCUI", "0002002", "leading zeros"],
        ["beta-5mg-cap", "RxCUI", "3003", None],
    ],
    "Criteria": [
        ["attested-dose", "A reviewer confirmed the dose", "Attested", None],
        ["inducer", "Patient is taking a listed inducer", "Concomitant drug on list", "inducers"],
        [
            "z-interacting",
            "Patient is taking an interacting drug",
            "Concomitant drug on list",
            "interacting",
        ],
    ],
    "Overrides": [
        # Tied at home delivery (120): the criterion id that sorts first, attested-dose, wins.
        ["alpha-10mg-tab", "attested-dose", 45, 120, 6, None],
        ["alpha-10mg-tab", "inducer", 60, 120, None, None],
        ["alpha-oral-solution", "inducer", 10.5, 30, None, None],
        ["beta-5mg-cap", "z-interacting", 20, 60, None, None],
    ],
    "Drug Lists": [
        ["inducers", "rifampin", "rifampicin; Rifadin; Ριφαμπικίνη", None],
        ["inducers", "carbamazepine", "Tegretol", None],
        ["inducers", "St. John's Wort", "hypericum", None],
        ["inducers", "Phénobarbital", "Luminal", None],
        ["interacting", "ketoconazole", "Nizoral", None],
    ],
    "History": [
        [ALPHA, "New Policy", "First version.", D(2024, 1, 1)],
        [BETA, "New Policy", "First version.", D(2024, 1, 1)],
    ],
}


def v2(rows: dict) -> dict:
    """Alpha's retail limit 30 -> 40, taking effect 2024-06-01."""
    rows = copy.deepcopy(rows)
    rows["Ruleset"][0][3] = D(2024, 6, 1)
    rows["Policies"][0][3] = D(2024, 6, 1)
    rows["Limits"][0][4] = 40
    rows["History"].append([ALPHA, "Annual Revision", "Retail limit 40.", D(2024, 6, 1)])
    return rows


def v3(rows: dict) -> dict:
    """Beta retired; published after v2 but in effect from 2024-03-01, so it supersedes v2."""
    rows = copy.deepcopy(rows)
    rows["Ruleset"][0][3] = D(2024, 3, 1)
    rows["Policies"][1][3] = D(2024, 9, 1)
    rows["Policies"][1][6] = "Retired"
    rows["History"].append([BETA, "Retirement", "Policy retired.", D(2024, 9, 1)])
    return rows


SUMA = "sumatriptan"
SUMA_TAB, SUMA_SPRAY = "sumatriptan-100mg-tab", "sumatriptan-20mg-spray"


def v4(rows: dict) -> dict:
    """Sumatriptan tablets, limited Per Rx (9 retail, 27 home delivery), from 2025-01-01."""
    rows = copy.deepcopy(rows)
    rows["Ruleset"][0][3] = D(2025, 1, 1)
    rows["Policies"].append([SUMA, "Sumatriptan", "Per Rx", D(2025, 1, 1), 12, None, None])
    rows["Limits"].append(
        [SUMA, SUMA_TAB, "Imitrex® (sumatriptan)", "100 mg tablets", 9, 27, "tablets", None]
    )
    rows["Product Codes"].append([SUMA_TAB, "NDC", "55111-0291-09", None])
    rows["Criteria"].append(
        ["frequent-migraine", "More than 9 migraine days a month", "Attested", None]
    )
    rows["Overrides"].append([SUMA_TAB, "frequent-migraine", 18, 54, 12, None])
    rows["History"].append([SUMA, "New Policy", "Sumatriptan per prescription.", D(2025, 1, 1)])
    return rows


def v5(rows: dict) -> dict:
    """Sumatriptan limited Per Days from 2025-03-01: tablets 9 per 30 days at retail and 27 per 90
    at home delivery (frequent-migraine: 18 and 54 over the same windows); a nasal spray of
    0.3 mL per 30 days and 0.9 per 90 days, no override."""
    rows = copy.deepcopy(rows)
    rows["Ruleset"][0][3] = D(2025, 3, 1)
    policy = next(p for p in rows["Policies"] if p[0] == SUMA)
    policy[2], policy[3] = "Per Days", D(2025, 3, 1)
    tab = next(r for r in rows["Limits"] if r[1] == SUMA_TAB)
    tab += [30, 90]
    rows["Limits"].append(
        [SUMA, SUMA_SPRAY, "Imitrex® (sumatriptan)", "20 mg nasal spray", 0.3, 0.9, "mL", None,
         30, 90]
    )  # fmt: skip
    override = next(r for r in rows["Overrides"] if r[0] == SUMA_TAB)
    override += [30, 90]
    rows["History"].append([SUMA, "Annual Revision", "Limits over time.", D(2025, 3, 1)])
    return rows


STEPS = [V1, v2(V1), v3(v2(V1)), v4(v3(v2(V1))), v5(v4(v3(v2(V1))))]


def main(exports: Path = ROOT / "conformance" / "exports") -> None:
    published = exports / "conformance-demo"
    have = len(list(published.glob("v*[0-9].json"))) if published.is_dir() else 0
    with tempfile.TemporaryDirectory() as tmp:
        for rows in STEPS[have:]:
            path = write_workbook(Path(tmp) / "conformance-demo.xlsx", rows, replace=True)
            result = compile_workbook(path, exports)
            if not result.ok:
                raise SystemExit(f"did not publish: {result.findings}")
            print(result.outcome.path)


if __name__ == "__main__":
    main()
