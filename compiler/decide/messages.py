"""Each decision's message, in words a reviewer reads.

Approve, deny and override messages depend only on the product, the channel and the override, so
a ruleset's are all written once (`Messages`) and each claim's is chosen by array lookup, never
formatted per row. not_applicable and invalid messages are written once per distinct cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..vocabulary import CHANNEL_LABELS, CHANNELS, REJECT_CODE, format_number
from .claims import quantity_problem
from .encode import MISSING, UNKNOWN, Coded
from .evaluation import APPROVE, DENY, INVALID, NOT_APPLICABLE, OVERRIDE, Evaluation
from .model import Criterion, Product

_CHANNEL_WORDS = " or ".join(CHANNELS)  # "retail or home_delivery"


@dataclass
class Messages:
    """A ruleset's fixed messages, and where each decision finds its own in `texts`:
    - approve[product, channel]: within the limit;
    - deny[product, channel]: over it, no override met (or none exists);
    - override[override, channel, capped]: over it and that override applies (an index into
      Engine.overrides); capped is 1 when the override's maximum cut the quantity requested."""

    ruleset: str  # "oncology-dqm v3", or "oncology-dqm (draft)"
    texts: list[str]
    approve: np.ndarray
    deny: np.ndarray
    override: np.ndarray

    def not_applicable(self, product_text: Any) -> str:
        """The message for a claim whose product has no limit in the ruleset."""
        return f"Ruleset {self.ruleset} has no quantity limit for product {str(product_text).strip()!r}."


def fixed_messages(
    ruleset_id: str, version: int | None, products: list[Product], criteria: dict[str, Criterion]
) -> Messages:
    """Every approve, deny and override message of the ruleset, each written once."""
    texts: list[str] = []

    def add(text: str) -> int:
        texts.append(text)
        return len(texts) - 1

    shape = (max(len(products), 1), len(CHANNELS))
    approve, deny = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    override = np.zeros(
        (sum(len(p.overrides) for p in products) + 1, len(CHANNELS), 2), dtype=np.int64
    )
    first = 0  # the product's first override, as numbered in Engine.overrides (products in order)
    for i, p in enumerate(products):
        for ch, channel in enumerate(CHANNELS):
            limit = f"the {CHANNEL_LABELS[channel]} limit of {format_number(p.max_qty[ch])} {p.unit} per Rx"
            approve[i, ch] = add(f"Within {limit}.")
            deny[i, ch] = add(
                f"Over {limit} and "
                + (
                    "no override criterion is met"
                    if p.overrides
                    else f"{p.product_id} has no overrides"
                )
                + f": rejects with code {REJECT_CODE}."
            )
            for k, o in enumerate(p.overrides, start=first):
                c = criteria[o.criterion_id]
                cap = f"{format_number(o.max_qty[ch])} {p.unit}"
                months = f"{format_number(o.approval_months)} months"
                but = (
                    f"Over {limit}, but {c.description[0].lower() + c.description[1:]}: "
                    f"rejects with code {REJECT_CODE}; "
                )
                override[k, ch, 0] = add(
                    f"{but}the quantity requested is approvable on coverage review for "
                    f"{months} (up to {cap})."
                )
                override[k, ch, 1] = add(
                    f"{but}{cap} (the most this override allows) are approvable on coverage "
                    f"review for {months}."
                )
        first += len(p.overrides)
    ruleset = f"{ruleset_id} v{version}" if version is not None else f"{ruleset_id} (draft)"
    return Messages(ruleset, texts, approve, deny, override)


def message_column(ev: Evaluation, messages: Messages) -> Coded:
    """Each claim's message, as codes into the fixed messages and those written for this batch."""
    decided = ev.decision
    codes = np.full(ev.n, -1, dtype=np.int64)
    categories = list(messages.texts)
    rows = np.flatnonzero(decided == APPROVE)
    codes[rows] = messages.approve[ev.product[rows], ev.channel[rows]]
    rows = np.flatnonzero(decided == DENY)
    codes[rows] = messages.deny[ev.product[rows], ev.channel[rows]]
    rows = np.flatnonzero(decided == OVERRIDE)
    capped = ev.quantity[rows] > ev.approved[rows]
    codes[rows] = messages.override[ev.winner[rows], ev.channel[rows], capped.astype(np.int64)]
    rows = np.flatnonzero(decided == NOT_APPLICABLE)
    if len(rows):
        products, inverse = np.unique(ev.product_text.codes[rows], return_inverse=True)
        codes[rows] = inverse + len(categories)
        categories += [messages.not_applicable(ev.product_text.categories[p]) for p in products]
    written: dict[Any, int] = {}
    for i in np.flatnonzero(decided == INVALID):  # rare; one message per distinct cause
        key = (
            ev.product[i] == MISSING,
            ev.channel_text.at(i),
            ev.channel[i],
            ev.quantity_text.at(i),
            ev.problem.at(i),
        )
        code = written.get(key)
        if code is None:
            categories.append(invalid_message(*key))
            code = written[key] = len(categories) - 1
        codes[i] = code
    return Coded(codes, categories)


def invalid_message(
    product_missing: bool, channel_text: Any, channel: int, quantity_text: Any, problem: str | None
) -> str:
    """What is wrong with a malformed claim, every problem in one sentence."""
    wrong = []
    if problem:
        wrong.append(problem.rstrip("."))
    if product_missing:
        wrong.append("product_id is missing")
    if channel == MISSING:
        wrong.append(f"channel is missing (use {_CHANNEL_WORDS})")
    elif channel == UNKNOWN:
        wrong.append(f"channel {str(channel_text).strip()!r} is not {_CHANNEL_WORDS}")
    quantity = quantity_problem(quantity_text)
    if quantity:
        wrong.append(quantity)
    return "Invalid: " + "; ".join(wrong) + "."
