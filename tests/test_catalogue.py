"""The findings' catalogue: every message rendered once with its exact text (the other tests
assert codes and parameters), and every finding code and schema check accounted for."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from compiler.workbook import schemas
from compiler.workbook.catalogue import MESSAGES, render
from compiler.workbook.findings import WARNING, Finding, as_json, as_text
from compiler.workbook.validate import CHECK_CODES

REOPEN = "Open it in Excel and use File > Save As > Excel Workbook (.xlsx)."
TOO_LARGE = {
    "title": "Drug Lists",
    "rows": 1_048_576,
    "last_column": "XFD",
    "max_rows": 250_000,
    "max_columns": 200,
    "max_cells": 5_000_000,
}
LIMITS_HEADERS = [
    "Policy ID",
    "Product ID",
    "Product",
    "Strength and Form",
    "Retail Max Qty",
    "Home Delivery Max Qty",
    "Unit",
    "Footnote",
]
TYPE_NDC = (
    "Type the package NDC with the hyphens printed on its label (4-4-2, 5-3-2 or 5-4-1, such as "
    "47335-475-83), or as 11 digits (47335047583)."
)
LOST_ZEROS = (
    " The cell holds a number, and a number loses its leading zeros: format the Code column as "
    "Text and type the code again."
)
REASON = (
    "Over the Retail limit of 60 tablets per Rx and no override criterion is met: rejects with "
    "code 76."
)

# (code, params, message): each template once, and each branch of a template that has branches.
CASES = [
    (
        "cannot-open-file",
        {"path": "/tmp/x.xlsx", "reason": "No such file or directory"},
        "Cannot open /tmp/x.xlsx: No such file or directory.",
    ),
    (
        "cannot-read-file",
        {"path": "/tmp/x.xlsx", "reason": "Permission denied"},
        "Cannot read /tmp/x.xlsx: Permission denied.",
    ),
    (
        "file-too-large",
        {"size": 60_000_000, "most": 50_000_000},
        (
            "The file is 60.0 MB; the most dqm reads is 50 MB. Remove unused sheets, images and formatting "
            "and save it again."
        ),
    ),
    (
        "encrypted-workbook",
        {},
        (
            "This workbook is password-protected (encrypted), so dqm cannot read it. Remove the password "
            "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save it as an Excel "
            "Workbook (.xlsx)."
        ),
    ),
    (
        "legacy-workbook",
        {},
        f"This file is an old Excel 97-2003 workbook (.xls) or another Office file, not an .xlsx. {REOPEN}",
    ),
    (
        "empty-file",
        {"file": "empty.xlsx"},
        "'empty.xlsx' is empty (0 bytes). Save the workbook again and use that file.",
    ),
    (
        "not-a-workbook",
        {"file": "claims.xlsx"},
        f"'claims.xlsx' is not an Excel workbook (.xlsx). {REOPEN}",
    ),
    (
        "damaged-file",
        {"file": "lying.xlsx"},
        (
            "'lying.xlsx' is damaged or incomplete (it may have been cut off while copying). Copy it again, "
            "or open it in Excel and save it again."
        ),
    ),
    (
        "too-many-parts",
        {"file": "parts.xlsx", "parts": 10_018},
        (
            "'parts.xlsx' holds 10,018 parts; a workbook needs far fewer, so this is not one dqm opens. Open "
            "it in Excel and save it again."
        ),
    ),
    (
        "unpacks-too-large",
        {"file": "declared.xlsx", "size": 4_295_042_434, "most": 200_000_000},
        (
            "'declared.xlsx' unpacks to 4,295 MB; the most dqm reads is 200 MB. Remove unused sheets, rows "
            "and images."
        ),
    ),
    (
        "zip-bomb",
        {"file": "bomb.xlsx", "part": "xl/media/padding.xml", "ratio": 1028},
        (
            "'bomb.xlsx' contains a part (xl/media/padding.xml) that unpacks 1,028 times larger than it is "
            "stored, as a zip bomb does; dqm does not open it."
        ),
    ),
    (
        "zip-not-workbook",
        {"file": "archive.xlsx"},
        f"'archive.xlsx' is a zip file but not an Excel workbook (.xlsx). {REOPEN}",
    ),
    (
        "macros",
        {},
        (
            "This workbook contains macros (.xlsm). dqm never runs macros: save a copy as an Excel Workbook "
            "(.xlsx) (File > Save As) and use that."
        ),
    ),
    (
        "xml-declarations",
        {"file": "laughs.xlsx", "part": "xl/sharedStrings.xml"},
        (
            "'laughs.xlsx' contains XML declarations (xl/sharedStrings.xml) that Excel never writes and that "
            "can be used to attack the reader; dqm does not open it. Open it in Excel and save it again."
        ),
    ),
    (
        "unreadable-workbook",
        {"error": "Zip error"},
        (
            "This file could not be read as an Excel workbook (Zip error). Open it in Excel and save it again "
            "as an Excel Workbook (.xlsx)."
        ),
    ),
    (
        "missing-sheet",
        {"sheet": "Limits", "headers": LIMITS_HEADERS},
        (
            "The workbook has no sheet named 'Limits'. Add a sheet named 'Limits' with the headers Policy ID, "
            "Product ID, Product, Strength and Form, Retail Max Qty, Home Delivery Max Qty, Unit, "
            "Footnote in row 1."
        ),
    ),
    (
        "hidden-sheet",
        {"title": "Drug Lists"},
        "Sheet 'Drug Lists' is hidden; it is still read. Unhide it so reviewers see what the ruleset uses.",
    ),
    (
        "sheet-too-large",
        TOO_LARGE,
        (
            "Sheet 'Drug Lists' reaches row 1,048,576 and column XFD; the most dqm reads is 250,000 rows, 200 "
            "columns and 5,000,000 cells. Delete the unused rows and columns below and to the right of your "
            "data (select them, right-click, Delete) and save again."
        ),
    ),
    (
        "unreadable-sheet",
        {"title": "Limits", "error": "syntax error"},
        (
            "Sheet 'Limits' could not be read (syntax error). Copy its cells into a new sheet and save the "
            "workbook again."
        ),
    ),
    (
        "duplicate-header",
        {"header": "Met When", "other_column": "C"},
        "'Met When' is also the header of column C. Delete or rename one of the two columns.",
    ),
    (
        "headers-not-in-row-1",
        {"sheet": "Ruleset", "row": 2},
        (
            "The headers of 'Ruleset' are in row 2, but dqm reads them from row 1. Delete row 1 (select the "
            "row numbers, right-click, Delete) so the headers are in row 1."
        ),
    ),
    (
        "headers-not-in-row-1",
        {"sheet": "Limits", "row": 4},
        (
            "The headers of 'Limits' are in row 4, but dqm reads them from row 1. Delete rows 1 to 3 (select "
            "the row numbers, right-click, Delete) so the headers are in row 1."
        ),
    ),
    (
        "misnamed-header",
        {"text": "Retail Max Qtty", "header": "Retail Max Qty"},
        "The header 'Retail Max Qtty' is not one dqm knows; rename it to 'Retail Max Qty'.",
    ),
    (
        "missing-column",
        {"header": "Unit"},
        "Column 'Unit' is missing. Type 'Unit' as a header in row 1 and fill it in.",
    ),
    (
        "unknown-column",
        {"text": "Reviewer", "sheet": "Limits", "headers": LIMITS_HEADERS},
        (
            "Column 'Reviewer' is not part of the 'Limits' sheet and is ignored. Expected headers: Policy ID, "
            "Product ID, Product, Strength and Form, Retail Max Qty, Home Delivery Max Qty, "
            "Unit, Footnote."
        ),
    ),
    (
        "merged-cells",
        {"top": "A2", "bottom": "A3"},
        (
            "Cells A2:A3 are merged, so only A2 keeps its value. Unmerge them (Home > Merge & Center) and type "
            "the value in every row."
        ),
    ),
    (
        "formula-without-value",
        {"formula": "=3*E3"},
        (
            "This cell has the formula =3*E3 but no saved value. Type the value itself, or open the workbook "
            "in Excel and save it so the result is stored."
        ),
    ),
    (
        "cell-shows-error",
        {"error": "#DIV/0!"},
        (
            "This cell shows the error #DIV/0! instead of a value. Fix the formula that makes it, or type the "
            "value itself."
        ),
    ),
    (
        "not-a-number",
        {"header": "Retail Max Qty", "example": "60"},
        "'Retail Max Qty' must be a number. Type a number such as 60, in digits.",
    ),
    (
        "not-a-date",
        {"header": "Review Date", "example": "12/08/2025"},
        (
            "'Review Date' must be a date. Type it as a date Excel recognises, such as 12/08/2025, and check "
            "the cell is not formatted as Text."
        ),
    ),
    (
        "required",
        {"header": "Unit", "example": "tablets"},
        "'Unit' is required. Type a value such as 'tablets'.",
    ),
    (
        "not-an-id",
        {"header": "Ruleset ID", "example": "oncology-dqm"},
        (
            "'Ruleset ID' must be a short id of lowercase letters, digits and hyphens, such as 'oncology-dqm'. "
            "Type it without spaces or capitals."
        ),
    ),
    (
        "id-too-long",
        {"header": "Ruleset ID", "example": "oncology-dqm", "most": 64},
        (
            "'Ruleset ID' is longer than 64 characters; an id names files in the exports, so keep "
            "it short, such as 'oncology-dqm'."
        ),
    ),
    (
        "not-one-of",
        {"header": "Channel", "example": "Retail", "allowed": ["Retail", "Home Delivery"]},
        "'Channel' must be one of: 'Retail', 'Home Delivery'. Type one of those.",
    ),
    (
        "below-minimum",
        {"header": "Approval Duration (months)", "example": "12", "bound": 1},
        "'Approval Duration (months)' must be at least 1. Type a number such as 12.",
    ),
    (
        "not-greater-than",
        {"header": "Retail Max Qty", "example": "60", "bound": 0},
        "'Retail Max Qty' must be greater than 0. Type a number such as 60.",
    ),
    (
        "not-whole-number",
        {"header": "Approval Duration (months)", "example": "12"},
        "'Approval Duration (months)' must be a whole number. Type a number such as 12.",
    ),
    (
        "not-unique",
        {
            "header": "Product ID",
            "example": "imatinib-400mg-tab",
            "value": "imatinib-400mg-tab",
            "first_row": 3,
        },
        (
            "'Product ID' 'imatinib-400mg-tab' is already used in row 3; each one must be unique. Type a "
            "different one, or delete the repeated row."
        ),
    ),
    (
        "check-failed",
        {"header": "Unit", "example": "tablets", "check": "str_length"},
        "'Unit' failed the check str_length. Type a value such as 'tablets'.",
    ),
    (
        "ruleset-row-missing",
        {"example": "oncology-dqm"},
        (
            "The Ruleset sheet needs exactly one row. Type the ruleset's id in row 2, such as 'oncology-dqm', "
            "and its Title."
        ),
    ),
    (
        "ruleset-extra-row",
        {"first_row": 2},
        "The Ruleset sheet has one row only; row 2 is it. Delete this row.",
    ),
    (
        "unknown-reference",
        {
            "id": "imatinib-per-rxx",
            "header": "Policy ID",
            "target": "Policies",
            "known": ["imatinib-per-rx"],
            "more": 0,
            "close": "imatinib-per-rx",
        },
        (
            "'imatinib-per-rxx' is not a Policy ID on the Policies sheet. Did you mean 'imatinib-per-rx'? "
            "Type it exactly as it is there."
        ),
    ),
    (
        "unknown-reference",
        {
            "id": "inducer",
            "header": "Criterion ID",
            "target": "Criteria",
            "known": ["strong-cyp3a4-inducer"],
            "more": 0,
        },
        (
            "'inducer' is not a Criterion ID on the Criteria sheet. Type one of: 'strong-cyp3a4-inducer', or "
            "add it there first."
        ),
    ),
    (
        "unknown-reference",
        {
            "id": "x",
            "header": "Product ID",
            "target": "Limits",
            "known": ["a", "b", "c", "d", "e"],
            "more": 2,
        },
        (
            "'x' is not a Product ID on the Limits sheet. Type one of: 'a', 'b', 'c', 'd', 'e', …, or add it "
            "there first."
        ),
    ),
    (
        "unknown-reference",
        {"id": "x", "header": "Product ID", "target": "Limits", "known": [], "more": 0},
        "'x' is not a Product ID on the Limits sheet. Add that row there first.",
    ),
    (
        "drug-list-required",
        {
            "header": "Drug List ID",
            "met_when": "Concomitant drug on list",
            "known": ["strong-cyp3a4-inducers"],
            "more": 0,
        },
        (
            "'Drug List ID' is required when Met When is 'Concomitant drug on list'. Type the id of a list on "
            "the Drug Lists sheet. Type one of: 'strong-cyp3a4-inducers', or add it there first."
        ),
    ),
    (
        "drug-list-not-used",
        {"met_when": "Concomitant drug on list"},
        (
            "An 'Attested' criterion uses no drug list. Clear this cell, or set Met When to 'Concomitant drug "
            "on list'."
        ),
    ),
    (
        "duplicate-override",
        {"product": "imatinib-400mg-tab", "criterion": "strong-cyp3a4-inducer", "first_row": 2},
        (
            "'imatinib-400mg-tab' already has an override for 'strong-cyp3a4-inducer' in row 2. Delete this "
            "row, or change the criterion."
        ),
    ),
    (
        "override-not-above-limit",
        {
            "product": "imatinib-400mg-tab",
            "header": "Home Delivery Max Qty",
            "limit": 1080,
            "limit_row": 3,
        },
        (
            "An override must allow more than the limit: imatinib-400mg-tab's Home Delivery Max Qty is "
            "1080 (Limits row 3). Type a number greater than 1080."
        ),
    ),
    (
        "home-delivery-below-retail",
        {"home_delivery": 30, "retail": 60, "product": "imatinib-400mg-tab"},
        (
            "Home delivery (30) is below retail (60) for imatinib-400mg-tab; home delivery usually allows a "
            "longer supply. Check the number."
        ),
    ),
    (
        "days-out-of-range",
        {"header": "Retail Days", "example": "30", "most": 365},
        (
            "'Retail Days' must be a whole number of days from 1 to 365. Type the days the maximum "
            "covers, such as 30 (for 60 tablets per 30 days, 30)."
        ),
    ),
    (
        "days-required",
        {
            "header": "Retail Days",
            "product": "sumatriptan-100mg-tab",
            "policy": "sumatriptan-per-days",
            "example": None,
        },
        (
            "'sumatriptan-100mg-tab' is limited Per Days (policy 'sumatriptan-per-days'), so "
            "'Retail Days' is required. Type the number of days its maximum covers: for 60 tablets "
            "per 30 days, type 30 here and 60 as the maximum."
        ),
    ),
    (
        "days-required",
        {
            "header": "Home Delivery Days",
            "product": "sumatriptan-100mg-tab",
            "policy": "sumatriptan-per-days",
            "example": 90,
        },
        (
            "'sumatriptan-100mg-tab' is limited Per Days (policy 'sumatriptan-per-days'), so "
            "'Home Delivery Days' is required. Type 90, the product's Home Delivery Days on Limits "
            "(an override counts over its product's window)."
        ),
    ),
    (
        "days-on-per-rx",
        {"header": "Retail Days", "product": "imatinib-400mg-tab", "policy": "imatinib-per-rx"},
        (
            "'imatinib-400mg-tab' is limited Per Rx (policy 'imatinib-per-rx': a limit per "
            "prescription), so 'Retail Days' stays empty. Clear this cell; or, if the limit is over "
            "a window of days, set the policy's Policy Type to 'Per Days' on the Policies sheet."
        ),
    ),
    (
        "override-window-differs",
        {"product": "sumatriptan-100mg-tab", "header": "Retail Days", "days": 30, "limit_row": 4},
        (
            "An override counts over its product's window, and 'sumatriptan-100mg-tab' has Retail "
            "Days 30 (Limits row 4). Type 30."
        ),
    ),
    (
        "product-not-named",
        {"headers": ["Product ID", "NDC", "RxCUI"]},
        (
            "This test claim names no product. Type its Product ID (from Limits), or an NDC or "
            "RxCUI from Product Codes."
        ),
    ),
    (
        "codes-name-other-product",
        {
            "header": "NDC",
            "product": "imatinib-100mg-tab",
            "other": "Product ID",
            "named": "imatinib-400mg-tab",
        },
        (
            "NDC names 'imatinib-100mg-tab', but Product ID names 'imatinib-400mg-tab'; a test "
            "claim names one product. Correct one of the two, or clear it."
        ),
    ),
    (
        "member-required",
        {"product": "sumatriptan-100mg-tab", "header": "Member ID"},
        (
            "'sumatriptan-100mg-tab' is limited Per Days, so its test claims need a Member ID: "
            "earlier rows of the same member and product count toward later ones. Type one, such "
            "as M-1001."
        ),
    ),
    (
        "policy-without-history",
        {"policy": "imatinib-per-rx", "review_date": dt.date(2025, 12, 8)},
        (
            "Policy 'imatinib-per-rx' has no row on the History sheet. Add one with Policy ID "
            "'imatinib-per-rx' and Review Date 12/08/2025."
        ),
    ),
    (
        "review-date-differs",
        {
            "policy": "imatinib-per-rx",
            "history_date": dt.date(2025, 12, 8),
            "review_date": dt.date(2026, 1, 5),
        },
        (
            "The latest History row for 'imatinib-per-rx' has Review Date 12/08/2025, but this cell says "
            "01/05/2026. Make them the same date: type the new review's date here and add its row to History."
        ),
    ),
    (
        "duplicate-name-in-list",
        {"name": "Dilantin", "list_id": "strong-cyp3a4-inducers", "first_row": 3},
        (
            "'Dilantin' is already on list 'strong-cyp3a4-inducers' in row 3. A name appears once per list: "
            "delete it here or there."
        ),
    ),
    (
        "ambiguous-ndc",
        {"code": "4733547583", "typed_as_number": False},
        (
            "NDC '4733547583' has 10 digits without hyphens, so which segment takes the leading "
            "zero of its 11-digit form cannot be known. " + TYPE_NDC
        ),
    ),
    (
        "ambiguous-ndc",
        {"code": "4733547583", "typed_as_number": True},
        (
            "NDC '4733547583' has 10 digits without hyphens, so which segment takes the leading "
            "zero of its 11-digit form cannot be known. " + TYPE_NDC + LOST_ZEROS
        ),
    ),
    (
        "malformed-ndc",
        {"code": "47335-475-8B", "problem": "not-digits", "digits": 0, "typed_as_number": False},
        "NDC '47335-475-8B' has characters other than digits and hyphens. " + TYPE_NDC,
    ),
    (
        "malformed-ndc",
        {"code": "93015001", "problem": "digit-count", "digits": 8, "typed_as_number": True},
        "NDC '93015001' has 8 digits; a package NDC has 10 or 11. " + TYPE_NDC + LOST_ZEROS,
    ),
    (
        "malformed-ndc",
        {
            "code": "473-35475-83",
            "problem": "hyphen-layout",
            "digits": 10,
            "typed_as_number": False,
        },
        "NDC '473-35475-83' is not written as 4-4-2, 5-3-2, 5-4-1 or 5-4-2. " + TYPE_NDC,
    ),
    (
        "malformed-rxcui",
        {"code": "RX403879"},
        (
            "RxCUI 'RX403879' must be digits only, such as 403879 (imatinib 400 MG Oral Tablet). "
            "Type the RxNorm concept's number."
        ),
    ),
    (
        "duplicate-code",
        {
            "system": "NDC",
            "code": "47335047583",
            "shown": "47335-0475-83",
            "first_row": 10,
            "product": "imatinib-400mg-tab",
        },
        (
            "NDC '47335047583' is the same code as row 10 (NDC 47335-0475-83, for "
            "'imatinib-400mg-tab'); one code names one product in the whole workbook. Delete one "
            "of the two rows, or correct the code."
        ),
    ),
    (
        "history-row-missing",
        {"version": 3, "changes": ["a: x 1 → 2"], "more": 0},
        (
            "The rules differ from the published v3 (a: x 1 → 2), but History has no new row. Add a row here "
            "for each policy you changed: Policy ID, Type of Revision, Summary of Changes and Review Date, and "
            "give that policy the same Review Date on the Policies sheet."
        ),
    ),
    (
        "history-row-missing",
        {"version": 3, "changes": ["a", "b", "c"], "more": 1},
        (
            "The rules differ from the published v3 (a; b; c; …), but History has no new row. Add a row here "
            "for each policy you changed: Policy ID, Type of Revision, Summary of Changes and Review Date, and "
            "give that policy the same Review Date on the Policies sheet."
        ),
    ),
    (
        "comma-in-aliases",
        {"value": "Mycobutin, Ansatipine", "fixed": "Mycobutin; Ansatipine"},
        (
            "Also Known As separates names with ';', not ','. As typed, 'Mycobutin, Ansatipine' "
            "is one name, which no claim spells. Type 'Mycobutin; Ansatipine'."
        ),
    ),
    (
        "name-too-generic",
        {"name": "tablet"},
        (
            "'tablet' is only a dosage form, unit or number, not a drug's name: every claim drug "
            "written with it (such as 'Gleevec 400 mg tablet') would match this list. Type the "
            "drug's own name or brand, or delete it."
        ),
    ),
    (
        "fractional-count",
        {
            "product": "imatinib-400mg-tab",
            "unit": "tablets",
            "header": "Retail Max Qty",
            "value": 75.5,
            "whole": 75,
        },
        (
            "imatinib-400mg-tab is counted in tablets, which are dispensed whole, but its Retail "
            "Max Qty is 75.5. Type a whole number, such as 75."
        ),
    ),
    (
        "fractional-count",
        {
            "product": "x",
            "unit": "capsules",
            "header": "Retail Max Qty",
            "value": 0.5,
            "whole": 0,
        },
        (
            "x is counted in capsules, which are dispensed whole, but its Retail Max Qty "
            "is 0.5. Type a whole number, such as 1."
        ),
    ),
    (
        "only-optional-cells",
        {
            "sheet": "Limits",
            "filled": ["Footnote"],
            "required": [
                "Policy ID",
                "Product ID",
                "Product",
                "Strength and Form",
                "Retail Max Qty",
                "Home Delivery Max Qty",
                "Unit",
            ],
        },
        (
            "This row has only 'Footnote' filled in; a row on Limits also needs 'Policy ID', "
            "'Product ID', 'Product', 'Strength and Form', 'Retail Max Qty', 'Home "
            "Delivery Max Qty' and 'Unit'. If it belongs to the row above, move it into "
            "that row's Footnote cell; otherwise fill in the rest, or delete this row."
        ),
    ),
    (
        "only-optional-cells",
        {
            "sheet": "Tests",
            "filled": ["Concomitant Drugs", "Notes"],
            "required": ["Test ID", "Product ID"],
        },
        (
            "This row has only 'Concomitant Drugs' and 'Notes' filled in; a row on Tests also "
            "needs 'Test ID' and 'Product ID'. If it belongs to the row above, move it into that "
            "row's Concomitant Drugs cell; otherwise fill in the rest, or delete this row."
        ),
    ),
    (
        "retirement-not-in-history",
        {
            "policy": "imatinib-per-rx",
            "review_date": dt.date(2026, 12, 1),
            "type_of_revision": "Annual Revision",
        },
        (
            "Policy 'imatinib-per-rx' is Retired, but its latest History row (Annual Revision, "
            "12/01/2026) does not record the retirement. Add a History row for 'imatinib-per-rx' "
            "with Type of Revision 'Retirement', why in Summary of Changes, and the date it "
            "stops applying as Review Date (and as its Review Date here)."
        ),
    ),
    (
        "history-row-removed",
        {
            "policy": "imatinib-per-rx",
            "type_of_revision": "Annual Revision",
            "summary_of_changes": "No criteria changes.",
            "review_date": dt.date(2024, 12, 17),
            "version": 3,
        },
        (
            "The History row of 'imatinib-per-rx' dated 12/17/2024 (Annual Revision: No criteria "
            "changes.) is published in v3 but is missing here. History is the audit trail: a "
            "published row is never removed. Type it back as it was."
        ),
    ),
    (
        "history-row-edited",
        {
            "policy": "imatinib-per-rx",
            "header": "Summary of Changes",
            "published": "No criteria changes.",
            "version": 3,
        },
        (
            "This History row of 'imatinib-per-rx' is published in v3 with Summary of Changes "
            "'No criteria changes.'. History is the audit trail: published rows are never "
            "edited. Type it back as it was, and add a new row for the new revision."
        ),
    ),
    (
        "history-row-edited",
        {
            "policy": "imatinib-per-rx",
            "header": "Review Date",
            "published": dt.date(2024, 12, 17),
            "version": 3,
        },
        (
            "This History row of 'imatinib-per-rx' is published in v3 with Review Date "
            "'12/17/2024'. History is the audit trail: published rows are never edited. Type it "
            "back as it was, and add a new row for the new revision."
        ),
    ),
    (
        "history-row-backdated",
        {
            "policy": "imatinib-per-rx",
            "review_date": dt.date(2020, 1, 15),
            "latest": dt.date(2025, 12, 8),
            "version": 3,
        },
        (
            "This new History row is dated 01/15/2020, before the latest published revision of "
            "'imatinib-per-rx' (12/08/2025, in v3). A new revision comes after the ones already "
            "published: type its real date (usually today's)."
        ),
    ),
    (
        "history-date-too-far-ahead",
        {"review_date": dt.date(2207, 12, 1), "latest_allowed": dt.date(2027, 12, 1)},
        (
            "12/01/2207 is more than a year ahead (the latest date accepted today is "
            "12/01/2027). Type the date of the review, such as today's; check the year."
        ),
    ),
    (
        "new-ruleset-in-exports",
        {"ruleset_id": "oncology-dqm-2", "exports": "./exports", "published": ["oncology-dqm"]},
        (
            "No ruleset 'oncology-dqm-2' is published in ./exports, which holds 'oncology-dqm': "
            "compiling starts 'oncology-dqm-2' at v1, apart from their history. If you meant to "
            "revise one of those, type its Ruleset ID here; if you meant another folder, give "
            "--exports."
        ),
    ),
    (
        "tests-decision-mismatch",
        {"expected": "Approve", "decided": "deny", "approved": 0, "reason": REASON},
        f"Expected Approve, but dqm decides Deny: {REASON} Correct the expectation or the rules.",
    ),
    (
        "tests-decision-mismatch",
        {"expected": "Deny", "decided": "approve", "approved": 1080, "reason": "Within the limit."},
        (
            "Expected Deny, but dqm decides Approve (approved 1,080): Within the limit. Correct the "
            "expectation or the rules."
        ),
    ),
    (
        "tests-decision-mismatch",
        {
            "expected": "Approve",
            "decided": "not_applicable",
            "approved": None,
            "reason": "No policy limits x.",
        },
        (
            "Expected Approve, but dqm decides Not Applicable: No policy limits x. Correct the expectation or "
            "the rules."
        ),
    ),
    (
        "tests-quantity-mismatch",
        {"expected": 120, "approved": 90, "reason": "Over."},
        "Expected 120 approved, but dqm approves 90: Over. Correct the expectation or the rules.",
    ),
    (
        "tests-quantity-mismatch",
        {"expected": 2.5, "approved": None, "reason": "Invalid."},
        "Expected 2.5 approved, but dqm approves nothing: Invalid. Correct the expectation or the rules.",
    ),
    (
        "retroactive-effective-date",
        {
            "version": 5,
            "effective_date": dt.date(2025, 12, 8),
            "latest_review": dt.date(2026, 12, 7),
            "before_review": True,
            "previous_version": 4,
            "previous_date": dt.date(2025, 12, 8),
            "typed": True,
        },
        (
            "v5 takes effect on 12/08/2025, before its latest History Review Date (12/07/2026) "
            "and on or before v4's effective date (12/08/2025): it decides every claim dated "
            "from 12/08/2025 on, those v4 decided included. A correction may apply from an "
            "earlier date; if this is not one, clear this cell (v5 then takes effect on "
            "12/07/2026), or type the date it takes effect."
        ),
    ),
    (
        "product-removed",
        {
            "product_id": "imatinib-100mg-tab",
            "product": "Gleevec® (imatinib tablets, generic), 100 mg tablets",
            "version": 4,
        },
        (
            "'imatinib-100mg-tab' (Gleevec® (imatinib tablets, generic), 100 mg tablets) is "
            "limited by the published v4 but has no row on Limits: once this version takes "
            "effect, its claims decide not_applicable, with no quantity limit. To stop limiting "
            "it, keep its row with Status 'Retired' and say so in a History row; if its row was "
            "deleted by mistake, type it back."
        ),
    ),
    (
        "code-removed",
        {
            "system": "RxCUI",
            "code": "403879",
            "product_id": "imatinib-400mg-tab",
            "version": 4,
        },
        (
            "RxCUI 403879 names 'imatinib-400mg-tab' in the published v4 but is not on Product "
            "Codes: once this version takes effect, a claim naming the product by that code "
            "alone decides not_applicable, with no quantity limit. Type its row back, unless the "
            "code no longer names that product."
        ),
    ),
    (
        "unused-drug-list",
        {"list_id": "strong-cyp3a4-inducer", "rows": [10], "close": "strong-cyp3a4-inducers"},
        (
            "No criterion uses drug list 'strong-cyp3a4-inducer' (row 10), so no claim is ever "
            "matched against it. Did you mean 'strong-cyp3a4-inducers'? Type that list's id "
            "exactly on this row, or delete this row."
        ),
    ),
    (
        "second-name-in-drug",
        {
            "drug": "enzalutamide (Xtandi)",
            "name": "enzalutamide",
            "others": ["Xtandi"],
            "aliases": "Xtandi",
            "added": ["Xtandi"],
        },
        (
            "'enzalutamide (Xtandi)' holds a second name, so as typed it matches only a claim "
            "drug written with both. Type 'enzalutamide' here, and the other name in Also Known "
            "As: 'Xtandi'."
        ),
    ),
]


@pytest.mark.parametrize("code, params, message", CASES, ids=[c[0] for c in CASES])
def test_message_text(code, params, message):
    assert render(code, params) == message


def test_every_catalogue_entry_is_rendered_above():
    assert sorted({code for code, _, _ in CASES}) == sorted(MESSAGES)


def test_codes_are_kebab_case():
    assert [
        c for c in MESSAGES if c != c.lower() or not all(p.isalnum() for p in c.split("-"))
    ] == []


def test_every_schema_check_has_a_code_of_its_own():
    # check-failed is for a check added to schemas.py without a message: none is today.
    names = {
        check.name
        for sheet in schemas.SHEETS
        for col in schemas.columns(sheet).values()
        for check in col.checks
    }
    assert names == set(CHECK_CODES)
    assert set(CHECK_CODES.values()) <= set(MESSAGES)


def test_a_finding_with_an_unknown_code_fails_where_it_is_made():
    with pytest.raises(
        ValueError, match="no message in the catalogue for finding code 'not-a-numbr'"
    ):
        Finding("not-a-numbr", "Limits", "E3", "Retail Max Qty", "sixty")


def test_finding_renders_its_message_and_its_json_carries_code_and_params():
    f = Finding(
        "policy-without-history",
        "Policies",
        "D2",
        "Review Date",
        dt.date(2025, 12, 8),
        {"policy": "imatinib-per-rx", "review_date": dt.date(2025, 12, 8)},
    )
    warning = Finding(
        "hidden-sheet", "Drug Lists", None, None, None, {"title": "Drug Lists"}, WARNING
    )
    assert f.message == CASES[[c[0] for c in CASES].index("policy-without-history")][2]
    assert (f.where, warning.where) == ("Policies!D2", "Sheet Drug Lists")
    assert json.loads(json.dumps(as_json([warning, f]))) == {
        "errors": [
            {
                "code": "policy-without-history",
                "sheet": "Policies",
                "cell": "D2",
                "column": "Review Date",
                "value": "2025-12-08",
                "message": f.message,
                "params": {"policy": "imatinib-per-rx", "review_date": "2025-12-08"},
            }
        ],
        "warnings": [
            {
                "code": "hidden-sheet",
                "sheet": "Drug Lists",
                "cell": None,
                "column": None,
                "value": None,
                "message": warning.message,
                "params": {"title": "Drug Lists"},
            }
        ],
    }
    assert as_text([warning, f]) == (
        f"ERROR Policies!D2 (found: '12/08/2025'): {f.message}\n"
        f"WARNING Sheet Drug Lists: {warning.message}"
    )
