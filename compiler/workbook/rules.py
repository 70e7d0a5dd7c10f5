"""The cross-sheet rules: references resolve, overrides exceed limits, history agrees with the
policy, names are unique within a drug list, product codes read as codes and name one product
each, exactly one Ruleset row. Each rule runs only when the sheets it reads are present with all
their required headers."""

from __future__ import annotations

import pandas as pd

from .. import codes, names
from ..vocabulary import CODE_SYSTEMS
from . import schemas, slips
from .findings import WARNING, Finding
from .headers import (
    ALSO_KNOWN_AS,
    ATTESTED_CRITERIA,
    CHANNEL_MAX_QTY,
    CODE,
    CODE_SYSTEM,
    CRITERION_ID,
    DRUG,
    DRUG_LIST_ID,
    MET_WHEN,
    POLICY_ID,
    PRODUCT_ID,
    REVIEW_DATE,
    RULESET_ID,
    STATUS,
    TYPE_OF_REVISION,
)
from .reader import Sheet

# Known ids compared with unknown ones per rule, for "did you mean": every typo of an ordinary
# workbook gets its suggestion; a sheet of 250,000 unknown ids against 250,000 known ones (tens
# of billions of comparisons, hours) gets suggestions until the budget is spent, then the list.
SUGGESTION_BUDGET = 50_000
ON_LIST = "Concomitant drug on list"
CODE_SYSTEM_KEYS = {label: key for key, label in CODE_SYSTEMS.items()}  # "NDC" -> "ndc"


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
    if have("Limits"):
        out += home_delivery_below_retail(sheets["Limits"], frames["Limits"])
    if have("Overrides"):
        out += home_delivery_below_retail(sheets["Overrides"], frames["Overrides"])
    if have("Policies", "History"):
        out += latest_history_is_review_date(
            sheets["Policies"], frames["Policies"], frames["History"]
        )
    if have("Drug Lists"):
        out += names_unique_within_list(sheets["Drug Lists"], frames["Drug Lists"])
        out += slips.aliases_separated_by_semicolons(sheets["Drug Lists"], frames["Drug Lists"])
        out += slips.names_not_generic(sheets["Drug Lists"], frames["Drug Lists"])
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
        out += retirement_recorded(sheets["Policies"], frames["Policies"], frames["History"])
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


def references(
    sheet: Sheet,
    frame: pd.DataFrame,
    header: str,
    known: pd.Series,
    target: str,
    broken: list[str] = (),
) -> list[Finding]:
    """Each id in `header` that is not among `known` (the ids on the `target` sheet). An id close
    to one of `broken` (target ids that are themselves in error, such as `IMATINIB-400MG-TAB`,
    not an id) is left alone: its finding is at that id, once, not on every row that names it."""
    known_ids = sorted(set(known.dropna()))
    values = frame[header]
    unresolved = values[values.notna() & ~values.isin(known_ids)]
    suggest = Suggestions(known_ids)
    return [
        _unknown(sheet, header, row, value, value, target, suggest)
        for row, value in unresolved.items()
        if not (broken and names.closest(str(value), broken) is not None)
    ]


def _unknown(
    sheet: Sheet,
    header: str,
    row: int,
    value,
    id: str,
    target: str,
    suggest: Suggestions,
    column: str | None = None,
) -> Finding:
    """`id` (in the cell of `column`, which holds `value`) is not a `header` on the `target` sheet."""
    column = column or header
    return Finding(
        "unknown-reference",
        sheet.name,
        sheet.cell(column, row),
        column,
        value,
        {"id": id, "header": header, "target": target, **suggest(id)},
    )


class Suggestions:
    """What a message suggests typing instead of an unknown id: the known id a typo away, or the
    first few. Each distinct id is looked up once, and lookups stop when the rule's budget of
    comparisons is spent (then the message lists the first few)."""

    def __init__(self, known: list[str]):
        self.known = known
        self.left = SUGGESTION_BUDGET
        self.made: dict[str, dict] = {}

    def __call__(self, value: object) -> dict:
        key = str(value)
        if key not in self.made:
            close = None
            if self.left >= len(self.known):
                self.left -= len(self.known)
                close = names.closest(key, self.known)
            few = _first_few(self.known)
            self.made[key] = {**few, "close": close} if close else few
        return self.made[key]


