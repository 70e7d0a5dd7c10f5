"""Building the ruleset: validated sheet frames -> plain data, in a stable order, ready to publish."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .. import codes, names
from ..effective import latest_review_date
from ..vocabulary import CHANNEL_LABELS, CODE_SYSTEMS, json_number
from ..workbook.validate import Validated
from .integrity import content_sha256

# 1: the first files (v1-v3 of the founding ruleset); 2: adds the version's effective_date and
# each product's codes. ruleset.schema.json describes both; readers read both.
SCHEMA_VERSION = 2
CODE_SYSTEM_OF_LABEL = {label: system for system, label in CODE_SYSTEMS.items()}  # "NDC" -> "ndc"
CHANNEL_OF_LABEL = {
    label: channel for channel, label in CHANNEL_LABELS.items()
}  # "Retail" -> "retail"


def build(validated: Validated) -> dict[str, Any]:
    """The ruleset content of a valid workbook (no version, hash or changes yet)."""
    f = validated.frames
    ruleset = f["Ruleset"].iloc[0]
    policies_months = dict(
        zip(f["Policies"]["Policy ID"], f["Policies"]["Approval Duration (months)"], strict=True)
    )
    product_policy = dict(zip(f["Limits"]["Product ID"], f["Limits"]["Policy ID"], strict=True))

    overrides: dict[str, list] = {}
    for product_id, criterion_id, retail, home, months, text in _rows(
        f["Overrides"],
        "Product ID",
        "Criterion ID",
        "Retail Max Qty per Rx",
        "Home Delivery Max Qty per Rx",
        "Approval Duration (months)",
        "Criteria Text",
    ):
        if months is None:
            months = policies_months[product_policy[product_id]]
        overrides.setdefault(product_id, []).append(
            {
                "criterion_id": criterion_id,
                "retail_max_qty": retail,
                "home_delivery_max_qty": home,
                "approval_months": json_number(months),
                "criteria_text": text,
            }
        )
    product_codes: dict[str, list] = {}
    if "Product Codes" in f:
        for product_id, label, text, description in _rows(
            f["Product Codes"], "Product ID", "Code System", "Code", "Description"
        ):
            system = CODE_SYSTEM_OF_LABEL[label]
            product_codes.setdefault(product_id, []).append(
                {
                    "code_system": system,
                    "code": codes.read_code(system, str(text)).value,
                    "description": description,
                }
            )
    products: dict[str, list] = {}
    for policy_id, product_id, product, strength, retail, home, unit, footnote in _rows(
        f["Limits"],
        "Policy ID",
        "Product ID",
        "Product",
        "Strength and Form",
        "Retail Max Qty per Rx",
        "Home Delivery Max Qty per Rx",
        "Unit",
        "Footnote",
    ):
        products.setdefault(policy_id, []).append(
            {
                "product_id": product_id,
                "product": product,
                "strength_and_form": strength,
                "retail_max_qty": retail,
                "home_delivery_max_qty": home,
                "unit": unit,
                "footnote": footnote,
                "codes": sorted(
                    product_codes.get(product_id, []), key=lambda c: (c["code_system"], c["code"])
                ),
                "overrides": _sorted(overrides.get(product_id, []), "criterion_id"),
            }
        )
    history: dict[str, list] = {}
    for policy_id, revision, summary, date in _rows(
        f["History"], "Policy ID", "Type of Revision", "Summary of Changes", "Review Date"
    ):
        history.setdefault(policy_id, []).append(
            {"type_of_revision": revision, "summary_of_changes": summary, "review_date": date}
        )
    policies = [
        {
            "policy_id": policy_id,
            "title": title,
            "policy_type": policy_type,
            "review_date": review_date,
            "approval_months": months,
            "notes": notes,
            "products": _sorted(products.get(policy_id, []), "product_id"),
            "history": sorted(history.get(policy_id, []), key=_history_key),
            # Only a retired policy says so: an active one's version reads (and hashes) as before.
            **({"status": "retired"} if status == "Retired" else {}),
        }
        for policy_id, title, policy_type, review_date, months, notes, status in _rows(
            f["Policies"],
            "Policy ID",
            "Title",
            "Policy Type",
            "Review Date",
            "Approval Duration (months)",
            "Notes",
            "Status",
        )
    ]

    criteria = [
        {
            "criterion_id": criterion_id,
            "description": description,
            "met_when": "attested" if met_when == "Attested" else "concomitant_drug_on_list",
            "drug_list_id": list_id if met_when != "Attested" else None,
        }
        for criterion_id, description, met_when, list_id in _rows(
            f["Criteria"], "Criterion ID", "Description", "Met When", "Drug List ID"
        )
    ]

    lists: dict[str, list] = {}
    for list_id, drug, aliases, notes in _rows(
        f["Drug Lists"], "Drug List ID", "Drug", "Also Known As", "Notes"
    ):
        lists.setdefault(list_id, []).append(
            {"drug": drug, "also_known_as": names.split_list(aliases), "notes": notes}
        )
    drug_lists = [
        {"drug_list_id": k, "drugs": sorted(v, key=lambda d: names.normalize(d["drug"]))}
        for k, v in lists.items()
    ]

    tests = (
        [
            {
                "test_id": test_id,
                "product_id": product_id,
                "channel": CHANNEL_OF_LABEL[channel],
                "quantity": quantity,
                "concomitant_drugs": drugs,
                "attested_criteria": attested,
                "expected_decision": expected.lower(),
                "expected_approved_qty": expected_qty,
                "notes": notes,
            }
            for test_id, product_id, channel, quantity, drugs, attested, expected, expected_qty, notes in _rows(
                f["Tests"],
                "Test ID",
                "Product ID",
                "Channel",
                "Quantity",
                "Concomitant Drugs",
                "Attested Criteria",
                "Expected Decision",
                "Expected Approved Qty",
                "Notes",
            )
        ]
        if "Tests" in f
        else []
    )

    policies = sorted(policies, key=lambda p: p["policy_id"])
    effective = ruleset["Effective Date"]
    content = {
        "schema_version": SCHEMA_VERSION,
        "ruleset_id": ruleset["Ruleset ID"],
        "title": ruleset["Title"],
        "owner": _text(ruleset["Owner"]),
        # Blank: the version takes effect on its latest History Review Date.
        "effective_date": (
            effective.strftime("%Y-%m-%d")
            if not pd.isna(effective)
            else latest_review_date({"policies": policies})
        ),
        "source": {"file_name": validated.workbook.file_name, "sha256": validated.workbook.sha256},
        "policies": policies,
        "criteria": sorted(criteria, key=lambda c: c["criterion_id"]),
        "drug_lists": sorted(drug_lists, key=lambda d: d["drug_list_id"]),
        "tests": sorted(tests, key=lambda t: t["test_id"]),
    }
    content["content_sha256"] = content_sha256(content)
    return content


def _history_key(h: dict) -> tuple:
    return (h["review_date"], h["type_of_revision"], h["summary_of_changes"])


def _text(x: Any) -> str | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def _sorted(rows: list[dict], key: str) -> list[dict]:
    return rows if len(rows) < 2 else sorted(rows, key=lambda r: r[key])  # most hold one or none


def _rows(frame: pd.DataFrame, *headers: str) -> zip:
    """The frame's rows as tuples of these columns: None for blanks, ISO text for dates, numbers
    as `json_number` writes them (vectorised: sheets have 20,000 rows)."""
    columns = []
    for c in headers:
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            col = col.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(col):
            values = col.to_numpy()
            blank, whole = np.isnan(values), np.mod(values, 1) == 0
            out = values.astype(object)
            out[whole] = values[whole].astype(np.int64).astype(object)
            out[blank] = None
            columns.append(out.tolist())
            continue
        columns.append(col.astype(object).where(col.notna(), None).tolist())
    return zip(*columns, strict=True)
