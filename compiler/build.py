"""Building the ruleset: validated sheet frames -> plain data, in a stable order, ready to publish."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import orjson
import pandas as pd

from . import names
from .validate import Validated

SCHEMA_VERSION = 1
# What a ruleset *says*; its content hash decides whether anything changed. The source file and
# the workbook's own Tests travel with a version but are not rules.
CONTENT_KEYS = ("ruleset_id", "title", "owner", "policies", "criteria", "drug_lists")
CHANNELS = {"Retail": "retail", "Home Delivery": "home_delivery"}


def build(validated: Validated) -> dict[str, Any]:
    """The ruleset content of a valid workbook (no version, hash or changes yet)."""
    f = validated.frames
    ruleset = f["Ruleset"].iloc[0]
    policies_months = dict(zip(f["Policies"]["Policy ID"], f["Policies"]["Approval Duration (months)"]))
    product_policy = dict(zip(f["Limits"]["Product ID"], f["Limits"]["Policy ID"]))

    overrides: dict[str, list] = {}
    for r in _records(f["Overrides"]):
        months = r["Approval Duration (months)"]
        if months is None:
            months = policies_months[product_policy[r["Product ID"]]]
        overrides.setdefault(r["Product ID"], []).append({
            "criterion_id": r["Criterion ID"],
            "retail_max_qty": r["Retail Max Qty per Rx"],
            "home_delivery_max_qty": r["Home Delivery Max Qty per Rx"],
            "approval_months": number(months),
            "criteria_text": r["Criteria Text"],
        })
    products: dict[str, list] = {}
    for r in _records(f["Limits"]):
        products.setdefault(r["Policy ID"], []).append({
            "product_id": r["Product ID"],
            "product": r["Product"],
            "strength_and_form": r["Strength and Form"],
            "retail_max_qty": r["Retail Max Qty per Rx"],
            "home_delivery_max_qty": r["Home Delivery Max Qty per Rx"],
            "unit": r["Unit"],
            "footnote": r["Footnote"],
            "overrides": sorted(overrides.get(r["Product ID"], []), key=lambda o: o["criterion_id"]),
        })
    history: dict[str, list] = {}
    for r in _records(f["History"]):
        history.setdefault(r["Policy ID"], []).append({
            "type_of_revision": r["Type of Revision"],
            "summary_of_changes": r["Summary of Changes"],
            "review_date": r["Review Date"],
        })
    policies = [{
        "policy_id": r["Policy ID"],
        "title": r["Title"],
        "policy_type": r["Policy Type"],
        "review_date": r["Review Date"],
        "approval_months": r["Approval Duration (months)"],
        "notes": r["Notes"],
        "products": sorted(products.get(r["Policy ID"], []), key=lambda p: p["product_id"]),
        "history": sorted(history.get(r["Policy ID"], []), key=_history_key),
    } for r in _records(f["Policies"])]

    criteria = [{
        "criterion_id": r["Criterion ID"],
        "description": r["Description"],
        "met_when": "attested" if r["Met When"] == "Attested" else "concomitant_drug_on_list",
        "drug_list_id": r["Drug List ID"] if r["Met When"] != "Attested" else None,
    } for r in _records(f["Criteria"])]

    lists: dict[str, list] = {}
    for r in _records(f["Drug Lists"]):
        lists.setdefault(r["Drug List ID"], []).append({
            "drug": r["Drug"],
            "also_known_as": names.split_list(r["Also Known As"]),
            "notes": r["Notes"],
        })
    drug_lists = [{"drug_list_id": k, "drugs": sorted(v, key=lambda d: names.normalize(d["drug"]))}
                  for k, v in lists.items()]

    tests = [{
        "test_id": r["Test ID"],
        "product_id": r["Product ID"],
        "channel": CHANNELS[r["Channel"]],
        "quantity": r["Quantity"],
        "concomitant_drugs": r["Concomitant Drugs"],
        "attested_criteria": r["Attested Criteria"],
        "expected_decision": r["Expected Decision"].lower(),
        "expected_approved_qty": r["Expected Approved Qty"],
        "notes": r["Notes"],
    } for r in _records(f["Tests"])] if "Tests" in f else []

    content = {
        "schema_version": SCHEMA_VERSION,
        "ruleset_id": ruleset["Ruleset ID"],
        "title": ruleset["Title"],
        "owner": _text(ruleset["Owner"]),
        "source": {"file_name": validated.workbook.file_name, "sha256": validated.workbook.sha256},
        "policies": sorted(policies, key=lambda p: p["policy_id"]),
        "criteria": sorted(criteria, key=lambda c: c["criterion_id"]),
        "drug_lists": sorted(drug_lists, key=lambda d: d["drug_list_id"]),
        "tests": sorted(tests, key=lambda t: t["test_id"]),
    }
    content["content_sha256"] = content_sha256(content)
    return content


def content_sha256(doc: dict[str, Any]) -> str:
    """Hash of what the ruleset says, independent of the file it came from."""
    rules = {k: doc[k] for k in CONTENT_KEYS}
    return hashlib.sha256(orjson.dumps(rules, option=orjson.OPT_SORT_KEYS)).hexdigest()


def number(x: Any) -> int | float | None:
    """A quantity as JSON writes it best: 60, not 60.0."""
    if x is None or (isinstance(x, float) and x != x):
        return None
    x = float(x)
    return int(x) if x.is_integer() else x


def _history_key(h: dict) -> tuple:
    return (h["review_date"], h["type_of_revision"], h["summary_of_changes"])


def _text(x: Any) -> str | None:
    return None if x is None or (isinstance(x, float) and x != x) else x


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts: None for blanks, ISO text for dates, numbers as `number` writes them
    (vectorised: sheets have 20,000 rows)."""
    columns = []
    for c in frame.columns:
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
    names = list(frame.columns)
    return [dict(zip(names, values)) for values in zip(*columns)]
