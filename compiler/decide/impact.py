"""The impact of a rule change: which claims decide differently under two rulesets.

Both sides come from the decision engine; this module only lines up two decision frames for the
same claims, keeps the rows whose decision or approved quantity differs, and counts the decision
transitions (approve → deny, …) with their approved-quantity totals. `compare` does it for one
batch (the app's Compare page, each batch of `dqm impact`); `Transitions` add up across batches
(a stream of a year of claims, or Spark's partitions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from ..vocabulary import DECISIONS, format_number, json_number
from .decisions import typed_quantities
from .stream import Tally, decide_stream

if TYPE_CHECKING:  # the engine sits beside this module; only its `decide` is used
    from .engine import Engine

Decide = Callable[[pd.DataFrame], pd.DataFrame]

# What a reviewer reads for each changed claim, in this order: the claim as it names its product
# (a product id, an NDC, an RxCUI) and its date, the product each side resolved it to (an NDC one
# version does not know is no product there), and each side's decision, quantity, limit and words.
IMPACT_COLUMNS = [
    "claim_id",
    "product_id_before",
    "product_id_after",
    "ndc",
    "rxcui",
    "channel",
    "quantity",
    "date_of_service",
    "decision_before",
    "decision_after",
    "approved_quantity_before",
    "approved_quantity_after",
    "limit_before",
    "limit_after",
    "message_before",
    "message_after",
    "change",
]
# The claim's own columns, taken from the claims batch (blank when the batch is not given).
_CLAIM_CODES = ["ndc", "rxcui"]


# The changed claims with one type per column, for Parquet and Spark.
IMPACT_SCHEMA = pa.schema(
    [
        (
            c,
            pa.float64()
            if c.startswith(("quantity", "approved_quantity", "limit"))
            else pa.string(),
        )
        for c in IMPACT_COLUMNS
    ]
)

# The transitions table: one row per (decision before, decision after) that occurs.
TRANSITION_COLUMNS = [
    "decision_before",
    "decision_after",
    "claims",
    "approved_quantity_before",
    "approved_quantity_after",
]


@dataclass
class Transitions:
    """Claims counted by their decision under each ruleset, with the approved quantities summed
    (none counts as 0); they add up over batches."""

    # (before, after) codes into DECISIONS -> [claims, approved before, approved after]
    cells: dict[tuple[int, int], list[float]] = field(default_factory=dict)

    @classmethod
    def of(cls, before: pd.DataFrame, after: pd.DataFrame) -> Transitions:
        """The transitions between two decision frames of the same claims."""
        a = _decision_codes(before["decision"])
        b = _decision_codes(after["decision"])
        qa = pd.to_numeric(before["approved_quantity"], errors="coerce").to_numpy(
            float, na_value=0.0
        )
        qb = pd.to_numeric(after["approved_quantity"], errors="coerce").to_numpy(
            float, na_value=0.0
        )
        pair = a * len(DECISIONS) + b
        n = len(DECISIONS) ** 2
        counts = np.bincount(pair, minlength=n)
        sums_a = np.bincount(pair, weights=np.nan_to_num(qa), minlength=n)
        sums_b = np.bincount(pair, weights=np.nan_to_num(qb), minlength=n)
        return cls(
            {
                divmod(int(k), len(DECISIONS)): [int(counts[k]), sums_a[k], sums_b[k]]
                for k in np.flatnonzero(counts)
            }
        )

    def add(self, other: Transitions) -> Transitions:
        for key, (n, qa, qb) in other.cells.items():
            cell = self.cells.setdefault(key, [0, 0.0, 0.0])
            cell[0] += n
            cell[1] += qa
            cell[2] += qb
        return self

    @property
    def claims(self) -> int:
        return int(sum(c[0] for c in self.cells.values()))

    @property
    def changed_decision(self) -> int:
        return int(sum(c[0] for (a, b), c in self.cells.items() if a != b))

    def table(self) -> pd.DataFrame:
        """One row per transition that occurs, changes first, in the order of DECISIONS."""
        keys = sorted(self.cells, key=lambda k: (k[0] == k[1], k))
        return pd.DataFrame(
            [[DECISIONS[a], DECISIONS[b], *_whole(self.cells[(a, b)])] for a, b in keys],
            columns=TRANSITION_COLUMNS,
        )

    def as_text(self) -> str:
        """The table as a reviewer reads it, with a total row."""
        rows = [
            [
                f"{r.decision_before} → {r.decision_after}",
                r.claims,
                r.approved_quantity_before,
                r.approved_quantity_after,
            ]
            for r in self.table().itertuples(index=False)
        ]
        total = [sum(c[i] for c in self.cells.values()) for i in range(3)]
        rows.append(["all claims", *_whole(total)])
        cells = [[label, *(format_number(x) for x in numbers)] for label, *numbers in rows]
        head = ["decision", "claims", "approved before", "approved after"]
        widths = [max(len(str(r[i])) for r in [head, *cells]) for i in range(4)]
        lines = [
            "  ".join(
                str(v).ljust(w) if i == 0 else str(v).rjust(w)
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
            for r in [head, *cells]
        ]
        return "\n".join(lines)


@dataclass
class Impact:
    """Two decision frames over one batch, and the rows that differ between them."""

    before: pd.DataFrame
    after: pd.DataFrame
    changed: pd.DataFrame
    transitions: Transitions | None = None
    rows: np.ndarray | None = None  # each changed claim's position in the batch

    def __post_init__(self) -> None:
        if self.transitions is None:
            self.transitions = Transitions.of(self.before, self.after)

    @property
    def claims(self) -> int:
        return len(self.before)

    @property
    def summary(self) -> str:
        n = len(self.changed)
        if n == 0:
            return f"No claim changes decision or approved quantity ({self.claims:,} compared)."
        verb = "changes" if n == 1 else "change"
        return f"{n:,} of {self.claims:,} claims {verb} decision or approved quantity."


def changed_rows(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """The positions of the claims whose decision or approved quantity differs between two
    decision frames of the same claims, in order."""
    if len(before) != len(after):
        raise ValueError(
            f"The two decision frames hold {len(before)} and {len(after)} rows; "
            "decide the same claims with both rulesets."
        )
    decision_differs = (
        before["decision"].astype(object).to_numpy() != after["decision"].astype(object).to_numpy()
    )
    qty_a = pd.to_numeric(before["approved_quantity"], errors="coerce").to_numpy(
        float, na_value=np.nan
    )
    qty_b = pd.to_numeric(after["approved_quantity"], errors="coerce").to_numpy(
        float, na_value=np.nan
    )
    # Two blanks (an invalid claim on both sides) are the same, not a change.
    qty_differs = (qty_a != qty_b) & ~(np.isnan(qty_a) & np.isnan(qty_b))
    return np.flatnonzero(decision_differs | qty_differs)


def changed_decisions(
    before: pd.DataFrame, after: pd.DataFrame, claims: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Rows of two decision frames (same claims, same order) whose decision or approved quantity
    differs, with both sides side by side and the change in words; the claims' NDC and RxCUI
    from `claims` (the batch both decided), blank without it."""
    return _changed(before, after, claims, changed_rows(before, after))