def _first_few(known: list[str]) -> dict:
    """The first five known ids, and how many more there are (a message lists five at most)."""
    return {"known": known[:5], "more": max(len(known) - 5, 0)}


def drug_list_when_on_list(
    sheet: Sheet, frame: pd.DataFrame, lists: pd.Series | None
) -> list[Finding]:
    out = []
    known = sorted(set(lists.dropna())) if lists is not None else []
    known_set, suggest = set(known), Suggestions(known)
    h = DRUG_LIST_ID
    for row, met_when, list_id in zip(frame.index, frame[MET_WHEN], frame[h], strict=True):
        cell = sheet.cell(h, row)
        if met_when == ON_LIST and list_id is None:
            out.append(
                Finding(
                    "drug-list-required",
                    sheet.name,
                    cell,
                    h,
                    None,
                    {"header": h, "met_when": ON_LIST, **_first_few(known)},
                )
            )
        elif met_when == ON_LIST and lists is not None and list_id not in known_set:
            out.append(_unknown(sheet, h, row, list_id, list_id, "Drug Lists", suggest))
        elif met_when == "Attested" and list_id is not None:
            out.append(
                Finding("drug-list-not-used", sheet.name, cell, h, list_id, {"met_when": ON_LIST})
            )
    return out


def attested_criteria(
    sheet: Sheet, frame: pd.DataFrame, criteria: pd.DataFrame, broken: list[str] = ()
) -> list[Finding]:
    known = sorted(set(criteria[CRITERION_ID].dropna()))
    known_set, suggest = set(known), Suggestions(known)
    h = ATTESTED_CRITERIA
    out = []
    for row, text in frame[h].items():
        for item in names.split_list(text):
            if item not in known_set and not (broken and names.closest(item, broken)):
                out.append(
                    _unknown(sheet, CRITERION_ID, row, text, item, "Criteria", suggest, column=h)
                )
    return out


