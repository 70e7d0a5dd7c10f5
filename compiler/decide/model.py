"""The ruleset as the engine reads it: products with their limits and overrides, the codes that
name them, criteria and drug list entries, built from a ruleset dict (a published version of
either schema, or a draft from build())."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import names
from ..vocabulary import CHANNELS, CODE_SYSTEMS, MAX_QTY_FIELDS


@dataclass(frozen=True)
class Override:
    criterion_id: str
    max_qty: tuple[float, float]  # per channel, in CHANNELS order: (retail, home delivery)
    approval_months: int | float


@dataclass(frozen=True)
class Product:
    product_id: str
    policy_id: str
    label: str  # "Gleevec® (imatinib tablets, generic), 400 mg tablets"
    unit: str
    max_qty: tuple[float, float]  # per channel, in CHANNELS order: (retail, home delivery)
    overrides: tuple[Override, ...]
    retired_on: str | None = None  # its policy's retirement date (ISO), when it is retired
    # A Per Days product's windows in days, in CHANNELS order (retail, home delivery); None for a
    # Per Rx product (and every product of a version before schema 3).
    days: tuple[int, int] | None = None
    # Retired by its own Status (schema 3), not by its policy's: which one the message names.
    retired_itself: bool = False


@dataclass(frozen=True)
class Criterion:
    criterion_id: str
    description: str
    met_when: str  # "concomitant_drug_on_list" or "attested"
    drug_list_id: str | None


@dataclass(frozen=True)
class ListEntry:
    drug: str  # the list's drug, as the workbook spells it
    name: str  # the drug or one of its aliases
    words: str  # `name`, normalized


def products(ruleset: dict[str, Any]) -> list[Product]:
    """Every product of every policy, in the ruleset's order, its overrides in `override_order`."""
    return [
        Product(
            p["product_id"],
            policy["policy_id"],
            f"{p['product']}, {p['strength_and_form']}",
            p["unit"],
            _max_qty(p),
            tuple(
                Override(o["criterion_id"], _max_qty(o), o["approval_months"])
                for o in sorted(p["overrides"], key=override_order)
            ),
            retired_on(policy, p),
            _days(p),
            policy.get("status") != "retired" and p.get("status") == "retired",
        )
        for policy in ruleset["policies"]
        for p in policy["products"]
    ]


def override_order(override: dict[str, Any]) -> str:
    """The order in which a product's overrides are weighed: by criterion id (code point), so
    that of two met overrides with the same maximum for the channel the first wins, whatever the
    order of the file's `overrides` array (the engine and the JDM graph alike)."""
    return override["criterion_id"]


def product_codes(ruleset: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Code system -> code -> the index of its product in `products(ruleset)`. A schema-1
    version has no codes."""
    out: dict[str, dict[str, int]] = {system: {} for system in CODE_SYSTEMS}
    i = 0
    for policy in ruleset["policies"]:
        for p in policy["products"]:
            for c in p.get("codes", ()):
                out[c["code_system"]][c["code"]] = i
            i += 1
    return out


def code_descriptions(ruleset: dict[str, Any]) -> dict[tuple[str, str], str | None]:
    """(code system, code) -> the code's description (`Sun Pharma, bottle of 30`)."""
    return {
        (c["code_system"], c["code"]): c["description"]
        for policy in ruleset["policies"]
        for p in policy["products"]
        for c in p.get("codes", ())
    }


def retired_on(policy: dict[str, Any], product: dict[str, Any] | None = None) -> str | None:
    """A retired policy's retirement date, or a retired product's (schema 3: its `status`): the
    policy's Review Date, the date of the History row that records the retirement (ISO); None for
    an active policy and product (no `status`, or `active`)."""
    retired = policy.get("status") == "retired" or (product or {}).get("status") == "retired"
    return policy["review_date"] if retired else None


def criteria(ruleset: dict[str, Any]) -> dict[str, Criterion]:
    """Criterion id -> criterion, in the ruleset's order."""
    return {
        c["criterion_id"]: Criterion(
            c["criterion_id"], c["description"], c["met_when"], c.get("drug_list_id")
        )
        for c in ruleset["criteria"]
    }


def drug_lists(ruleset: dict[str, Any]) -> dict[str, list[ListEntry]]:
    """Drug list id -> an entry for each drug and each of its aliases."""
    return {
        dl["drug_list_id"]: [
            ListEntry(d["drug"], name, names.normalize(name))
            for d in dl["drugs"]
            for name in [d["drug"], *d["also_known_as"]]
        ]
        for dl in ruleset["drug_lists"]
    }


def _days(product: dict[str, Any]) -> tuple[int, int] | None:
    """A Per Days product's windows (retail, home delivery); None for a Per Rx product."""
    if "retail_days" not in product:
        return None
    return (product["retail_days"], product["home_delivery_days"])


def _max_qty(limits: dict[str, Any]) -> tuple[float, float]:
    return tuple(limits[MAX_QTY_FIELDS[channel]] for channel in CHANNELS)
