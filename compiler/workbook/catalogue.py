"""Every finding's message, by code: the one place their wording lives.

A finding (findings.py) carries a stable kebab-case code and the parameters its message needs;
its text is rendered here. A template is a `str.format` string or, where the wording depends on
the values (a list to join, a choice of hint), a function of the parameters. This module imports
only the vocabulary and the code rules (plain Python), so reading a file's bytes (container.py, raw.py) can make
findings before pandas or pandera is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import codes
from ..vocabulary import format_date as _d
from ..vocabulary import format_number as _n
from .catalogue_changes import (
    code_removed,
    product_removed,
    retroactive_effective_date,
    second_name_in_drug,
    unused_drug_list,
)

Template = str | Callable[..., str]

_REOPEN_AS_XLSX = "Open it in Excel and use File > Save As > Excel Workbook (.xlsx)."
_CORRECT_IT = "Correct the expectation or the rules."


def _hint(known: list[str], more: int = 0, close: str | None = None) -> str:
    """What to type instead of an id that is not on the sheet it names."""
    if close is not None:
        return f"Did you mean {close!r}? Type it exactly as it is there."
    if not known:
        return "Add that row there first."
    shown = ", ".join(repr(k) for k in known) + (", …" if more else "")
    return f"Type one of: {shown}, or add it there first."


def _file_too_large(size: int, most: int) -> str:
    return (
        f"The file is {size / 1e6:.1f} MB; the most dqm reads is {most / 1e6:.0f} MB. Remove "
        "unused sheets, images and formatting and save it again."
    )


def _unpacks_too_large(file: str, size: int, most: int) -> str:
    return (
        f"'{file}' unpacks to {size / 1e6:,.0f} MB; the most dqm reads is {most / 1e6:.0f} MB. "
        "Remove unused sheets, rows and images."
    )


def _missing_sheet(sheet: str, headers: list[str]) -> str:
    return (
        f"The workbook has no sheet named '{sheet}'. Add a sheet named '{sheet}' with the headers "
        f"{', '.join(headers)} in row 1."
    )


def _unknown_column(text: str, sheet: str, headers: list[str]) -> str:
    return (
        f"Column '{text}' is not part of the '{sheet}' sheet and is ignored. Expected headers: "
        f"{', '.join(headers)}."
    )


def _not_one_of(header: str, example: str, allowed: list[str]) -> str:
    return f"'{header}' must be one of: {', '.join(repr(a) for a in allowed)}. Type one of those."


def _headers_not_in_row_1(sheet: str, row: int) -> str:
    above = "row 1" if row == 2 else f"rows 1 to {row - 1}"
    return (
        f"The headers of '{sheet}' are in row {row}, but dqm reads them from row 1. Delete {above} "
        "(select the row numbers, right-click, Delete) so the headers are in row 1."
    )


def _unknown_reference(
    id: str, header: str, target: str, known: list[str], more: int = 0, close: str | None = None
) -> str:
    return f"{id!r} is not a {header} on the {target} sheet. {_hint(known, more, close)}"


def _drug_list_required(header: str, met_when: str, known: list[str], more: int = 0) -> str:
    return (
        f"'{header}' is required when Met When is '{met_when}'. Type the id of a list on the "
        f"Drug Lists sheet. {_hint(known, more)}"
    )


def _history_row_missing(version: int, changes: list[str], more: int = 0) -> str:
    shown = "; ".join(changes) + ("; …" if more else "")
    return (
        f"The rules differ from the published v{version} ({shown}), but History has no new "
        "row. Add a row here for each policy you changed: Policy ID, Type of Revision, Summary "
        "of Changes and Review Date, and give that policy the same Review Date on the Policies "
        "sheet."
    )


def _tests_decision_mismatch(
    expected: str, decided: str, approved: float | None, reason: str
) -> str:
    said = f"Expected {expected}, but dqm decides {decided.replace('_', ' ').title()}"
    if decided in ("approve", "override"):
        said += f" (approved {_n(approved)})"
    return f"{said}: {reason} {_CORRECT_IT}"


def _tests_quantity_mismatch(expected: float, approved: float | None, reason: str) -> str:
    got = "nothing" if approved is None else _n(approved)
    return f"Expected {_n(expected)} approved, but dqm approves {got}: {reason} {_CORRECT_IT}"


_TYPE_NDC = (
    "Type the package NDC with the hyphens printed on its label (4-4-2, 5-3-2 or 5-4-1, such as "
    "47335-475-83), or as 11 digits (47335047583)."
)
_LOST_ZEROS = (
    " The cell holds a number, and a number loses its leading zeros: format the Code column as "
    "Text and type the code again."
)


def _ambiguous_ndc(code: str, typed_as_number: bool = False) -> str:
    return (
        f"NDC {code!r} has 10 digits without hyphens, so which segment takes the leading zero of "
        f"its 11-digit form cannot be known. {_TYPE_NDC}" + (_LOST_ZEROS if typed_as_number else "")
    )


def _malformed_ndc(code: str, problem: str, digits: int, typed_as_number: bool = False) -> str:
    if problem == codes.NOT_DIGITS:
        wrong = "has characters other than digits and hyphens"
    elif problem == codes.DIGIT_COUNT:
        wrong = f"has {digits} digit{'s' if digits != 1 else ''}; a package NDC has 10 or 11"
    else:
        wrong = f"is not written as {', '.join(codes.NDC_LAYOUTS[:-1])} or {codes.NDC_LAYOUTS[-1]}"
    return f"NDC {code!r} {wrong}. {_TYPE_NDC}" + (_LOST_ZEROS if typed_as_number else "")


def _only_optional_cells(sheet: str, filled: list[str], required: list[str]) -> str:
    return (
        f"This row has only {_and(filled)} filled in; a row on {sheet} also needs "
        f"{_and(required)}. If it belongs to the row above, move it into that row's "
        f"{filled[0]} cell; otherwise fill in the rest, or delete this row."
    )


def _and(items: list[str]) -> str:
    quoted = [f"'{i}'" for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _fractional_count(product: str, unit: str, header: str, value: float, whole: int) -> str:
    return (
        f"{product} is counted in {unit}, which are dispensed whole, but its {header} is "
        f"{_n(value)}. Type a whole number, such as {_n(max(whole, 1))}."
    )


def _days_required(header: str, product: str, policy: str, example=None) -> str:
    typed = (
        f"Type {_n(example)}, the product's {header} on Limits (an override counts over its "
        "product's window)."
        if example is not None
        else "Type the number of days its maximum covers: for 60 tablets per 30 days, type 30 "
        "here and 60 as the maximum."
    )
    return (
        f"{product!r} is limited Per Days (policy {policy!r}), so '{header}' is required. {typed}"
    )


def _days_on_per_rx(header: str, product: str, policy: str) -> str:
    return (
        f"{product!r} is limited Per Rx (policy {policy!r}: a limit per prescription), so "
        f"'{header}' stays empty. Clear this cell; or, if the limit is over a window of days, set "
        f"the policy's Policy Type to 'Per Days' on the Policies sheet."
    )


def _policy_without_history(policy: str, review_date) -> str:
    return (
        f"Policy {policy!r} has no row on the History sheet. Add one with Policy ID {policy!r} "
        f"and Review Date {_d(review_date)}."
    )


def _review_date_differs(policy: str, history_date, review_date) -> str:
    return (
        f"The latest History row for {policy!r} has Review Date {_d(history_date)}, but this cell "
        f"says {_d(review_date)}. Make them the same date: type the new review's date here and add "
        "its row to History."
    )


def _retirement_not_in_history(policy: str, type_of_revision: str, review_date) -> str:
    return (
        f"Policy {policy!r} is Retired, but its latest History row ({type_of_revision}, "
        f"{_d(review_date)}) does not record the retirement. Add a History row for {policy!r} with "
        "Type of Revision 'Retirement', why in Summary of Changes, and the date it stops applying "
        "as Review Date (and as its Review Date here)."
    )


def _history_row_removed(
    policy: str, type_of_revision: str, summary_of_changes: str, review_date, version: int
) -> str:
    return (
        f"The History row of {policy!r} dated {_d(review_date)} ({type_of_revision}: "
        f"{summary_of_changes}) is published in v{version} but is missing here. History is the "
        "audit trail: a published row is never removed. Type it back as it was."
    )


def _history_row_edited(policy: str, header: str, published, version: int) -> str:
    shown = _d(published) if hasattr(published, "strftime") else published
    return (
        f"This History row of {policy!r} is published in v{version} with {header} {shown!r}. "
        "History is the audit trail: published rows are never edited. Type it back as it was, and "
        "add a new row for the new revision."
    )


def _history_row_backdated(policy: str, review_date, latest, version: int) -> str:
    return (
        f"This new History row is dated {_d(review_date)}, before the latest published revision "
        f"of {policy!r} ({_d(latest)}, in v{version}). A new revision comes after the ones "
        "already published: type its real date (usually today's)."
    )


def _history_date_too_far_ahead(review_date, latest_allowed) -> str:
    return (
        f"{_d(review_date)} is more than a year ahead (the latest date accepted today is "
        f"{_d(latest_allowed)}). Type the date of the review, such as today's; check the year."
    )


def _new_ruleset_in_exports(ruleset_id: str, exports: str, published: list[str]) -> str:
    return (
        f"No ruleset {ruleset_id!r} is published in {exports}, which holds "
        f"{', '.join(repr(p) for p in published)}: compiling starts {ruleset_id!r} at v1, apart "
        "from their history. If you meant to revise one of those, type its Ruleset ID here; if "
        "you meant another folder, give --exports."
    )


MESSAGES: dict[str, Template] = {
    # The file as a whole (reader.py, container.py, raw.py): nothing in it was read.
    "cannot-open-file": "Cannot open {path}: {reason}.",
    "cannot-read-file": "Cannot read {path}: {reason}.",
    "file-too-large": _file_too_large,
    "encrypted-workbook": "This workbook is password-protected (encrypted), so dqm cannot read it. "
    "Remove the password (File > Info > Protect Workbook > Encrypt with "
    "Password, clear it) and save it as an Excel Workbook (.xlsx).",
    "legacy-workbook": "This file is an old Excel 97-2003 workbook (.xls) or another Office file, "
    "not an .xlsx. " + _REOPEN_AS_XLSX,
    "empty-file": "'{file}' is empty (0 bytes). Save the workbook again and use that file.",
    "not-a-workbook": "'{file}' is not an Excel workbook (.xlsx). " + _REOPEN_AS_XLSX,
    "damaged-file": "'{file}' is damaged or incomplete (it may have been cut off while copying). "
    "Copy it again, or open it in Excel and save it again.",
    "too-many-parts": "'{file}' holds {parts:,} parts; a workbook needs far fewer, so this is not one "
    "dqm opens. Open it in Excel and save it again.",
    "unpacks-too-large": _unpacks_too_large,
    "zip-bomb": "'{file}' contains a part ({part}) that unpacks {ratio:,} times larger than it is "
    "stored, as a zip bomb does; dqm does not open it.",
    "zip-not-workbook": "'{file}' is a zip file but not an Excel workbook (.xlsx). "
    + _REOPEN_AS_XLSX,
    "macros": "This workbook contains macros (.xlsm). dqm never runs macros: save a copy as an Excel "
    "Workbook (.xlsx) (File > Save As) and use that.",
    "xml-declarations": "'{file}' contains XML declarations ({part}) that Excel never writes and that "
    "can be used to attack the reader; dqm does not open it. Open it in Excel "
    "and save it again.",
    "unreadable-workbook": "This file could not be read as an Excel workbook ({error}). Open it in "
    "Excel and save it again as an Excel Workbook (.xlsx).",
    # A sheet (reader.py, raw.py).
    "missing-sheet": _missing_sheet,
    "hidden-sheet": "Sheet '{title}' is hidden; it is still read. Unhide it so reviewers see what the "
    "ruleset uses.",
    "sheet-too-large": "Sheet '{title}' reaches row {rows:,} and column {last_column}; the most dqm "
    "reads is {max_rows:,} rows, {max_columns} columns and {max_cells:,} cells. "
    "Delete the unused rows and columns below and to the right of your data "
    "(select them, right-click, Delete) and save again.",
    "unreadable-sheet": "Sheet '{title}' could not be read ({error}). Copy its cells into a new sheet "
    "and save the workbook again.",
    # Headers (reader.py).
    "duplicate-header": "'{header}' is also the header of column {other_column}. Delete or rename "
    "one of the two columns.",
    "headers-not-in-row-1": _headers_not_in_row_1,
    "misnamed-header": "The header '{text}' is not one dqm knows; rename it to '{header}'.",
    "missing-column": "Column '{header}' is missing. Type '{header}' as a header in row 1 and fill "
    "it in.",
    "unknown-column": _unknown_column,
    # Cells as read (reader.py) and typed (cells.py).
    "merged-cells": "Cells {top}:{bottom} are merged, so only {top} keeps its value. Unmerge them "
    "(Home > Merge & Center) and type the value in every row.",
    "formula-without-value": "This cell has the formula {formula} but no saved value. Type the value "
    "itself, or open the workbook in Excel and save it so the result is "
    "stored.",
    "cell-shows-error": "This cell shows the error {error} instead of a value. Fix the formula that "
    "makes it, or type the value itself.",
    "not-a-number": "'{header}' must be a number. Type a number such as {example}, in digits.",
    "not-a-date": "'{header}' must be a date. Type it as a date Excel recognises, such as {example}, "
    "and check the cell is not formatted as Text.",
    # The sheets' schemas (schemas.py, checked in validate.py).
    "required": "'{header}' is required. Type a value such as {example!r}.",
    "not-an-id": "'{header}' must be a short id of lowercase letters, digits and hyphens, such as "
    "{example!r}. Type it without spaces or capitals.",
    "id-too-long": "'{header}' is longer than {most} characters; an id names files in the exports, "
    "so keep it short, such as {example!r}.",
    "not-one-of": _not_one_of,
    "below-minimum": "'{header}' must be at least {bound}. Type a number such as {example}.",
    "not-greater-than": "'{header}' must be greater than {bound}. Type a number such as {example}.",
    "not-whole-number": "'{header}' must be a whole number. Type a number such as {example}.",
    "not-unique": "'{header}' {value!r} is already used in row {first_row}; each one must be unique. "
    "Type a different one, or delete the repeated row.",
    "days-out-of-range": "'{header}' must be a whole number of days from 1 to {most}. Type the days "
    "the maximum covers, such as {example} (for 60 tablets per 30 days, 30).",
    "check-failed": "'{header}' failed the check {check}. Type a value such as {example!r}.",
    # The cross-sheet rules (rules.py and the modules it runs).
    "ruleset-row-missing": "The Ruleset sheet needs exactly one row. Type the ruleset's id in row 2, "
    "such as {example!r}, and its Title.",
    "ruleset-extra-row": "The Ruleset sheet has one row only; row {first_row} is it. Delete this row.",
    "unknown-reference": _unknown_reference,
    "drug-list-required": _drug_list_required,
    "drug-list-not-used": "An 'Attested' criterion uses no drug list. Clear this cell, or set Met "
    "When to '{met_when}'.",
    "duplicate-override": "{product!r} already has an override for {criterion!r} in row {first_row}. "
    "Delete this row, or change the criterion.",
    "override-not-above-limit": "An override must allow more than the limit: {product}'s {header} is "
    "{limit} (Limits row {limit_row}). Type a number greater than {limit}.",
    "days-required": _days_required,
    "days-on-per-rx": _days_on_per_rx,
    "override-window-differs": "An override counts over its product's window, and {product!r} has "
    "{header} {days} (Limits row {limit_row}). Type {days}.",
    "product-not-named": "This test claim names no product. Type its Product ID (from Limits), or "
    "an NDC or RxCUI from Product Codes.",
    "codes-name-other-product": "{header} names {product!r}, but {other} names {named!r}; a test "
    "claim names one product. Correct one of the two, or clear it.",
    "member-required": "{product!r} is limited Per Days, so its test claims need a Member ID: "
    "earlier rows of the same member and product count toward later ones. Type one, such as M-1001.",
    "home-delivery-below-retail": "Home delivery ({home_delivery}) is below retail ({retail}) for "
    "{product}; home delivery usually allows a longer supply. Check "
    "the number.",
    "policy-without-history": _policy_without_history,
    "review-date-differs": _review_date_differs,
    "duplicate-name-in-list": "{name!r} is already on list {list_id!r} in row {first_row}. A name "
    "appears once per list: delete it here or there.",
    "ambiguous-ndc": _ambiguous_ndc,
    "malformed-ndc": _malformed_ndc,
    "malformed-rxcui": "RxCUI {code!r} must be digits only, such as 403879 (imatinib 400 MG Oral "
    "Tablet). Type the RxNorm concept's number.",
    "duplicate-code": "{system} {code!r} is the same code as row {first_row} ({system} {shown}, "
    "for {product!r}); one code names one product in the whole workbook. Delete one of the two "
    "rows, or correct the code.",
    "comma-in-aliases": "Also Known As separates names with ';', not ','. As typed, {value!r} is "
    "one name, which no claim spells. Type {fixed!r}.",
    "name-too-generic": "{name!r} is only a dosage form, unit or number, not a drug's name: every "
    "claim drug written with it (such as 'Gleevec 400 mg tablet') would match this list. Type the "
    "drug's own name or brand, or delete it.",
    "fractional-count": _fractional_count,
    "unused-drug-list": unused_drug_list,
    "second-name-in-drug": second_name_in_drug,
    "only-optional-cells": _only_optional_cells,
    "retirement-not-in-history": _retirement_not_in_history,
    # Against what is published (ruleset/history.py) and the Tests sheet (ruleset/testsheet.py).
    "history-row-missing": _history_row_missing,
    "history-row-removed": _history_row_removed,
    "history-row-edited": _history_row_edited,
    "history-row-backdated": _history_row_backdated,
    "history-date-too-far-ahead": _history_date_too_far_ahead,
    "new-ruleset-in-exports": _new_ruleset_in_exports,
    "retroactive-effective-date": retroactive_effective_date,
    "product-removed": product_removed,
    "code-removed": code_removed,
    "tests-decision-mismatch": _tests_decision_mismatch,
    "tests-quantity-mismatch": _tests_quantity_mismatch,
}


def render(code: str, params: Mapping[str, Any]) -> str:
    """The message of the finding `code` with its parameters, as staff read it."""
    template = MESSAGES[code]
    if callable(template):
        return template(**params)
    return template.format_map(params)
