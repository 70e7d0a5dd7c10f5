"""The structured difference between two ruleset versions, and its wording for staff."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import codes
from ..effective import effective_date
from ..vocabulary import CHANNEL_LABELS, CHANNELS, CODE_SYSTEMS, MAX_QTY_FIELDS, plain_text
from ..workbook.headers import (
    ALSO_KNOWN_AS,
    APPROVAL_MONTHS,
    CRITERIA_TEXT,
    DESCRIPTION,
    DRUG_LIST_ID,
    EFFECTIVE_DATE,
    FOOTNOTE,
    HOME_DELIVERY_MAX_QTY_PER_RX,
    MET_WHEN,
    NOTES,
    OWNER,
    POLICY_ID,
    POLICY_TYPE,
    PRODUCT,
    PRODUCT_ID,
    RETAIL_MAX_QTY_PER_RX,
    REVIEW_DATE,
    STATUS,
    STRENGTH_AND_FORM,
    SUMMARY_OF_CHANGES,
    TITLE,
    TYPE_OF_REVISION,
    UNIT,
)

# Field -> the workbook header staff know it by (a Per Rx maximum by its per-Rx words; a Per Days
# one is told as the policy words it, `Retail: 60 per 30 days`: see _maximum).
LABELS = {
    "title": TITLE,
    "owner": OWNER,
    "effective_date": EFFECTIVE_DATE,
    "product_id": PRODUCT_ID,
    "policy_type": POLICY_TYPE,
    "review_date": REVIEW_DATE,
    "approval_months": APPROVAL_MONTHS,
    "notes": NOTES,
    "product": PRODUCT,
    "strength_and_form": STRENGTH_AND_FORM,
    "retail_max_qty": RETAIL_MAX_QTY_PER_RX,
    "home_delivery_max_qty": HOME_DELIVERY_MAX_QTY_PER_RX,
    "unit": UNIT,
    "footnote": FOOTNOTE,
    "policy_id": POLICY_ID,
    "criteria_text": CRITERIA_TEXT,
    "description": DESCRIPTION,
    "met_when": MET_WHEN,
    "drug_list_id": DRUG_LIST_ID,
    "also_known_as": ALSO_KNOWN_AS,
    "status": STATUS,
}


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything that differs, as records of kind, action, id, field, before, after and text."""
    out: list[dict[str, Any]] = []
    if before is None:
        before = {"policies": [], "criteria": [], "drug_lists": []}
        out.append(
            _record(
                "ruleset",
                "added",
                after["ruleset_id"],
                None,
                None,
                None,
                f"{after['ruleset_id']}: ruleset added",
            )
        )
    else:
        out += _fields("ruleset", after["ruleset_id"], before, after, ["title", "owner"])
        # A version without an effective_date (schema 1) takes effect on its latest review.
        out += _fields(
            "ruleset",
            after["ruleset_id"],
            {"effective_date": effective_date(before)},
            {"effective_date": effective_date(after)},
            ["effective_date"],
        )
    out += _compare(
        "policy",
        _policies(before),
        _policies(after),
        ["title", "policy_type", "review_date", "approval_months", "notes", "status"],
    )
    out += _compare(
        "limit",
        _products(before),
        _products(after),
        [
            "policy_id",
            "product",
            "strength_and_form",
            "retail_max_qty",
            "home_delivery_max_qty",
            "unit",
            "footnote",
            "status",
        ],
    )
    out += code_changes(before, after)
    out += _compare(
        "override",
        _overrides(before),
        _overrides(after),
        ["retail_max_qty", "home_delivery_max_qty", "approval_months", "criteria_text"],
    )
    out += _compare(
        "criterion",
        _keyed(before["criteria"], "criterion_id"),
        _keyed(after["criteria"], "criterion_id"),
        ["description", "met_when", "drug_list_id"],
    )
    out += _compare(
        "drug_list_member", _members(before), _members(after), ["also_known_as", "notes"]
    )
    out += history_changes(before, after)
    return out


