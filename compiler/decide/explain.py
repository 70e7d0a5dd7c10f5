"""One claim's decision, step by step: the explanation narrates the arrays the decision was
computed from (evaluation.py); it does not decide a second time."""

from __future__ import annotations

import datetime as dt
import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import codes, names
from ..vocabulary import (
    CHANNEL_LABELS,
    CHANNELS,
    CODE_SYSTEMS,
    REJECT_CODE,
    format_number,
    json_number,
)
from .encode import Coded
from .evaluation import APPROVE, DENY, INVALID, NOT_APPLICABLE, Evaluation
from .window import MICRO

if TYPE_CHECKING:  # the engine calls this module; only its rules are read here
    from .engine import Engine


def decision_row(columns: dict[str, Any]) -> dict[str, Any]:
    """The one claim's decision as plain Python values (None for missing; 60, not 60.0)."""
    return {
        k: _plain(v.at(0) if isinstance(v, Coded) else v[0])
        for k, v in columns.items()
        if not k.startswith("__")  # a run's private columns (engine.CAP)
    }


def trace(engine: Engine, ev: Evaluation, row: dict[str, Any]) -> list[str]:
    """The steps from the claim to its decision `row`, one sentence each."""
    version = f"v{engine.version}" if engine.version is not None else "draft"
    lines = [f"Ruleset {engine.ruleset_id} {version}."]
    if ev.out_of_effect.codes[0] >= 0:  # decided by no version (decide/versions.py)
        lines = [f"Ruleset {engine.ruleset_id}: no version is in effect on the date of service."]
    decided = int(ev.decision[0])
    if decided == INVALID:
        return lines + [f"The claim is invalid: {row['message'].removeprefix('Invalid: ')}"]
    p = engine.products[ev.product[0]] if ev.product[0] >= 0 else None
    # no such product, no version in effect on the date, or its policy is retired
    if p is None or decided == NOT_APPLICABLE:
        return lines + _listed_later(engine, ev) + [row["message"]]
    for column, text, code, _ in ev.named.given(0):
        if code is not None:  # named by a code: which product it is
            lines.append(_code_line(engine, column, text, code, int(ev.product[0])))
    ch = int(ev.channel[0])
    label = CHANNEL_LABELS[CHANNELS[ch]]
    qty, limit = format_number(ev.quantity[0]), format_number(ev.limit[0])
    days = int(ev.period[0])
    window = ev.accumulated[0] >= 0
    lines.append(
        f"Product {p.product_id} ({p.label}) is in policy {p.policy_id}; its {label} "
        f"limit is {limit} {p.unit} " + (f"per {days} days." if days else "per Rx.")
    )
    received = ev.accumulated[0] / MICRO if window else 0.0
    if window:  # what counts: the member's fills and earlier claims in the window
        end = dt.date.fromordinal(int(ev.days[0]))
        start = end - dt.timedelta(days=days - 1)
        lines.append(
            f"The window is {start.isoformat()} to {end.isoformat()}; the member received "
            f"{format_number(received)} {p.unit} in it before this claim, so {qty} requested "
            f"makes {format_number(received + ev.quantity[0])}."
        )
        qty_in = format_number(received + ev.quantity[0])
    else:
        qty_in = qty
    if decided == APPROVE:
        lines.append(
            f"{qty_in} is within the limit of {limit}, so no override criterion is needed."
        )
        return lines + [f"Decision: approve {qty} {p.unit}; no reject code."]
    lines.append(f"{qty_in} is over the limit of {limit}.")
    if not p.overrides:
        lines.append(f"{p.product_id} has no overrides, so nothing can raise the limit.")
    drugs = ev.drug_texts.texts[ev.drugs[0]] if ev.drugs[0] >= 0 else None
    attested = ev.attested_texts[ev.attested[0]] if ev.attested[0] >= 0 else None
    matches = engine.drugs.matched(drugs)
    for o in p.overrides:
        c = engine.criteria[o.criterion_id]
        cap = f"{format_number(o.max_qty[ch])} {p.unit} at {label}"
        if c.met_when == "attested":
            said = [
                a for a in names.split_list(attested) if a.casefold() == c.criterion_id.casefold()
            ]
            why = (
                "met: the claim attests it"
                if said
                else f"not met: the claim does not attest it (attested: {attested or 'none'})"
            )
        else:
            found = matches.get(c.drug_list_id, [])
            why = (
                "met: "
                + "; ".join(
                    f"'{item}' matches {e.drug}" + (f" (as {e.name})" if e.name != e.drug else "")
                    for item, e in found
                )
                + f" on list {c.drug_list_id}"
                if found
                else f"not met: no drug on the claim ({drugs or 'none given'}) is on list {c.drug_list_id}"
            )
        lines.append(
            f"Criterion {c.criterion_id} ({c.description}): {why}; its override allows up to {cap}."
        )
    if decided == DENY:
        if window and ev.winner[0] >= 0:
            _, o = engine.overrides[ev.winner[0]]
            lines.append(
                f"The {o.criterion_id} override allows {format_number(o.max_qty[ch])} in the "
                f"window, and the member received {format_number(received)}: nothing is left."
            )
        return lines + [f"Decision: deny; approved 0; reject code {REJECT_CODE}."]
    _, o = engine.overrides[ev.winner[0]]
    met = [oo for oo in p.overrides if ev.met.get(oo.criterion_id, np.zeros(1, bool))[0]]
    if len(met) > 1:
        lines.append(
            f"{len(met)} overrides are met; {o.criterion_id} has the highest {label} "
            f"maximum ({format_number(o.max_qty[ch])}), so it applies."
        )
    approved = format_number(ev.approved[0])
    allowed = format_number(o.max_qty[ch])
    if window:
        allowed = f"{allowed} allowed - {format_number(received)} received"
    else:
        allowed += " allowed"
    lines.append(f"Cap: approved quantity = min({qty} requested, {allowed}) = {approved}.")
    return lines + [
        (
            f"Decision: override; reject code {REJECT_CODE} at the point of service; {approved} "
            f"{p.unit} approvable on coverage review for {format_number(o.approval_months)} months."
        )
    ]