def one_override_per_criterion(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    out = []
    seen: dict[tuple, int] = {}
    for row, product, criterion in zip(
        frame.index, frame[PRODUCT_ID], frame[CRITERION_ID], strict=True
    ):
        if product is None or criterion is None:
            continue
        key = (product, criterion)
        if key in seen:
            out.append(
                Finding(
                    "duplicate-override",
                    sheet.name,
                    sheet.cell(CRITERION_ID, row),
                    CRITERION_ID,
                    criterion,
                    {"product": product, "criterion": criterion, "first_row": seen[key]},
                )
            )
        else:
            seen[key] = row
    return out


def overrides_above_limits(
    sheet: Sheet, frame: pd.DataFrame, limits: pd.DataFrame
) -> list[Finding]:
    first = limits.reset_index().drop_duplicates(PRODUCT_ID)  # a repeated id is its own finding
    joined = frame.reset_index().merge(first, on=PRODUCT_ID, how="inner", suffixes=("", " limit"))
    out = []
    for h in CHANNEL_MAX_QTY:
        low = joined[joined[h] <= joined[f"{h} limit"]]
        for row, pid, limit_row, theirs in zip(
            low["row"], low[PRODUCT_ID], low["row limit"], low[f"{h} limit"], strict=True
        ):
            out.append(
                sheet.finding(
                    "override-not-above-limit",
                    h,
                    row,
                    {
                        "product": pid,
                        "header": h,
                        "limit": _num(theirs),
                        "limit_row": int(limit_row),
                    },
                )
            )
    return out


def home_delivery_below_retail(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    retail, home = CHANNEL_MAX_QTY
    low = frame[frame[home] < frame[retail]]
    return [
        sheet.finding(
            "home-delivery-below-retail",
            home,
            row,
            {"home_delivery": _num(h), "retail": _num(r), "product": pid},
            WARNING,
        )
        for row, h, r, pid in zip(low.index, low[home], low[retail], low[PRODUCT_ID], strict=True)
    ]


def latest_history_is_review_date(
    sheet: Sheet, policies: pd.DataFrame, history: pd.DataFrame
) -> list[Finding]:
    latest = history.dropna(subset=[REVIEW_DATE]).groupby(POLICY_ID)[REVIEW_DATE].max()
    h = REVIEW_DATE
    # NaT where the policy has no History row (reindex keeps the dates' type even when none)
    theirs = pd.Series(latest.reindex(policies[POLICY_ID]).to_numpy(), index=policies.index)
    differ = policies[policies[POLICY_ID].notna() & policies[h].notna() & (theirs != policies[h])]
    out = []
    for row, pid, review in zip(differ.index, differ[POLICY_ID], differ[h], strict=True):
        if pid not in latest.index:
            out.append(
                Finding(
                    "policy-without-history",
                    sheet.name,
                    sheet.cell(h, row),
                    h,
                    review.date(),
                    {"policy": pid, "review_date": review.date()},
                )
            )
        else:
            out.append(
                Finding(
                    "review-date-differs",
                    sheet.name,
                    sheet.cell(h, row),
                    h,
                    review.date(),
                    {
                        "policy": pid,
                        "history_date": latest[pid].date(),
                        "review_date": review.date(),
                    },
                )
            )
    return out


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


def product_codes(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    """Each code reads as a code of its system (an NDC of 10 digits without hyphens is ambiguous,
    never guessed), and names one product in the whole workbook once read (`47335-475-83` and
    `47335047583` are the same NDC)."""
    out = []
    h = CODE
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for row, product, label, text in zip(
        frame.index, frame[PRODUCT_ID], frame[CODE_SYSTEM], frame[h], strict=True
    ):
        system = CODE_SYSTEM_KEYS.get(label)
        if system is None or text is None:
            continue  # a blank or unknown Code System, a blank Code: the schema's findings
        code = codes.read_code(system, text)
        raw = sheet.frame.at[row, h]
        if code.value is None:
            out.append(_malformed_code(sheet, row, system, text, code, raw))
            continue
        first = seen.setdefault((system, code.value), (row, product))
        if first[0] != row:
            out.append(
                Finding(
                    "duplicate-code",
                    sheet.name,
                    sheet.cell(h, row),
                    h,
                    raw,
                    {
                        "system": label,
                        "code": text,
                        "shown": codes.shown(system, code.value),
                        "first_row": first[0],
                        "product": first[1],
                    },
                )
            )
    return out


def _malformed_code(
    sheet: Sheet, row: int, system: str, text: str, code: codes.Code, raw: object
) -> Finding:
    # A number typed into the cell has lost any leading zero: the message says so.
    typed_as_number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if system == codes.RXCUI:
        finding, params = "malformed-rxcui", {"code": text}
    elif code.problem == codes.TEN_DIGITS_WITHOUT_HYPHENS:
        finding, params = "ambiguous-ndc", {"code": text, "typed_as_number": typed_as_number}
    else:
        finding = "malformed-ndc"
        params = {
            "code": text,
            "problem": code.problem,
            "digits": code.digits,
            "typed_as_number": typed_as_number,
        }
    return Finding(finding, sheet.name, sheet.cell(CODE, row), CODE, raw, params)


RETIREMENT = "retire"  # a Type of Revision that records it: "Retirement", "Retired", …


def retirement_recorded(
    sheet: Sheet, policies: pd.DataFrame, history: pd.DataFrame
) -> list[Finding]:
    """A Retired policy's latest History row records the retirement (its Type of Revision says
    so): the History sheet is the audit trail of when and why a policy stopped applying."""
    h = STATUS
    retired = policies[(policies[h] == "Retired") & policies[POLICY_ID].notna()]
    if not len(retired):
        return []
    dated = history.dropna(subset=[REVIEW_DATE]).sort_values(REVIEW_DATE, kind="stable")
    latest = dated.groupby(POLICY_ID).tail(1).set_index(POLICY_ID)
    out = []
    for row, pid in retired[POLICY_ID].items():
        if pid not in latest.index:
            continue  # policy-without-history says so
        last = latest.loc[pid]
        revision = last[TYPE_OF_REVISION]
        if revision is not None and RETIREMENT in revision.casefold():
            continue
        out.append(
            sheet.finding(
                "retirement-not-in-history",
                h,
                row,
                {
                    "policy": pid,
                    "review_date": last[REVIEW_DATE].date(),
                    "type_of_revision": revision,
                },
            )
        )
    return out


def _num(x: float) -> int | float:
    """A sheet's number as the message shows it: 60, not 60.0."""
    return int(x) if float(x).is_integer() else float(x)
