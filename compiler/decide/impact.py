"""The impact of a rule change: which claims decide differently under two rulesets.

Both sides come from the decision engine; this module only lines up two decision frames for the
same claims and keeps the rows whose decision or approved quantity differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ..vocabulary import format_number, json_number

if TYPE_CHECKING:  # the engine sits beside this module; only its `decide` is used
    from .engine import Engine

# What a reviewer reads for each changed claim, in this order.
IMPACT_COLUMNS = [
    "claim_id",
    "product_id",
    "channel",
    "quantity",
    "decision_before",
    "decision_after",
    "approved_quantity_before",
    "approved_quantity_after",
    "limit_before",
    "limit_after",
    "change",
]


@dataclass
class Impact:
    """Two decision frames over one batch, and the rows that differ between them."""

    before: pd.DataFrame
    after: pd.DataFrame
    changed: pd.DataFrame

    @property
    def claims(self) -> int:
        return len(self.before)

    @property
    def summary(self) -> str:
        n = len(self.changed)
        if n == 0:
            return f"No claim changes decision or approved quantity ({self.claims} compared)."
        verb = "changes" if n == 1 else "change"
        return f"{n} of {self.claims} claims {verb} decision or approved quantity."


def changed_decisions(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Rows of two decision frames (same claims, same order) whose decision or approved quantity
    differs, with both sides side by side and the change in words."""
    if len(before) != len(after):
        raise ValueError(
            f"The two decision frames hold {len(before)} and {len(after)} rows; "
            "decide the same claims with both rulesets."
        )
    a = before.reset_index(drop=True)
    b = after.reset_index(drop=True)
    decision_differs = a["decision"].astype(object).ne(b["decision"].astype(object))
    qty_a = pd.to_numeric(a["approved_quantity"], errors="coerce")
    qty_b = pd.to_numeric(b["approved_quantity"], errors="coerce")
    # Two blanks (an invalid claim on both sides) are the same, not a change.
    qty_differs = qty_a.ne(qty_b) & ~(qty_a.isna() & qty_b.isna())
    mask = decision_differs | qty_differs
    out = pd.DataFrame(
        {
            "claim_id": a["claim_id"],
            "product_id": a["product_id"],
            "channel": a["channel"],
            "quantity": a["quantity"],
            "decision_before": a["decision"],
            "decision_after": b["decision"],
            "approved_quantity_before": a["approved_quantity"],
            "approved_quantity_after": b["approved_quantity"],
            "limit_before": a["limit"],
            "limit_after": b["limit"],
        }
    )[mask]
    out["change"] = [_wording(r) for r in out.itertuples(index=False)]
    return out.reset_index(drop=True)[IMPACT_COLUMNS]


def compare(before: Engine, after: Engine, claims: pd.DataFrame) -> Impact:
    """Decide one batch with both engines and report what changes."""
    a = before.decide(claims)
    b = after.decide(claims)
    return Impact(a, b, changed_decisions(a, b))


def _wording(r) -> str:
    if r.decision_before != r.decision_after:
        return (
            f"{r.decision_before} → {r.decision_after}; approved "
            f"{_qty(r.approved_quantity_before)} → {_qty(r.approved_quantity_after)}"
        )
    return f"approved {_qty(r.approved_quantity_before)} → {_qty(r.approved_quantity_after)}"


def _qty(x: object) -> str:
    """An approved quantity as the change column has always written it: 1080, no separator."""
    return "(none)" if json_number(x) is None else format_number(x, thousands=False)
