"""The quantity probe: what the engine decides for one product and channel at every requested
quantity, once with no criterion met and once with each of the product's override criteria met,
and the runs of one outcome (regions) and the limit and caps (markers) read off those decisions.

Nothing here knows a limit: the regions, the limit and the caps come from the engine's own
decisions over a range of quantities (the reviewer app draws them as the One claim chart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..vocabulary import MAX_QUANTITY, format_number
from .claims import claims_frame
from .decisions import decision_frame
from .evaluation import ACCUMULATED
from .run import claim_columns
from .window import micro

if TYPE_CHECKING:  # only the engine's `product`, `ruleset` and `decide` are used
    from .engine import Engine

NO_CRITERION = "No override criterion met"
PROBE_QUANTITY = MAX_QUANTITY  # the most a claim may ask: where the engine shows each cap
PROBE_DATE = "2000-01-01"  # any date: one engine decides the probe, whatever is in effect
MAX_POINTS = 2_000  # quantities decided per scenario; a claim for a million tablets must not mean a million rows


@dataclass(frozen=True)
class RuleProbe:
    """The rule for one product and channel over requested quantities (0, q_max]."""

    q_max: float
    regions: pd.DataFrame  # scenario, outcome, from, to, approved: see regions()
    markers: pd.DataFrame  # at, label: see markers()


def scenarios(engine: Engine, product_id: str) -> list[dict[str, str]]:
    """The claims to probe: none of the criteria met, then each of the product's override criteria
    met (the first drug on its list, or the criterion attested)."""
    criteria = {c["criterion_id"]: c for c in engine.ruleset["criteria"]}
    lists = {d["drug_list_id"]: d["drugs"] for d in engine.ruleset["drug_lists"]}
    out = [{"scenario": NO_CRITERION, "concomitant_drugs": "", "attested_criteria": ""}]
    for override in engine.product(product_id).overrides:
        c = criteria[override.criterion_id]
        if c["met_when"] == "attested":
            out.append(
                {
                    "scenario": f"{c['criterion_id']} attested",
                    "concomitant_drugs": "",
                    "attested_criteria": c["criterion_id"],
                }
            )
        else:
            drug = lists[c["drug_list_id"]][0]["drug"]
            out.append(
                {
                    "scenario": f"{c['criterion_id']} met (e.g. {drug})",
                    "concomitant_drugs": drug,
                    "attested_criteria": "",
                }
            )
    return out


def decisions_over_quantity(
    engine: Engine,
    product_id: str,
    channel: str,
    q_max: float | None = None,
    received: float = 0.0,
) -> tuple[pd.DataFrame, float]:
    """The engine's decision for quantities 1..q_max under each scenario (columns `scenario` and
    `requested` added), and q_max (by default 1.5 times the largest limit or cap the engine
    reports, so every region shows). `received`: for a Per Days product, what the member already
    received in the window; each quantity is decided alone against it."""
    cases = scenarios(engine, product_id)
    probe = _decide(engine, _claims(cases, product_id, channel, [PROBE_QUANTITY]), received)
    marks = pd.concat(
        [
            pd.to_numeric(probe["limit"], errors="coerce"),
            pd.to_numeric(probe["approved_quantity"], errors="coerce"),
        ]
    )
    marks = marks[marks.notna() & (marks > 0)]
    if q_max is None:
        q_max = float(math.ceil(1.5 * marks.max())) if len(marks) else 100.0
    quantities = sample_quantities(q_max, list(marks))
    decided = _decide(engine, _claims(cases, product_id, channel, quantities), received)
    decided["scenario"] = [c["scenario"] for c in cases for _ in quantities]
    decided["requested"] = [q for _ in cases for q in quantities]
    return decided, q_max


def sample_quantities(q_max: float, marks: list[float]) -> list[int]:
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
    in (from, to] gets that outcome; an override the cap cuts is "override, capped"."""
    approved = pd.to_numeric(decided["approved_quantity"], errors="coerce")
    decision = decided["decision"].astype(object)  # the engine's is categorical
    capped = (decision == "override") & (approved < decided["requested"])
    outcome = decision.where(~capped, "override, capped")
    frame = pd.DataFrame(
        {
            "scenario": decided["scenario"],
            "outcome": outcome,
            "requested": decided["requested"],
            "approved": approved,
        }
    )
    rows = []
    for scenario, group in frame.groupby("scenario", sort=False):
        run = (group["outcome"] != group["outcome"].shift()).cumsum()
        start = 0  # a run starts where the previous one ended
        for _, r in group.groupby(run, sort=False):
            last = r["requested"].iloc[-1]
            rows.append(
                {
                    "scenario": scenario,
                    "outcome": r["outcome"].iloc[0],
                    "from": start,
                    "to": last,
                    "approved": _approved_text(r["approved"]),
                }
            )
            start = last
    return pd.DataFrame(rows, columns=["scenario", "outcome", "from", "to", "approved"])


