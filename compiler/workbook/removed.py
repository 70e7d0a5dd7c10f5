"""What the latest published version limits that the workbook no longer has: a product with no
Limits row, or a code with no Product Codes row. Once the new version takes effect, such a
product's claims (or a claim naming the product by that code alone) decide not_applicable, with
no limit: a warning says so, naming it. A product kept with Status `Retired` says so itself and
is not warned about; nor is a code of a product no longer limited (its product's finding, or its
retirement, says it). Plain data in: the published version as a dict."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import codes, names
from ..vocabulary import CODE_SYSTEMS
from .findings import WARNING, Finding
from .headers import CODE, CODE_SYSTEM, POLICY_ID, PRODUCT_ID, STATUS
from .validate import Validated

RETIRED = "Retired"


def removed(validated: Validated, previous: dict[str, Any] | None) -> list[Finding]:
    """A warning for each product and code `previous` limits that the workbook no longer has."""
    if previous is None:
        return []
    sheets, frames = validated.workbook.sheets, validated.frames
    limits = sheets.get("Limits")
    if limits is None or not limits.complete or "Limits" not in frames:
        return []
    limited = {
        p["product_id"]: p
        for policy in previous["policies"]
        if policy.get("status") != "retired"
        for p in policy["products"]
        if p.get("status") != "retired"
    }
    frame = frames["Limits"]
    present = set(frame[PRODUCT_ID].dropna())
    # A Product ID cell in error (`IMATINIB-100MG-TAB`) has its own finding: the product it
    # stands for is not removed.
    mistyped = [str(v) for v in _in_error(validated, "Limits", PRODUCT_ID)]
    version = previous["version"]
    out = [
        Finding(
            "product-removed",
            "Limits",
            limits.cell(PRODUCT_ID, 1),
            PRODUCT_ID,
            None,
            {
                "product_id": pid,
                "product": f"{p['product']}, {p['strength_and_form']}",
                "version": version,
            },
            WARNING,
        )
        for pid, p in limited.items()
        if pid not in present and names.closest(pid, mistyped) is None
    ]
    still = present - _retired(frame, frames.get("Policies"))
    out += _codes_removed(validated, limited, still, version)
    return out


def _in_error(validated: Validated, sheet_name: str, header: str, rows: bool = False) -> list:
    """The values (or, with `rows`, the Excel rows) of the cells of `header` on the sheet that
    have a finding of their own."""
    sheet = validated.workbook.sheets[sheet_name]
    cells = {f.cell for f in validated.findings if f.sheet == sheet_name and f.column == header}
    if not cells:
        return []  # none in error: no pass over every row
    raw = sheet.frame[header]
    hit = [row for row in raw.index if sheet.cell(header, row) in cells]
    return hit if rows else [raw.at[row] for row in hit if raw.at[row] is not None]


def _retired(limits: pd.DataFrame, policies: pd.DataFrame | None) -> set[str]:
    """The products the workbook retires: Status Retired on Limits, or on their policy."""
    retired = set(limits.loc[limits[STATUS] == RETIRED, PRODUCT_ID].dropna())
    if policies is not None and STATUS in policies:
        gone = set(policies.loc[policies[STATUS] == RETIRED, POLICY_ID].dropna())
        retired |= set(limits.loc[limits[POLICY_ID].isin(gone), PRODUCT_ID].dropna())
    return retired


def _codes_removed(
    validated: Validated, limited: dict[str, dict], still: set[str], version: int
) -> list[Finding]:
    """The codes of products still limited that no Product Codes row has (read as claims read
    them: `47335-475-83` is `47335047583`)."""
    sheet = validated.workbook.sheets.get("Product Codes")
    frame = validated.frames.get("Product Codes")
    if sheet is not None and not sheet.complete:
        return []
    labels = dict(CODE_SYSTEMS)  # "ndc" -> "NDC"
    system_of = {label: system for system, label in labels.items()}
    have = set()
    if frame is not None:
        for label, text in zip(frame[CODE_SYSTEM], frame[CODE], strict=True):
            if label in system_of and text is not None:
                read = codes.read_code(system_of[label], str(text))
                if read.value is not None:
                    have.add((system_of[label], read.value))
    # A product with a Code cell in error (a mistyped NDC has its own finding): not said again.
    mistyped = set()
    if frame is not None:
        bad = set(_in_error(validated, "Product Codes", CODE, rows=True))
        mistyped = {pid for row, pid in frame[PRODUCT_ID].items() if row in bad}
    out = []
    for pid, p in limited.items():
        if pid not in still or pid in mistyped:
            continue
        for c in p.get("codes", ()):
            if (c["code_system"], c["code"]) in have:
                continue
            out.append(
                Finding(
                    "code-removed",
                    "Product Codes",
                    sheet.cell(CODE, 1) if sheet is not None else None,
                    CODE if sheet is not None else None,
                    None,
                    {
                        "system": labels[c["code_system"]],
                        "code": codes.shown(c["code_system"], c["code"]),
                        "product_id": pid,
                        "version": version,
                    },
                    WARNING,
                )
            )
    return out
