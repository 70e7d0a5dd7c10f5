"""The founding policy (the health plan's imatinib Drug Quantity Management Policy – Per Rx) as
rows of the workbook's sheets, with the products' codes from their labels and RxNorm. `python
scripts/founding_workbook.py` writes workbook/oncology-dqm.xlsx; scripts/publish_founding_history.py
uses `rows(reviews)` to rebuild its earlier reviews (v1-v3 had no codes and no Effective Date)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compiler.workbook.template import write_workbook  # noqa: E402

PRODUCT = "Gleevec® (imatinib tablets, generic)"
INDUCER_TEXT = (
    "If the patient is taking a strong cytochrome P450 (CYP)3A4 inducer, approve the requested "
    "quantity not to exceed 90 tablets per dispensing at retail or 270 tablets per dispensing at "
    "home delivery."
)
EXAMPLE = "Named in the policy's note as an example of a CYP3A4 inducer."
HISTORY = [
    ("imatinib-per-rx", "Annual Revision", "No criteria changes.", dt.date(2023, 12, 13)),
    ("imatinib-per-rx", "Annual Revision", "No criteria changes.", dt.date(2024, 12, 17)),
    ("imatinib-per-rx", "Annual Revision", "No criteria changes.", dt.date(2025, 12, 8)),
    (
        "imatinib-per-rx",
        "Selected Revision",
        "Product codes added (NDC and RxCUI) so claims can name the products. No criteria changes.",
        dt.date(2026, 12, 1),
    ),
]
CODES_REVIEW = 4  # the review that added the Product Codes sheet and the Effective Date
# v4 changes no rule, so it takes effect when v3 did: claims that name a product by a code
# resolve on every date v3 decided.
EFFECTIVE_DATE = dt.date(2025, 12, 8)
# Package NDCs from the labels (DailyMed), RxCUIs from RxNorm: clinical drugs (SCD) and the
# Gleevec brand (SBD).
PRODUCT_CODES = [
    ["imatinib-100mg-tab", "RxCUI", "403878", "imatinib 100 MG Oral Tablet"],
    ["imatinib-100mg-tab", "RxCUI", "404588", "Gleevec 100 MG Oral Tablet"],
    ["imatinib-100mg-tab", "NDC", "47335-472-83", "Sun Pharma, bottle of 30"],
    ["imatinib-100mg-tab", "NDC", "47335-472-81", "Sun Pharma, bottle of 90"],
    ["imatinib-100mg-tab", "NDC", "47335-472-88", "Sun Pharma, bottle of 100"],
    ["imatinib-100mg-tab", "NDC", "47335-472-13", "Sun Pharma, bottle of 500"],
    ["imatinib-400mg-tab", "RxCUI", "403879", "imatinib 400 MG Oral Tablet"],
    ["imatinib-400mg-tab", "RxCUI", "404589", "Gleevec 400 MG Oral Tablet"],
    ["imatinib-400mg-tab", "NDC", "47335-475-83", "Sun Pharma, bottle of 30"],
    ["imatinib-400mg-tab", "NDC", "47335-475-88", "Sun Pharma, bottle of 100"],
    ["imatinib-400mg-tab", "NDC", "47335-475-13", "Sun Pharma, bottle of 500"],
    ["imatinib-400mg-tab", "NDC", "47335-475-64", "Sun Pharma, unit-dose blister of 30"],
]


def rows(reviews: int = len(HISTORY)) -> dict[str, list[list]]:
    """The workbook's rows after the first `reviews` History rows (all: the current workbook)."""
    history = HISTORY[:reviews]
    coded = reviews >= CODES_REVIEW
    return {
        "Ruleset": [
            [
                "oncology-dqm",
                "Oncology Drug Quantity Management",
                "Pharmacy Policy",
                EFFECTIVE_DATE if coded else None,
            ]
        ],
        "Policies": [
            [
                "imatinib-per-rx",
                "Oncology – Imatinib Drug Quantity Management Policy – Per Rx",
                "Per Rx",
                history[-1][3],
                12,
                "Gleevec® (imatinib tablets – Novartis, generic). All approvals are provided for 1 year "
                "in duration, unless otherwise noted. Imatinib (Gleevec, generic) 100 mg tablets: "
                "No overrides Non-Preferred Product.",
            ]
        ],
        "Limits": [
            [
                "imatinib-per-rx",
                "imatinib-100mg-tab",
                PRODUCT,
                "100 mg tablets",
                180,
                540,
                "tablets",
                "^a 180 tablets is a quantity sufficient for a 30-day supply at retail and a 90-day "
                "supply at home delivery at the maximum Non-Preferred Product dose of 600 mg per day",
            ],
            [
                "imatinib-per-rx",
                "imatinib-400mg-tab",
                PRODUCT,
                "400 mg tablets",
                60,
                180,
                "tablets",
                "^b 60 tablets is quantity sufficient for a 30-day supply at retail or a 90-day supply "
                "at home delivery at a dose of 800 mg per day",
            ],
        ],
        "Product Codes": PRODUCT_CODES if coded else [],
        "Criteria": [
            [
                "strong-cyp3a4-inducer",
                "Patient is taking a strong cytochrome P450 (CYP)3A4 inducer",
                "Concomitant drug on list",
                "strong-cyp3a4-inducers",
            ]
        ],
        "Overrides": [["imatinib-400mg-tab", "strong-cyp3a4-inducer", 90, 270, None, INDUCER_TEXT]],
        "Drug Lists": [
            [
                "strong-cyp3a4-inducers",
                "dexamethasone",
                "Decadron; Hemady; Dexamethasone Intensol",
                EXAMPLE,
            ],
            ["strong-cyp3a4-inducers", "rifampin", "rifampicin; Rifadin; Rimactane", EXAMPLE],
            [
                "strong-cyp3a4-inducers",
                "carbamazepine",
                "Tegretol; Carbatrol; Epitol; Equetro",
                EXAMPLE,
            ],
            ["strong-cyp3a4-inducers", "phenobarbital", "phenobarbitone; Luminal", EXAMPLE],
            ["strong-cyp3a4-inducers", "phenytoin", "Dilantin; Phenytek", EXAMPLE],
            ["strong-cyp3a4-inducers", "rifabutin", "Mycobutin", EXAMPLE],
            ["strong-cyp3a4-inducers", "rifapentine", "Priftin", EXAMPLE],
            [
                "strong-cyp3a4-inducers",
                "St. John's Wort",
                "Hypericum perforatum; hypericum",
                EXAMPLE,
            ],
        ],
        "History": [list(h) for h in history],
        "Tests": TESTS,
    }


