"""A picture of the rule for one product and channel: what the engine decides for every requested
quantity, once with no criterion met and once with each override criterion met.

Nothing here knows a limit: the regions, the limit and the caps are read off the engine's own
decisions over a range of quantities.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from compiler.decide.claims import claims_frame
from compiler.decide.engine import Engine

NO_CRITERION = "No override criterion met"
# Colours by outcome: green approves, blues override (lighter where the cap cuts the quantity), red denies.
COLOURS = {"approve": "#2e7d32", "override": "#1565c0", "override, capped": "#64b5f6",
           "deny": "#c62828", "not_applicable": "#9e9e9e", "invalid": "#616161"}
PROBE_QUANTITY = 10**9  # far beyond any limit: where the engine shows each scenario's cap
MAX_POINTS = 2_000  # quantities decided per scenario; a claim for a million tablets must not mean a million rows


def scenarios(doc: dict[str, Any], product_id: str) -> list[dict[str, str]]:
    """The claims to draw: none of the criteria met, then each of the product's override criteria
    met (a drug from its list, or the criterion attested)."""
    criteria = {c["criterion_id"]: c for c in doc["criteria"]}
    lists = {d["drug_list_id"]: d["drugs"] for d in doc["drug_lists"]}
    out = [{"scenario": NO_CRITERION, "concomitant_drugs": "", "attested_criteria": ""}]
    for override in _product(doc, product_id)["overrides"]:
        c = criteria[override["criterion_id"]]
        if c["met_when"] == "attested":
            out.append({"scenario": f"{c['criterion_id']} attested",
                        "concomitant_drugs": "", "attested_criteria": c["criterion_id"]})
        else:
            drug = lists[c["drug_list_id"]][0]["drug"]
            out.append({"scenario": f"{c['criterion_id']} met (e.g. {drug})",
                        "concomitant_drugs": drug, "attested_criteria": ""})
    return out


def decisions_over_quantity(engine: Engine, doc: dict[str, Any], product_id: str, channel: str,
                            q_max: float | None = None) -> tuple[pd.DataFrame, float]:
    """The engine's decision for quantities 1..q_max under each scenario, and q_max (by default 1.5
    times the largest limit or cap the engine reports, so every region shows)."""
    cases = scenarios(doc, product_id)
    probe = engine.decide(_claims(cases, product_id, channel, [PROBE_QUANTITY]))
    marks = pd.concat([pd.to_numeric(probe["limit"], errors="coerce"),
                       pd.to_numeric(probe["approved_quantity"], errors="coerce")])
    marks = marks[marks.notna() & (marks > 0)]
    if q_max is None:
        q_max = float(math.ceil(1.5 * marks.max())) if len(marks) else 100.0
    quantities = _sample(q_max, list(marks))
    decided = engine.decide(_claims(cases, product_id, channel, quantities))
    decided["scenario"] = [c["scenario"] for c in cases for _ in quantities]
    decided["requested"] = [q for _ in cases for q in quantities]
    return decided, q_max


def _sample(q_max: float, marks: list[float]) -> list[int]:
    """Every whole quantity up to q_max, or, past MAX_POINTS of them, an even sample that still
    holds both sides of each limit and cap (so region edges stay exact)."""
    top = int(q_max)
    if top <= MAX_POINTS:
        return list(range(1, top + 1))
    step = math.ceil(top / MAX_POINTS)
    picked = set(range(1, top + 1, step)) | {top}
    for m in marks:
        picked |= {math.floor(m), math.floor(m) + 1}
    return sorted(q for q in picked if 1 <= q <= top)


def regions(decided: pd.DataFrame) -> pd.DataFrame:
    """Runs of one outcome per scenario, as (scenario, outcome, from, to]: a claim for a quantity
    in (from, to] gets that outcome."""
    approved = pd.to_numeric(decided["approved_quantity"], errors="coerce")
    decision = decided["decision"].astype(object)  # the engine's is categorical
    capped = (decision == "override") & (approved < decided["requested"])
    outcome = decision.where(~capped, "override, capped")
    frame = pd.DataFrame({"scenario": decided["scenario"], "outcome": outcome,
                          "requested": decided["requested"], "approved": approved})
    rows = []
    for scenario, group in frame.groupby("scenario", sort=False):
        run = (group["outcome"] != group["outcome"].shift()).cumsum()
        start = 0  # a run starts where the previous one ended
        for _, r in group.groupby(run, sort=False):
            last = r["requested"].iloc[-1]
            rows.append({"scenario": scenario, "outcome": r["outcome"].iloc[0],
                         "from": start, "to": last,
                         "approved": _approved_text(r["approved"])})
            start = last
    return pd.DataFrame(rows)


def markers(decided: pd.DataFrame) -> pd.DataFrame:
    """The channel's limit and each scenario's cap (the most an override approves)."""
    rows = []
    limit = pd.to_numeric(decided["limit"], errors="coerce").dropna()
    if len(limit):
        rows.append({"at": float(limit.iloc[0]), "label": f"limit {_num(limit.iloc[0])}"})
    overrides = decided[decided["decision"] == "override"]
    for scenario, group in overrides.groupby("scenario", sort=False):
        cap = pd.to_numeric(group["approved_quantity"], errors="coerce").max()
        if cap < group["requested"].max():  # only a real cap, not the end of the range
            rows.append({"at": float(cap), "label": f"cap {_num(cap)}"})
    return pd.DataFrame(rows, columns=["at", "label"]).drop_duplicates("at")


def rule_chart(engine: Engine, doc: dict[str, Any], product_id: str, channel: str,
               unit: str = "units", requested: float | None = None) -> alt.LayerChart:
    """Where a claim approves, overrides (up to its cap) or is denied, by requested quantity; the
    reviewer's own claim (`requested`) marked in orange."""
    decided, q_max = decisions_over_quantity(engine, doc, product_id, channel)
    if requested is not None and requested > q_max:
        q_max = float(math.ceil(requested * 1.1))
        decided, _ = decisions_over_quantity(engine, doc, product_id, channel, q_max)
    reg, marks = regions(decided), markers(decided)
    shown = [o for o in COLOURS if o in set(reg["outcome"])]
    x = alt.X("from:Q", title=f"Requested quantity ({unit})", scale=alt.Scale(domain=[0, q_max]))
    bars = alt.Chart(reg).mark_bar(height=28).encode(
        x=x, x2="to:Q",
        y=alt.Y("scenario:N", title=None, sort=None, axis=alt.Axis(labelLimit=320)),
        color=alt.Color("outcome:N", title="Decision", legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=shown, range=[COLOURS[o] for o in shown])),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("outcome:N", title="decision"),
                 alt.Tooltip("from:Q", title="above"), alt.Tooltip("to:Q", title="up to"),
                 alt.Tooltip("approved:N", title="approved quantity")],
    )
    rules = alt.Chart(marks).mark_rule(color="black", strokeDash=[4, 3]).encode(x="at:Q")
    labels = alt.Chart(marks).mark_text(align="left", dx=4, dy=-6, baseline="bottom").encode(
        x="at:Q", y=alt.value(0), text="label:N")
    layers = [bars, rules, labels]
    if requested is not None:
        mine = pd.DataFrame({"at": [requested], "label": [f"this claim: {_num(requested)}"]})
        layers.append(alt.Chart(mine).mark_rule(color="#ef6c00", strokeWidth=3).encode(x="at:Q"))
        # Above the limit and cap labels; on the line's left when it sits near the right edge.
        near_edge = requested > 0.8 * q_max
        layers.append(alt.Chart(mine).mark_text(
            align="right" if near_edge else "left", dx=-4 if near_edge else 4, dy=-20, baseline="bottom",
            color="#ef6c00", fontWeight="bold").encode(x="at:Q", y=alt.value(0), text="label:N"))
    # A height per scenario row: a fixed total height would be shared with the legend.
    return alt.layer(*layers).properties(height={"step": 44})


def _claims(cases: list[dict], product_id: str, channel: str, quantities: list) -> pd.DataFrame:
    return claims_frame([{"claim_id": f"{i}-{q}", "product_id": product_id, "channel": channel,
                          "quantity": str(q), "concomitant_drugs": c["concomitant_drugs"],
                          "attested_criteria": c["attested_criteria"]}
                         for i, c in enumerate(cases) for q in quantities])


def _product(doc: dict[str, Any], product_id: str) -> dict[str, Any]:
    return next(p for pol in doc["policies"] for p in pol["products"] if p["product_id"] == product_id)


def _approved_text(approved: pd.Series) -> str:
    lo, hi = approved.min(), approved.max()
    if pd.isna(lo):
        return "none"
    return _num(lo) if lo == hi else f"{_num(lo)}–{_num(hi)}"


def _num(x: Any) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"