def history_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """History rows added, removed or changed. A row is known by its policy and Review Date; where
    one policy has one row on a date on each side, an edit of its type or summary is a change."""
    old, new = _history(before), _history(after)
    if not old:  # every row is added (a first version's 15,000 rows: the same order, faster)
        return [
            _record(
                "history",
                "added",
                k[0],
                None,
                None,
                None,
                f"{k[0]}: History row added: {k[1]}, {k[3]}: {k[2]}",
            )
            for k in sorted(new, key=lambda k: (k[0], k[3], k))
        ]
    gone, came = old.keys() - new.keys(), new.keys() - old.keys()
    by_date_old, by_date_new = _by_date(gone), _by_date(came)
    out = []
    for (policy, date), rows in sorted(by_date_new.items()):
        if len(rows) == 1 and len(by_date_old.get((policy, date), [])) == 1:
            (a,), (b,) = by_date_old.pop((policy, date)), rows
            for i, field in ((1, TYPE_OF_REVISION), (2, SUMMARY_OF_CHANGES)):
                if a[i] != b[i]:
                    out.append(
                        _record(
                            "history",
                            "changed",
                            policy,
                            field,
                            a[i],
                            b[i],
                            f"{policy}: History row of {date}: {field} {a[i]} → {b[i]}",
                        )
                    )
            continue
        for key in sorted(rows):
            out.append(
                _record(
                    "history",
                    "added",
                    policy,
                    None,
                    None,
                    None,
                    f"{policy}: History row added: {key[1]}, {key[3]}: {key[2]}",
                )
            )
    for key in sorted(k for rows in by_date_old.values() for k in rows):
        out.append(
            _record(
                "history",
                "removed",
                key[0],
                None,
                None,
                None,
                f"{key[0]}: History row removed: {key[1]}, {key[3]}: {key[2]}",
            )
        )
    return out


