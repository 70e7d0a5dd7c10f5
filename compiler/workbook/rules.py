"""The cross-sheet rules: references resolve, overrides exceed limits, history agrees with the
policy, names are unique within a drug list, exactly one Ruleset row. Each rule runs only when
the sheets it reads are present with all their required headers."""

from __future__ import annotations

import difflib

import pandas as pd

from ..decide import names
from .findings import WARNING, Finding
from .reader import Sheet

CHANNEL_HEADERS = ("Retail Max Qty per Rx", "Home Delivery Max Qty per Rx")
ON_LIST = "Concomitant drug on list"


def check(sheets: dict[str, Sheet], frames: dict[str, pd.DataFrame]) -> list[Finding]:
    def have(*wanted: str) -> bool:
        return all(w in sheets and sheets[w].complete for w in wanted)

    out: list[Finding] = []
    if have("Ruleset"):
        out += one_ruleset_row(sheets["Ruleset"], frames["Ruleset"])
    refs = [
        ("Limits", "Policy ID", "Policies", "Policy ID"),
        ("History", "Policy ID", "Policies", "Policy ID"),
        ("Overrides", "Product ID", "Limits", "Product ID"),
        ("Overrides", "Criterion ID", "Criteria", "Criterion ID"),
        ("Tests", "Product ID", "Limits", "Product ID"),
    ]
    for sheet, header, target, target_header in refs:
        if have(sheet, target):
            out += references(sheets[sheet], frames[sheet], header, frames[target][target_header], target)
    if have("Criteria"):
        out += drug_list_when_on_list(sheets["Criteria"], frames["Criteria"],
                                      frames["Drug Lists"]["Drug List ID"] if have("Drug Lists") else None)
    if have("Tests", "Criteria"):
        out += attested_criteria(sheets["Tests"], frames["Tests"], frames["Criteria"])
    if have("Overrides"):
        out += one_override_per_criterion(sheets["Overrides"], frames["Overrides"])
    if have("Overrides", "Limits"):
        out += overrides_above_limits(sheets["Overrides"], frames["Overrides"], frames["Limits"])
    if have("Limits"):
        out += home_delivery_below_retail(sheets["Limits"], frames["Limits"])
    if have("Overrides"):
        out += home_delivery_below_retail(sheets["Overrides"], frames["Overrides"])
    if have("Policies", "History"):
        out += latest_history_is_review_date(sheets["Policies"], frames["Policies"], frames["History"])
    if have("Drug Lists"):
        out += names_unique_within_list(sheets["Drug Lists"], frames["Drug Lists"])
    return out