def _t(test_id, product, channel, qty, drugs, decision, approved, notes):
    return [
        test_id,
        f"imatinib-{product}-tab",
        channel,
        qty,
        drugs,
        None,
        decision,
        approved,
        notes,
    ]


TESTS = [
    _t("400-retail-at-limit", "400mg", "Retail", 60, None, "Approve", 60, "At the retail limit."),
    _t("400-retail-over-limit", "400mg", "Retail", 61, None, "Deny", 0, "One over, no inducer."),
    _t(
        "400-retail-rifampin",
        "400mg",
        "Retail",
        75,
        "rifampin",
        "Override",
        75,
        "Inducer: requested quantity.",
    ),
    _t(
        "400-retail-inducer-cap",
        "400mg",
        "Retail",
        90,
        "rifampin",
        "Override",
        90,
        "At the inducer cap.",
    ),
    _t(
        "400-retail-over-cap",
        "400mg",
        "Retail",
        120,
        "Rifadin",
        "Override",
        90,
        "Brand name; capped at 90.",
    ),
    _t(
        "400-home-at-limit",
        "400mg",
        "Home Delivery",
        180,
        None,
        "Approve",
        180,
        "At the home delivery limit.",
    ),
    _t(
        "400-home-over-limit",
        "400mg",
        "Home Delivery",
        181,
        None,
        "Deny",
        0,
        "One over, no inducer.",
    ),
    _t(
        "400-home-carbamazepine",
        "400mg",
        "Home Delivery",
        270,
        "carbamazepine",
        "Override",
        270,
        "At the inducer cap.",
    ),
    _t(
        "400-home-over-cap",
        "400mg",
        "Home Delivery",
        300,
        "Tegretol",
        "Override",
        270,
        "Brand name; capped at 270.",
    ),
    _t(
        "400-home-phenobarbital",
        "400mg",
        "Home Delivery",
        181,
        "phenobarbital",
        "Override",
        181,
        "Just over the limit.",
    ),
    _t("100-retail-at-limit", "100mg", "Retail", 180, None, "Approve", 180, "At the retail limit."),
    _t("100-retail-over-limit", "100mg", "Retail", 181, None, "Deny", 0, "One over, no inducer."),
    _t(
        "100-retail-inducer", "100mg", "Retail", 181, "rifampin", "Deny", 0, "100 mg: no overrides."
    ),
    _t(
        "100-home-at-limit",
        "100mg",
        "Home Delivery",
        540,
        None,
        "Approve",
        540,
        "At the home delivery limit.",
    ),
    _t(
        "100-home-over-limit",
        "100mg",
        "Home Delivery",
        541,
        "Dilantin",
        "Deny",
        0,
        "100 mg: no overrides.",
    ),
    _t(
        "100-home-over-limit-no-inducer",
        "100mg",
        "Home Delivery",
        541,
        None,
        "Deny",
        0,
        "One over, no inducer.",
    ),
    _t(
        "spelling-salt-strength",
        "400mg",
        "Retail",
        90,
        "Phenytoin Sodium 100 mg capsule",
        "Override",
        90,
        "Salt and strength in the name.",
    ),
    _t(
        "spelling-apostrophe",
        "400mg",
        "Retail",
        90,
        "St John’s wort",
        "Override",
        90,
        "Curly apostrophe, no full stop.",
    ),
    _t("spelling-alias", "400mg", "Retail", 90, "RIFAMPICIN", "Override", 90, "Alias in capitals."),
    _t(
        "spelling-not-a-word",
        "400mg",
        "Retail",
        90,
        "rifampinx",
        "Deny",
        0,
        "Not the word rifampin.",
    ),
    _t(
        "several-drugs",
        "400mg",
        "Retail",
        80,
        "lisinopril; Dexamethasone 4 mg tablet",
        "Override",
        80,
        "One inducer among others.",
    ),
    _t(
        "non-inducer",
        "400mg",
        "Retail",
        61,
        "lisinopril; metformin",
        "Deny",
        0,
        "No inducer among them.",
    ),
]


if __name__ == "__main__":
    out = ROOT / "workbook" / "oncology-dqm.xlsx"
    write_workbook(out, rows(), replace=True)
    print(out)
