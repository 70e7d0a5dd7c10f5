"""The messages of the findings staff see before a change decides claims: a drug list no
criterion uses, a second name in a Drug cell, a version taking effect on a date already decided,
a product or code the published version limits that the workbook no longer has. Beside the
catalogue (catalogue.py), which renders them; plain Python, as it is."""

from __future__ import annotations

from ..vocabulary import format_date


def and_list(items: list[str]) -> str:
    """'a'; 'a' and 'b'; 'a', 'b' and 'c'."""
    quoted = [f"'{i}'" for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def unused_drug_list(list_id: str, rows: list[int], more: int = 0, close: str | None = None) -> str:
    one = len(rows) == 1 and not more
    shown = ", ".join(map(str, rows)) + (", …" if more else "")
    where, these = (f"row {shown}", "this row") if one else (f"rows {shown}", "these rows")
    fix = (
        f"Did you mean {close!r}? Type that list's id exactly on {these}"
        if close is not None
        else "Type this id in a criterion's Drug List ID on the Criteria sheet"
    )
    return (
        f"No criterion uses drug list {list_id!r} ({where}), so no claim is ever matched against "
        f"it. {fix}, or delete {these}."
    )


def second_name_in_drug(
    drug: str, name: str, others: list[str], aliases: str, added: list[str]
) -> str:
    if not others:
        return f"Type the drug's name without brackets: {name!r}."
    if not added:
        there = and_list(others)
        return (
            f"{drug!r} holds a second name, so as typed it matches only a claim drug written "
            f"with both. Type {name!r} here: {there} {'is' if len(others) == 1 else 'are'} "
            "already in Also Known As."
        )
    return (
        f"{drug!r} holds a second name, so as typed it matches only a claim drug written with "
        f"both. Type {name!r} here, and the other name in Also Known As: {aliases!r}."
    )


def retroactive_effective_date(
    version: int,
    effective_date,
    latest_review,
    before_review: bool,
    previous_version: int | None,
    previous_date,
    typed: bool,
) -> str:
    day = format_date(effective_date)
    reasons = []
    if before_review:
        reasons.append(f"before its latest History Review Date ({format_date(latest_review)})")
    if previous_version is not None:
        reasons.append(
            f"on or before v{previous_version}'s effective date ({format_date(previous_date)})"
        )
    which = (
        f"it decides every claim dated from {day} on, those v{previous_version} decided included"
        if previous_version is not None
        else f"it decides claims dated before the review that made it, from {day} on"
    )
    if typed and (previous_date is None or latest_review > previous_date):
        fix = (
            f"clear this cell (v{version} then takes effect on {format_date(latest_review)}), or type "
            "the date it takes effect"
        )
    else:
        fix = f"type the date v{version} takes effect, after {format_date(previous_date)}, in this cell"
    return (
        f"v{version} takes effect on {day}, {' and '.join(reasons)}: {which}. A correction may "
        f"apply from an earlier date; if this is not one, {fix}."
    )


def product_removed(product_id: str, product: str, version: int) -> str:
    return (
        f"{product_id!r} ({product}) is limited by the published v{version} but has no row on "
        "Limits: once this version takes effect, its claims decide not_applicable, with no "
        "quantity limit. To stop limiting it, keep its row with Status 'Retired' and say so in a "
        "History row; if its row was deleted by mistake, type it back."
    )


def code_removed(system: str, code: str, product_id: str, version: int) -> str:
    return (
        f"{system} {code} names {product_id!r} in the published v{version} but is not on Product "
        "Codes: once this version takes effect, a claim naming the product by that code alone "
        "decides not_applicable, with no quantity limit. Type its row back, unless the code no "
        "longer names that product."
    )