def one_ruleset_row(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    if len(frame) == 0:
        return [Finding(sheet.name, sheet.cell("Ruleset ID", 2), "Ruleset ID", None,
                        "The Ruleset sheet needs exactly one row. Type the ruleset's id in row 2, "
                        "such as 'oncology-dqm', and its Title.")]
    return [Finding(sheet.name, sheet.cell("Ruleset ID", row), "Ruleset ID", sheet.frame.at[row, "Ruleset ID"],
                    f"The Ruleset sheet has one row only; row {frame.index[0]} is it. Delete this row.")
            for row in frame.index[1:]]


def references(sheet: Sheet, frame: pd.DataFrame, header: str, known: pd.Series, target: str) -> list[Finding]:
    known_ids = sorted(set(known.dropna()))
    values = frame[header]
    unresolved = values[values.notna() & ~values.isin(known_ids)]
    out = []
    for row, value in unresolved.items():
        out.append(Finding(sheet.name, sheet.cell(header, row), header, value,
                           f"{value!r} is not a {header} on the {target} sheet. {_suggest(value, known_ids)}"))
    return out


def _suggest(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.6)
    if close:
        return f"Did you mean {close[0]!r}? Type it exactly as it is there."
    if not known:
        return "Add that row there first."
    shown = ", ".join(repr(k) for k in known[:5]) + (", …" if len(known) > 5 else "")
    return f"Type one of: {shown}, or add it there first."


def drug_list_when_on_list(sheet: Sheet, frame: pd.DataFrame, lists: pd.Series | None) -> list[Finding]:
    out = []
    known = sorted(set(lists.dropna())) if lists is not None else []
    h = "Drug List ID"
    for row, met_when, list_id in zip(frame.index, frame["Met When"], frame[h]):
        cell = sheet.cell(h, row)
        if met_when == ON_LIST and list_id is None:
            out.append(Finding(sheet.name, cell, h, None,
                               f"'{h}' is required when Met When is '{ON_LIST}'. "
                               f"Type the id of a list on the Drug Lists sheet. {_suggest('', known)}"))
        elif met_when == ON_LIST and lists is not None and list_id not in known:
            out.append(Finding(sheet.name, cell, h, list_id,
                               f"{list_id!r} is not a Drug List ID on the Drug Lists sheet. {_suggest(list_id, known)}"))
        elif met_when == "Attested" and list_id is not None:
            out.append(Finding(sheet.name, cell, h, list_id,
                               f"An 'Attested' criterion uses no drug list. Clear this cell, or set "
                               f"Met When to '{ON_LIST}'."))
    return out


def attested_criteria(sheet: Sheet, frame: pd.DataFrame, criteria: pd.DataFrame) -> list[Finding]:
    known = sorted(set(criteria["Criterion ID"].dropna()))
    h = "Attested Criteria"
    out = []
    for row, text in frame[h].items():
        for item in names.split_list(text):
            if item not in known:
                out.append(Finding(sheet.name, sheet.cell(h, row), h, text,
                                   f"{item!r} is not a Criterion ID on the Criteria sheet. {_suggest(item, known)}"))
    return out


def one_override_per_criterion(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    out = []
    seen: dict[tuple, int] = {}
    for row, product, criterion in zip(frame.index, frame["Product ID"], frame["Criterion ID"]):
        if product is None or criterion is None:
            continue
        key = (product, criterion)
        if key in seen:
            out.append(Finding(sheet.name, sheet.cell("Criterion ID", row), "Criterion ID", criterion,
                               f"{product!r} already has an override for {criterion!r} in row {seen[key]}. "
                               "Delete this row, or change the criterion."))
        else:
            seen[key] = row
    return out


def overrides_above_limits(sheet: Sheet, frame: pd.DataFrame, limits: pd.DataFrame) -> list[Finding]:
    first = limits.reset_index().drop_duplicates("Product ID")  # a repeated id is its own finding
    joined = frame.reset_index().merge(first, on="Product ID", how="inner", suffixes=("", " limit"))
    out = []
    for h in CHANNEL_HEADERS:
        low = joined[joined[h] <= joined[f"{h} limit"]]
        for row, pid, limit_row, theirs in zip(low["row"], low["Product ID"], low["row limit"], low[f"{h} limit"]):
            out.append(Finding(sheet.name, sheet.cell(h, row), h, sheet.frame.at[row, h],
                               f"An override must allow more than the limit: {pid}'s {h} is "
                               f"{_num(theirs)} (Limits row {limit_row}). Type a number greater "
                               f"than {_num(theirs)}."))
    return out


def home_delivery_below_retail(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    retail, home = CHANNEL_HEADERS
    low = frame[frame[home] < frame[retail]]
    return [Finding(sheet.name, sheet.cell(home, row), home, sheet.frame.at[row, home],
                    f"Home delivery ({_num(h)}) is below retail ({_num(r)}) for {pid}; home delivery "
                    "usually allows a longer supply. Check the number.", WARNING)
            for row, h, r, pid in zip(low.index, low[home], low[retail], low["Product ID"])]


def latest_history_is_review_date(sheet: Sheet, policies: pd.DataFrame, history: pd.DataFrame) -> list[Finding]:
    latest = history.dropna(subset=["Review Date"]).groupby("Policy ID")["Review Date"].max()
    h = "Review Date"
    # NaT where the policy has no History row (reindex keeps the dates' type even when none)
    theirs = pd.Series(latest.reindex(policies["Policy ID"]).to_numpy(), index=policies.index)
    differ = policies[policies["Policy ID"].notna() & policies[h].notna() & (theirs != policies[h])]
    out = []
    for row, pid, review in zip(differ.index, differ["Policy ID"], differ[h]):
        if pid not in latest.index:
            out.append(Finding(sheet.name, sheet.cell(h, row), h, review.date(),
                               f"Policy {pid!r} has no row on the History sheet. Add one with Policy ID "
                               f"{pid!r} and Review Date {_date(review)}."))
        else:
            out.append(Finding(sheet.name, sheet.cell(h, row), h, review.date(),
                               f"The latest History row for {pid!r} has Review Date {_date(latest[pid])}, "
                               f"but this cell says {_date(review)}. Make them the same date: type the "
                               "new review's date here and add its row to History."))
    return out


def names_unique_within_list(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    out = []
    seen: dict[tuple[str, str], int] = {}
    for row, list_id, drug, aka in zip(frame.index, frame["Drug List ID"], frame["Drug"], frame["Also Known As"]):
        for header, name in [("Drug", drug)] + [("Also Known As", a) for a in names.split_list(aka)]:
            if not name:
                continue
            key = (list_id, names.normalize(name))
            if key in seen:
                out.append(Finding(sheet.name, sheet.cell(header, row), header, sheet.frame.at[row, header],
                                   f"{name!r} is already on list {list_id!r} in row {seen[key]}. A name "
                                   "appears once per list: delete it here or there."))
            else:
                seen[key] = row
    return out


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _date(ts: pd.Timestamp) -> str:
    return f"{ts.month:02d}/{ts.day:02d}/{ts.year}"