def _code_line(engine: Engine, column: str, text: str, code: codes.Code, product: int) -> str:
    """Which product a claim's code names, and, for a code the deciding version does not list,
    which later version it was read through (docs/claims-and-decisions.md, codes across
    versions)."""
    p = engine.products[product]
    said = f"{CODE_SYSTEMS[column]} {text.strip()!r} ({codes.shown(column, code.value)}) is "
    key = (column, str(code.value))
    later = engine.later_codes
    listed = later.listed(*key) if later and key not in engine.code_descriptions else None
    if listed is None:  # the version lists the code itself
        about = engine.code_descriptions.get(key)
        return said + p.product_id + (f": {about}." if about else ".")
    about = f": {listed.description}" if listed.description else ""
    return (
        f"{said}{p.product_id}{about} (the code as v{listed.engine.version} lists it; "
        f"v{engine.version} {_lists(engine, product)})."
    )


def _lists(engine: Engine, product: int) -> str:
    """What the deciding version lists of a product's codes, for a code of it that it does not."""
    if not any(engine.code_index.values()):
        return "lists no product codes"
    p = engine.products[product].product_id
    if any(product in listed.values() for listed in engine.code_index.values()):
        return f"lists other codes for {p}, not this one"
    return f"lists no codes for {p}"


def _listed_later(engine: Engine, ev: Evaluation) -> list[str]:
    """For a claim that names no product of the deciding version: each of its codes a later
    version lists, for a product the deciding version does not have."""
    if engine.later_codes is None or ev.product[0] >= 0 or ev.out_of_effect.codes[0] >= 0:
        return []
    lines = []
    for column, text, code, product in ev.named.given(0):
        if code is None or code.value is None or product >= 0:
            continue
        listed = engine.later_codes.listed(column, code.value)
        if listed is not None:
            lines.append(
                f"{CODE_SYSTEMS[column]} {text.strip()!r} ({codes.shown(column, code.value)}) is "
                f"{listed.product_id} as v{listed.engine.version} lists it, a product "
                f"v{engine.version} does not have."
            )
    return lines


def _plain(value: Any) -> Any:
    """A cell as a plain Python value: None for missing, numpy numbers as int or float."""
    if isinstance(value, np.integer):
        return int(value)
    pd = sys.modules.get("pandas")  # pandas' NA exists only if pandas was imported
    if value is None or (pd is not None and value is pd.NA) or isinstance(value, np.floating):
        return json_number(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
