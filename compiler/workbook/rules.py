"""The cross-sheet rules, run in order: exactly one Ruleset row, references resolve
(references.py), maximum quantities agree (max_quantities.py), History agrees with the policy
(policy_history.py), Per Days windows are given where they belong (per_days.py), names are unique within a drug list, product codes read as codes and name
one product each (product_codes.py), the slips (slips.py), and drug lists that criteria use,
one name to a Drug cell (drug_lists.py). Each rule runs only when the
sheets it reads are present with all their required headers."""

from __future__ import annotations

import pandas as pd

from .. import names
from . import schemas, slips
from .claim_rows import tests_name_products
from .drug_lists import lists_used, one_name_per_drug
from .findings import Finding
from .headers import (
    ALSO_KNOWN_AS,
    CRITERION_ID,
    DRUG,
    DRUG_LIST_ID,
    POLICY_ID,
    PRODUCT_ID,
    RULESET_ID,
)
from .max_quantities import (
    home_delivery_below_retail,
    one_override_per_criterion,
    overrides_above_limits,
)
from .per_days import windows
from .policy_history import latest_history_is_review_date, retirement_recorded, undated
from .product_codes import product_codes
from .reader import Sheet
from .references import attested_criteria, drug_list_when_on_list, references


def check(
    sheets: dict[str, Sheet], frames: dict[str, pd.DataFrame], found: list[Finding] = ()
) -> list[Finding]:
    """The cross-sheet rules' findings; `found`: the findings already made of single cells, so
    that a reference to an id that is itself in error is reported once, at that id."""

    def have(*wanted: str) -> bool:
        return all(w in sheets and sheets[w].complete for w in wanted)

    in_error = {(f.sheet, f.column, f.cell) for f in found}
    columns_in_error = {(sheet, column) for sheet, column, _ in in_error}

    def broken(target: str, header: str) -> list[str]:
        """The ids on `target` whose own cell is in error."""
        if (target, header) not in columns_in_error:
            return []
        t = sheets[target]
        return [
            value
            for row, value in frames[target][header].items()
            if value is not None and (target, header, t.cell(header, row)) in in_error
        ]

    out: list[Finding] = []
    if have("Ruleset"):
        out += one_ruleset_row(sheets["Ruleset"], frames["Ruleset"])
    refs = [
        ("Limits", POLICY_ID, "Policies", POLICY_ID),
        ("Product Codes", PRODUCT_ID, "Limits", PRODUCT_ID),
        ("History", POLICY_ID, "Policies", POLICY_ID),
        ("Overrides", PRODUCT_ID, "Limits", PRODUCT_ID),
        ("Overrides", CRITERION_ID, "Criteria", CRITERION_ID),
        ("Tests", PRODUCT_ID, "Limits", PRODUCT_ID),
    ]
    for sheet, header, target, target_header in refs:
        if have(sheet, target):
            out += references(
                sheets[sheet],
                frames[sheet],
                header,
                frames[target][target_header],
                target,
                broken(target, target_header),
            )
    if have("Tests"):
        out += tests_name_products(
            sheets["Tests"],
            frames["Tests"],
            frames["Limits"] if have("Limits") else None,
            frames["Policies"] if have("Policies") else None,
            frames["Product Codes"] if have("Product Codes") else None,
            in_error,
        )
    if have("Criteria"):
        out += drug_list_when_on_list(
            sheets["Criteria"],
            frames["Criteria"],
            frames["Drug Lists"][DRUG_LIST_ID] if have("Drug Lists") else None,
        )
    if have("Tests", "Criteria"):
        out += attested_criteria(
            sheets["Tests"], frames["Tests"], frames["Criteria"], broken("Criteria", CRITERION_ID)
        )
    if have("Overrides"):
        out += one_override_per_criterion(sheets["Overrides"], frames["Overrides"])
    if have("Overrides", "Limits"):
        out += overrides_above_limits(sheets["Overrides"], frames["Overrides"], frames["Limits"])
    if have("Policies", "Limits"):
        both = have("Overrides")
        out += windows(
            frames["Policies"],
            sheets["Limits"],
            frames["Limits"],
            sheets["Overrides"] if both else None,
            frames["Overrides"] if both else None,
            in_error,
        )
    if have("Limits"):
        out += home_delivery_below_retail(sheets["Limits"], frames["Limits"])
    if have("Overrides"):
        out += home_delivery_below_retail(sheets["Overrides"], frames["Overrides"])
    undated_policies = set()
    if have("History"):
        undated_policies = undated(sheets["History"], frames["History"], in_error)
    if have("Policies", "History"):
        out += latest_history_is_review_date(
            sheets["Policies"], frames["Policies"], frames["History"], undated_policies
        )
    if have("Drug Lists"):
        out += names_unique_within_list(sheets["Drug Lists"], frames["Drug Lists"])
        out += slips.aliases_separated_by_semicolons(sheets["Drug Lists"], frames["Drug Lists"])
        out += slips.names_not_generic(sheets["Drug Lists"], frames["Drug Lists"])
        out += one_name_per_drug(sheets["Drug Lists"], frames["Drug Lists"])
    if have("Drug Lists", "Criteria"):
        out += lists_used(sheets["Drug Lists"], frames["Drug Lists"], frames["Criteria"])
    if have("Product Codes"):
        out += product_codes(sheets["Product Codes"], frames["Product Codes"])
    if have("Limits"):
        both = have("Overrides")
        out += slips.whole_counts(
            sheets["Limits"],
            frames["Limits"],
            sheets["Overrides"] if both else None,
            frames["Overrides"] if both else None,
        )
    if have("Policies", "History"):
        out += retirement_recorded(
            sheets["Policies"], frames["Policies"], frames["History"], undated_policies
        )
    return out


def one_ruleset_row(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    h = RULESET_ID
    if len(frame) == 0:
        return [
            Finding(
                "ruleset-row-missing",
                sheet.name,
                sheet.cell(h, 2),
                h,
                None,
                {"example": schemas.columns("Ruleset")[h].metadata["example"]},
            )
        ]
    return [
        sheet.finding(
            "ruleset-extra-row",
            h,
            row,
            {"first_row": int(frame.index[0])},
        )
        for row in frame.index[1:]
    ]


def names_unique_within_list(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    out = []
    seen: dict[tuple[str, str], int] = {}
    for row, list_id, drug, aka in zip(
        frame.index, frame[DRUG_LIST_ID], frame[DRUG], frame[ALSO_KNOWN_AS], strict=True
    ):
        for header, name in [(DRUG, drug)] + [(ALSO_KNOWN_AS, a) for a in names.split_list(aka)]:
            if not name:
                continue
            key = (list_id, names.normalize(name))
            if key in seen:
                out.append(
                    sheet.finding(
                        "duplicate-name-in-list",
                        header,
                        row,
                        {"name": name, "list_id": list_id, "first_row": seen[key]},
                    )
                )
            else:
                seen[key] = row
    return out
