"""What one pass of the engine computes over a batch of claims: `decide` frames it, messages.py
words it, explain.py narrates it (one claim), so nothing is decided twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..vocabulary import DECISIONS
from .drugs import DrugTexts
from .encode import Coded, Plain
from .resolve import Named

# Each claim's decision as a code into DECISIONS.
APPROVE, OVERRIDE, DENY, NOT_APPLICABLE, INVALID = range(len(DECISIONS))
# Private columns of a run (decide/run.py), never a file's: in, what the member already received in
# each claim's window (millionths; NaN: nothing, or not a Per Days claim); out, the cap of the best
# override met whatever the quantity (millionths; NaN: none), which the run's order needs.
ACCUMULATED, CAP = "__accumulated", "__cap"
# A run's first pass (its claims', or its history's): the Per Days claims' messages, which depend
# on what the member received, are left for the pass that knows it.
FIRST_PASS = "__first_pass"
# A pass for the windows alone (decide/buckets.py, a history's fills): only the columns run.terms
# and run.fills read.
TERMS_ONLY = "__terms_only"


@dataclass
class Evaluation:
    """Per claim (n of them): what it said, and what the engine made of it."""

    n: int
    claim_id: Any  # None when the caller echoes the claim ids itself (decide/versions.py)
    named: Named  # how the claim names its product: product_id, ndc, rxcui, as given and read
    product: np.ndarray  # index into Engine.products, or UNKNOWN, MISSING (encode.py),
    # MALFORMED, CONFLICT (resolve.py)
    channel_text: Coded  # the claim's channel as given
    channel: np.ndarray  # index into CHANNELS, encode.UNKNOWN or encode.MISSING
    quantity_text: Coded | Plain  # the claim's quantity as given
    quantity: np.ndarray  # float, NaN when missing or not a number
    drugs: np.ndarray  # codes into drug_texts.texts (-1: none)
    drug_texts: DrugTexts
    attested: np.ndarray  # codes into attested_texts (-1: none)
    attested_texts: list[str]
    problem: Coded  # the reader's note on a malformed row, or none
    days: np.ndarray  # the date of service as a day number, or encode.NO_DATE / BAD_DATE
    date_text: Coded  # the date of service as echoed: YYYY-MM-DD, or as given when not a date
    out_of_effect: Coded  # why no version was in effect on the claim's date, or none
    member: Coded  # the claim's member_id as given
    no_member: np.ndarray  # whether the claim has no member_id (missing or blank)
    # A Per Days claim's window in days (its product's, for its channel); 0 for any other claim
    period: np.ndarray
    # What the member received in a Per Days claim's window before it (millionths); -1 for a claim
    # not decided over a window (any other product, or invalid, not applicable)
    accumulated: np.ndarray
    best_cap: np.ndarray  # a Per Days claim's best override's cap, whatever its quantity; NaN: none
    provisional: bool  # a run's first pass: no message for a claim decided over a window
    terms_only: bool  # only what the windows need (TERMS_ONLY)
    decision: np.ndarray  # APPROVE … INVALID
    limit: np.ndarray  # the product's channel maximum; NaN unless the claim is valid for a product
    approved: np.ndarray  # NaN for not_applicable and invalid
    winner: np.ndarray  # index into Engine.overrides, -1 when none applies
    met: dict[str, np.ndarray] = field(default_factory=dict)  # criterion id -> met per row
    # Per attested text (as attested codes it): the Criterion IDs it names that the ruleset lacks.
    unknown_attested: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def product_text(self) -> Coded:
        """The claim's product_id as given."""
        return self.named.product_text


def over_limit_groups(
    over: np.ndarray, product: np.ndarray, overrides_of: dict[int, list[tuple[int, Any]]]
) -> Iterator[tuple[np.ndarray, list[tuple[int, Any]]]]:
    """The `over` claims (over their limit, of a product with overrides) of each product, with
    its overrides (`overrides_of`: by product index)."""
    rows = np.flatnonzero(over)
    if not len(rows):
        return
    products = product[rows]
    if len(overrides_of) <= 8:  # few products with overrides: a mask each, no sort
        for p, overrides in overrides_of.items():
            mine = rows[products == p]
            if len(mine):
                yield mine, overrides
        return
    order = np.argsort(products, kind="stable")  # many: group the rows by product once
    rows, products = rows[order], products[order]
    starts = np.flatnonzero(np.r_[True, products[1:] != products[:-1]])
    for start, end in zip(starts, [*starts[1:], len(rows)], strict=True):
        yield rows[start:end], overrides_of[int(products[start])]
