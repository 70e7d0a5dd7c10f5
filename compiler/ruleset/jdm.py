"""A ruleset as a GoRules JDM decision graph (`vN.jdm.json`), for rules engines that read JDM.

The graph is one decision table (hit policy "first"). Its inputs are a *valid* claim's
`product_id`, `channel` (`retail`/`home_delivery`), `quantity`, and `met_criteria`: the
Criterion IDs the claim meets. Drug-name matching and attestation are dqm's (decide/drugs.py and
the engine), so a caller states which criteria are met; `contexts()` computes them with the
engine. Outputs: decision, approved_quantity, limit, criterion_id, reject_code, approval_months.

A ruleset with a Per Days product takes one more input, `accumulated_quantity` (A: what the
member received of the product in the claim's window, the caller's to compute; 0 for a Per Rx
product), and gives one more output, `period_days` (the window). A Per Days product's rows decide
A + quantity against the limit, and an override approves up to its cap less A. A ruleset of Per
Rx products only is the graph it always was, byte for byte.

Rows, per product and channel: approve at or under the limit; then one row per override, highest
channel maximum first (ties by criterion id, as the engine breaks them), so the first met override is the one the engine
picks; then deny. A last row answers not_applicable for any other product, the products of a
retired policy and retired products among them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from ..decide.model import override_order
from ..vocabulary import CHANNELS, MAX_QTY_FIELDS, REJECT_CODE, format_number, json_number

if TYPE_CHECKING:  # pandas only for the hint: the graph itself is plain data
    import pandas as pd

CONTENT_TYPE = "application/vnd.gorules.decision"
INPUTS = [
    ("product", "Product ID", "product_id"),
    ("channel", "Channel", "channel"),
    ("quantity", "Quantity", "quantity"),
    ("met", "Met criteria", "met_criteria"),
]
ACCUMULATED = ("accumulated", "Accumulated quantity", "accumulated_quantity")
PERIOD = ("period", "Period days", "period_days")
OUTPUTS = [
    ("decision", "Decision", "decision"),
    ("approved", "Approved quantity", "approved_quantity"),
    ("limit", "Limit", "limit"),
    ("criterion", "Criterion ID", "criterion_id"),
    ("reject", "Reject code", "reject_code"),
    ("months", "Approval months", "approval_months"),
]


def graph(ruleset: dict[str, Any]) -> dict[str, Any]:
    """The JDM decision graph of a ruleset (a published version or a draft)."""
    windowed = any(
        "retail_days" in p
        for policy in ruleset["policies"]
        if policy.get("status") != "retired"
        for p in policy["products"]
        if p.get("status") != "retired"
    )
    rules: list[dict[str, str]] = []
    channel_lits = {channel: _lit(channel) for channel in CHANNELS}
    approve, override, deny, reject = (
        _lit("approve"),
        _lit("override"),
        _lit("deny"),
        _lit(REJECT_CODE),
    )
    for policy in ruleset["policies"]:
        if policy.get("status") == "retired":
            continue  # its products fall to the last row, not_applicable, as the engine decides
        for p in policy["products"]:
            if p.get("status") == "retired":
                continue  # a product retired by its own Status (schema 3): not_applicable too
            product = _lit(p["product_id"])  # each literal made once per product, not per row
            criteria = [
                (o, _lit(o["criterion_id"]), _lit(o["approval_months"])) for o in p["overrides"]
            ]
            for channel in CHANNELS:
                max_field = MAX_QTY_FIELDS[channel]
                limit = _lit(p[max_field])
                when = {"product": product, "channel": channel_lits[channel]}
                if windowed:
                    when["accumulated"] = ""
                days = p.get(f"{channel}_days")
                if days is not None:
                    rules += _per_days_rows(p, channel, when, criteria, days)
                    continue
                rules.append(
                    _row(
                        f"{p['product_id']}/{channel}/approve",
                        when,
                        f"<= {limit}",
                        "",
                        decision=approve,
                        approved="quantity",
                        limit=limit,
                    )
                )
                ranked = (
                    criteria
                    if len(criteria) < 2
                    else sorted(  # ties in the engine's order, whatever the array's
                        criteria, key=lambda c: (-c[0][max_field], override_order(c[0]))
                    )
                )
                for o, criterion, months in ranked:
                    cap = _lit(o[max_field])
                    rules.append(
                        _row(
                            f"{p['product_id']}/{channel}/override/{o['criterion_id']}",
                            when,
                            f"> {limit}",
                            f"contains($, {criterion})",
                            decision=override,
                            approved=f"min([quantity, {cap}])",
                            limit=limit,
                            criterion=criterion,
                            reject=reject,
                            months=months,
                        )
                    )
                rules.append(
                    _row(
                        f"{p['product_id']}/{channel}/deny",
                        when,
                        f"> {limit}",
                        "",
                        decision=deny,
                        approved="0",
                        limit=limit,
                        reject=reject,
                    )
                )
    rules.append(
        _row(
            "other-product/not-applicable",
            {"product": "", "channel": "", **({"accumulated": ""} if windowed else {})},
            "",
            "",
            decision=_lit("not_applicable"),
        )
    )
    if windowed:
        for r in rules:
            r.setdefault("period", "")
    inputs = INPUTS[:3] + [ACCUMULATED] + INPUTS[3:] if windowed else INPUTS
    outputs = OUTPUTS + [PERIOD] if windowed else OUTPUTS
    version = ruleset.get("version")
    return {
        "contentType": CONTENT_TYPE,
        "nodes": [
            {"id": "claim", "type": "inputNode", "name": "Claim", "position": {"x": 0, "y": 0}},
            {
                "id": "dqm",
                "type": "decisionTableNode",
                "position": {"x": 300, "y": 0},
                "name": f"{ruleset['ruleset_id']} v{version}" if version else ruleset["ruleset_id"],
                "content": {
                    "hitPolicy": "first",
                    "inputs": [{"id": i, "name": name, "field": f} for i, name, f in inputs],
                    "outputs": [{"id": i, "name": name, "field": f} for i, name, f in outputs],
                    "rules": rules,
                    "passThrough": False,
                    "inputField": None,
                    "outputPath": None,
                    "executionMode": "single",
                },
            },
            {
                "id": "decision",
                "type": "outputNode",
                "name": "Decision",
                "position": {"x": 600, "y": 0},
            },
        ],
        "edges": [
            {"id": "claim-dqm", "type": "edge", "sourceId": "claim", "targetId": "dqm"},
            {"id": "dqm-decision", "type": "edge", "sourceId": "dqm", "targetId": "decision"},
        ],
    }


def _per_days_rows(
    p: dict[str, Any], channel: str, when: dict[str, str], criteria: list, days: int
) -> list[dict[str, str]]:
    """A Per Days product's rows for one channel: approve while A + quantity is within the
    limit; else the met override with the highest cap (ties by criterion id) approves
    min(quantity, cap − A) while that is above 0; else deny."""
    max_field = MAX_QTY_FIELDS[channel]
    limit, period, reject = _lit(p[max_field]), _lit(days), _lit(REJECT_CODE)
    within, over = f"$ + {ACCUMULATED[2]} <= {limit}", f"$ + {ACCUMULATED[2]} > {limit}"
    base = f"{p['product_id']}/{channel}"
    rows = [
        _row(
            f"{base}/approve",
            when,
            within,
            "",
            decision=_lit("approve"),
            approved="quantity",
            limit=limit,
            period=period,
        )
    ]
    ranked = sorted(criteria, key=lambda c: (-c[0][max_field], override_order(c[0])))
    for o, criterion, months in ranked:
        cap = _lit(o[max_field])
        rows.append(
            _row(
                f"{base}/override/{o['criterion_id']}",
                {**when, "accumulated": f"< {cap}"},  # something left under the cap
                over,
                f"contains($, {criterion})",
                decision=_lit("override"),
                approved=f"min([quantity, {cap} - {ACCUMULATED[2]}])",
                limit=limit,
                criterion=criterion,
                reject=reject,
                months=months,
                period=period,
            )
        )
    rows.append(
        _row(
            f"{base}/deny",
            when,
            over,
            "",
            decision=_lit("deny"),
            approved="0",
            limit=limit,
            reject=reject,
            period=period,
        )
    )
    return rows


def contexts(engine, claims: pd.DataFrame) -> list[dict[str, Any] | None]:
    """Each claim as the graph's input, its met criteria computed by `engine`; None for a claim
    the engine decides as invalid (the graph decides valid claims only)."""
    decided = engine.decide(claims)
    met = engine.met_criteria(claims)
    accumulated = (  # a Per Days product's, as the engine counted it; 0 for the others
        decided["accumulated_quantity"].tolist()
        if "accumulated_quantity" in decided
        else [None] * len(decided)
    )
    out: list[dict[str, Any] | None] = []
    for row, criteria, received in zip(
        decided.itertuples(index=False), met, accumulated, strict=True
    ):
        if row.decision == "invalid":
            out.append(None)
            continue
        product = engine.product(row.product_id)
        out.append(
            {
                "product_id": product.product_id if product else str(row.product_id).strip(),
                "channel": row.channel,
                "quantity": json_number(row.quantity),
                "met_criteria": criteria,
                "accumulated_quantity": json_number(received) or 0,
            }
        )
    return out


def _row(
    rule_id: str,
    when: dict[str, str],
    quantity: str,
    met: str,
    *,
    decision: str,
    approved: str = "",
    limit: str = "",
    criterion: str = "",
    reject: str = "",
    months: str = "",
    period: str | None = None,
) -> dict[str, str]:
    row = {
        "_id": rule_id,
        "product": when["product"],
        "channel": when["channel"],
        "quantity": quantity,
        "met": met,
        "decision": decision,
        "approved": approved,
        "limit": limit,
        "criterion": criterion,
        "reject": reject,
        "months": months,
    }
    # Set after, not spread in: 100,000 rows, and the graph is written with sorted keys.
    if "accumulated" in when:
        row["accumulated"] = when["accumulated"]
    if period is not None:
        row["period"] = period
    return row


def _lit(value: Any) -> str:
    """A value as a JDM expression literal: "text" quoted, 60 not 60.0."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number_lit(value)
    return orjson.dumps(value).decode()


@lru_cache(maxsize=4096)  # limits and months repeat across 20,000 products
def _number_lit(value: float) -> str:
    return format_number(value, thousands=False)  # Python's text of a number is JSON's