def code_changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Product codes added, removed, or moved to another product or description; a code is known
    by its system and code (`NDC 47335-0475-83`)."""
    old, new = _codes(before), _codes(after)
    out = []
    for action, keys, side in (
        ("added", new.keys() - old.keys(), new),
        ("removed", old.keys() - new.keys(), old),
    ):
        for key in sorted(keys):
            out.append(
                _record(
                    "code",
                    action,
                    key,
                    None,
                    None,
                    None,
                    f"{side[key]['product_id']}: {key} {action}",
                )
            )
    for key in sorted(old.keys() & new.keys()):
        out += _fields("code", key, old[key], new[key], ["product_id", "description"])
    return out


def _codes(doc: dict) -> dict[str, dict]:
    return {
        f"{CODE_SYSTEMS[c['code_system']]} {codes.shown(c['code_system'], c['code'])}": {
            "product_id": p["product_id"],
            "description": c["description"],
        }
        for pol in doc["policies"]
        for p in pol["products"]
        for c in p.get("codes", ())
    }


def _by_date(keys) -> dict[tuple[str, str], list[tuple]]:
    grouped: dict[tuple[str, str], list[tuple]] = {}
    for key in keys:
        grouped.setdefault((key[0], key[3]), []).append(key)
    return grouped


def as_text(items: Iterable[dict[str, Any]]) -> str:
    lines = [plain_text(c["text"]) for c in items]  # one line each, whatever the cells held
    return "\n".join(lines) if lines else "No changes."


def _record(kind, action, id_, field, before, after, text) -> dict[str, Any]:
    return {
        "kind": kind,
        "action": action,
        "id": id_,
        "field": field,
        "before": before,
        "after": after,
        "text": text,
    }


def _show(v: Any) -> str:
    if v is None:
        return "(blank)"
    if isinstance(v, list):
        return "; ".join(v) or "(blank)"
    return str(v)


# A channel's maximum field -> (its window field, the channel's word).
WINDOWS = {MAX_QTY_FIELDS[c]: (f"{c}_days", CHANNEL_LABELS[c]) for c in CHANNELS}


def _maximum(kind: str, id_: str, old: dict, new: dict, field: str) -> list[dict]:
    """A changed maximum of a product or an override. Per Rx on both sides: its header's words
    (`Retail Max Qty per Rx 60 → 90`); Per Days on either: the policy's words, the window with it
    (`Retail: 60 per 30 days → 90 per 30 days`, `Retail: 60 per Rx → 60 per 30 days`)."""
    days, channel = WINDOWS[field]
    a, b = (old.get(field), old.get(days)), (new.get(field), new.get(days))
    if a == b:
        return []
    if a[1] is None and b[1] is None:
        return _fields(kind, id_, old, new, [field])
    before, after = _per(*a), _per(*b)
    return [
        _record(
            kind, "changed", id_, channel, before, after, f"{id_}: {channel}: {before} → {after}"
        )
    ]


def _per(quantity: Any, days: int | None) -> str:
    return f"{_show(quantity)} per {days} days" if days is not None else f"{_show(quantity)} per Rx"


def _fields(kind: str, id_: str, old: dict, new: dict, fields: list[str]) -> list[dict]:
    out = []
    for f in fields:
        if f in WINDOWS and (old.get(WINDOWS[f][0]) or new.get(WINDOWS[f][0])):
            out += _maximum(kind, id_, old, new, f)
            continue
        a, b = old.get(f), new.get(f)
        if a != b:
            out.append(
                _record(
                    kind,
                    "changed",
                    id_,
                    LABELS[f],
                    _scalar(a),
                    _scalar(b),
                    f"{id_}: {LABELS[f]} {_show(a)} → {_show(b)}",
                )
            )
    return out


def _scalar(v: Any) -> Any:
    return "; ".join(v) if isinstance(v, list) else v


def _compare(kind: str, old: dict, new: dict, fields: list[str]) -> list[dict]:
    out = []
    noun = kind.replace("_", " ")
    for key in sorted(new.keys() - old.keys()):
        out.append(_record(kind, "added", key, None, None, None, f"{key}: {noun} added"))
    for key in sorted(old.keys() - new.keys()):
        out.append(_record(kind, "removed", key, None, None, None, f"{key}: {noun} removed"))
    for key in sorted(old.keys() & new.keys()):
        out += _fields(kind, key, old[key], new[key], fields)
    return out


def _keyed(rows: list[dict], key: str) -> dict[str, dict]:
    return {r[key]: r for r in rows}


def _policies(doc: dict) -> dict[str, dict]:
    # Status in the workbook's words; a version without one is Active.
    return {
        p["policy_id"]: {**p, "status": p.get("status", "active").title()} for p in doc["policies"]
    }


def _products(doc: dict) -> dict[str, dict]:
    # Status as policies' (schema 3): a product without one is Active.
    return {
        p["product_id"]: {
            **p,
            "policy_id": pol["policy_id"],
            "status": p.get("status", "active").title(),
        }
        for pol in doc["policies"]
        for p in pol["products"]
    }


def _overrides(doc: dict) -> dict[str, dict]:
    # An override's caps are over its product's window: compared with it. A Per Rx product's
    # overrides (no window) are compared as they are, not copied.
    out = {}
    for pol in doc["policies"]:
        for p in pol["products"]:
            window = _windows(p) if p["overrides"] else None
            for o in p["overrides"]:
                out[f"{p['product_id']} / {o['criterion_id']}"] = {**o, **window} if window else o
    return out


def _windows(product: dict) -> dict:
    return {days: product[days] for days, _ in WINDOWS.values() if days in product}


def _members(doc: dict) -> dict[str, dict]:
    return {
        f"{dl['drug_list_id']} / {d['drug']}": d for dl in doc["drug_lists"] for d in dl["drugs"]
    }


def _history(doc: dict) -> dict[tuple, dict]:
    return {
        (p["policy_id"], h["type_of_revision"], h["summary_of_changes"], h["review_date"]): h
        for p in doc["policies"]
        for h in p["history"]
    }