def markers(decided: pd.DataFrame, received: float = 0.0) -> pd.DataFrame:
    """The channel's limit (net of what the member received in a Per Days window) and each
    scenario's cap (the most an override approves)."""
    rows = []
    limit = pd.to_numeric(decided["limit"], errors="coerce").dropna()
    if len(limit) and received:
        net = float(limit.iloc[0]) - received
        label = f"limit {_shown(limit.iloc[0])} less {_shown(received)} received"
        rows.append({"at": max(net, 0.0), "label": label})
    elif len(limit):
        rows.append({"at": float(limit.iloc[0]), "label": f"limit {_shown(limit.iloc[0])}"})
    overrides = decided[decided["decision"] == "override"]
    for _, group in overrides.groupby("scenario", sort=False):
        cap = pd.to_numeric(group["approved_quantity"], errors="coerce").max()
        if cap < group["requested"].max():  # only a real cap, not the end of the range
            rows.append({"at": float(cap), "label": f"cap {_shown(cap)}"})
    return pd.DataFrame(rows, columns=["at", "label"]).drop_duplicates("at")


def probe_rule(
    engine: Engine,
    product_id: str,
    channel: str,
    requested: float | None = None,
    received: float = 0.0,
) -> RuleProbe:
    """The rule's regions and markers over a range wide enough for every limit and cap, widened
    to hold `requested` (a reviewer's claim) when it lies beyond them; for a Per Days product,
    net of `received`."""
    decided, q_max = decisions_over_quantity(engine, product_id, channel, None, received)
    if requested is not None and requested > q_max:
        # A tenth more, so the claim's line is not on the edge; never past the most a claim asks.
        q_max = float(min(math.ceil(requested * 1.1), MAX_QUANTITY))
        decided, _ = decisions_over_quantity(engine, product_id, channel, q_max, received)
    return RuleProbe(q_max, regions(decided), markers(decided, received))


def _decide(engine: Engine, claims: pd.DataFrame, received: float) -> pd.DataFrame:
    """Each probe claim alone (never a run: they are what-ifs), a Per Days one against what the
    member `received` in its window."""
    columns, n = claim_columns(claims)
    columns[ACCUMULATED] = np.full(n, float(micro(np.array([received]))[0]))
    return decision_frame(engine.decide_columns(columns, n))


def _claims(
    cases: list[dict[str, str]], product_id: str, channel: str, quantities: list
) -> pd.DataFrame:
    return claims_frame(
        [
            {
                "claim_id": f"{i}-{q}",
                "member_id": "probe",  # a Per Days claim needs a member and a date
                "date_of_service": PROBE_DATE,
                "product_id": product_id,
                "channel": channel,
                "quantity": str(q),
                "concomitant_drugs": c["concomitant_drugs"],
                "attested_criteria": c["attested_criteria"],
            }
            for i, c in enumerate(cases)
            for q in quantities
        ]
    )


def _approved_text(approved: pd.Series) -> str:
    lo, hi = approved.min(), approved.max()
    if pd.isna(lo):
        return "none"
    return _shown(lo) if lo == hi else f"{_shown(lo)}–{_shown(hi)}"


def _shown(x: float) -> str:
    # As the labels have always read: no thousands separator (limit 1080).
    return format_number(x, thousands=False)