def _changed(
    before: pd.DataFrame, after: pd.DataFrame, claims: pd.DataFrame | None, rows: np.ndarray
) -> pd.DataFrame:
    a = before.iloc[rows].reset_index(drop=True)
    b = after.iloc[rows].reset_index(drop=True)
    given = {}
    for code in _CLAIM_CODES:
        column = None if claims is None else claims.get(code)
        given[code] = (
            pd.Series([None] * len(rows), dtype="str")
            if column is None
            else column.iloc[rows].reset_index(drop=True)
        )
    out = pd.DataFrame(
        {
            "claim_id": a["claim_id"],
            "product_id_before": a["product_id"],
            "product_id_after": b["product_id"],
            **given,
            "channel": a["channel"],
            "quantity": a["quantity"],
            # The date as the decisions echo it (ISO when it is a date), the same on both sides.
            "date_of_service": _column(a, "date_of_service"),
            "decision_before": a["decision"],
            "decision_after": b["decision"],
            "approved_quantity_before": a["approved_quantity"],
            "approved_quantity_after": b["approved_quantity"],
            "limit_before": a["limit"],
            "limit_after": b["limit"],
            "message_before": _column(a, "message"),
            "message_after": _column(b, "message"),
        }
    )
    out = typed_quantities(out)  # a quantity given as text is never a change: invalid either way
    out["change"] = pd.Series([_wording(r) for r in out.itertuples(index=False)], dtype="str")
    return out[IMPACT_COLUMNS]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of a decision frame, or blanks when the frame has none (a frame made by hand)."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype="str")


def compare(
    before: Engine | Decide,
    after: Engine | Decide,
    claims: pd.DataFrame,
    history: pd.DataFrame | None = None,
) -> Impact:
    """Decide one batch with both rulesets (engines, or their decide functions) and report what
    changes: the changed claims (with the claims' own codes) and the transitions. With engines,
    each decides the claims as its own run against `history` (the members' earlier fills)."""
    if history is not None:
        a, b = before.decide(claims, history), after.decide(claims, history)
    else:
        a, b = _decide(before)(claims), _decide(after)(claims)
    rows = changed_rows(a, b)
    return Impact(a, b, _changed(a, b, claims, rows), rows=rows)


def impact_stream(
    batches: Iterable[pd.DataFrame],
    before: Engine | Decide,
    after: Engine | Decide,
    write_changed: Callable[[pd.DataFrame], None],
    tally: Tally | None = None,
) -> Transitions:
    """`compare` over a stream of claim batches (stream.decide_stream: read, compare, write
    overlapped, memory bounded): each batch's changed claims go to `write_changed` in order; the
    transitions of all the claims are returned."""
    total = Transitions()

    def write(result: Impact) -> None:
        write_changed(result.changed)
        total.add(result.transitions)

    def both(claims: pd.DataFrame) -> Impact:
        result = compare(before, after, claims)
        result.before = result.after = None  # only the changed rows travel on
        return result

    decide_stream(batches, both, write, tally, size=lambda r: r.transitions.claims)
    return total


def _decide(ruleset: Engine | Decide) -> Decide:
    return ruleset if callable(ruleset) and not hasattr(ruleset, "decide") else ruleset.decide


def _decision_codes(column: pd.Series) -> np.ndarray:
    """Each decision as its index in DECISIONS."""
    values = column.astype(object).to_numpy()
    codes = pd.Categorical(values, categories=list(DECISIONS)).codes
    if (codes < 0).any():
        raise ValueError(f"Not a decision: {values[codes < 0][0]!r}.")
    return codes.astype(np.int64)


def _whole(cell: list[float]) -> list:
    return [json_number(x) for x in cell]


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
