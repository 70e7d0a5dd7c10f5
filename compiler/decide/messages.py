"""Each decision's message, in words a reviewer reads.

Approve, deny and override messages depend only on the product, the channel and the override, so
a ruleset's are all written once (`Messages`) and each claim's is chosen by array lookup, never
formatted per row. not_applicable and invalid messages are written once per distinct cause.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from .. import codes, names
from ..vocabulary import (
    CHANNEL_LABELS,
    CHANNELS,
    CODE_SYSTEMS,
    PRODUCT_CLAIM_COLUMNS,
    REJECT_CODE,
    format_date,
    format_number,
)
from .encode import BAD_DATE, MISSING, NO_DATE, UNKNOWN, Coded, Texts, arrow_texts
from .evaluation import APPROVE, DENY, INVALID, NOT_APPLICABLE, OVERRIDE, Evaluation
from .grammar import quantity_problem
from .model import Criterion, Override, Product
from .resolve import CONFLICT, MALFORMED
from .window_messages import window_messages

_CHANNEL_WORDS = " or ".join(CHANNELS)  # "retail or home_delivery"
_PRODUCT_WORDS = f"{', '.join(PRODUCT_CLAIM_COLUMNS[:-1])} or {PRODUCT_CLAIM_COLUMNS[-1]}"
_NDC_LAYOUTS = f"{', '.join(codes.NDC_LAYOUTS[:-2])} or {codes.NDC_LAYOUTS[-2]}"  # 10 digits
# A claim's identifier as (column, text as given, code as read, product): resolve.Identifier.at
Given = tuple[str, str, codes.Code | None, int]


@dataclass
class Messages:
    """A ruleset's fixed messages, and where each decision finds its own in `texts`:
    - approve[product, channel]: within the limit;
    - deny[product, channel]: over it, no override met (or none exists);
    - override[override, channel, capped]: over it and that override applies (an index into
      Engine.overrides); capped is 1 when the override's maximum cut the quantity requested."""

    ruleset: str  # "oncology-dqm v3", or "oncology-dqm (draft)"
    product_ids: list[str]  # the ruleset's, in Engine.products order
    texts: list[str]
    approve: np.ndarray
    deny: np.ndarray
    override: np.ndarray
    criteria: tuple[str, ...] = ()  # the ruleset's Criterion IDs, for "did you mean"

    def not_applicable(self, given: tuple[Given, ...]) -> str:
        """The message for a claim whose product (named by product_id, NDC or RxCUI) has no limit
        in the ruleset."""
        named = " or ".join(_subject(column, text) for column, text, _, _ in given)
        return f"Ruleset {self.ruleset} has no quantity limit for {named}."

    def retired(self, product: Product) -> str:
        """The message for a claim whose product is retired: by its own Status, or its policy's."""
        day = format_date(dt.date.fromisoformat(product.retired_on))
        if product.retired_itself:
            return (
                f"Not applicable: product {product.product_id} was retired on {day}; ruleset "
                f"{self.ruleset} sets no quantity limit for it since then."
            )
        return (
            f"Not applicable: policy {product.policy_id} was retired on {day}; ruleset "
            f"{self.ruleset} sets no quantity limit for {product.product_id} since then."
        )


def _subject(column: str, text: str) -> str:
    """`product 'x'`, `NDC '47335-475-83'`, `RxCUI '403879'`: an identifier as the claim gave it."""
    return f"{CODE_SYSTEMS.get(column, 'product')} {text.strip()!r}"


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
    return Messages(
        ruleset, [p.product_id for p in products], texts, approve, deny, override, tuple(criteria)
    )


def message_column(
    ev: Evaluation,
    messages: Messages,
    products: list[Product],
    overrides: list[tuple[int, Override]] = (),
    criteria: dict[str, Criterion] | None = None,
) -> Coded:
    """Each claim's message, as codes into the fixed messages and those written for this batch
    (`overrides`, as Engine.overrides numbers them, and `criteria` word a Per Days claim's)."""
    decided = ev.decision
    message_codes = np.full(ev.n, -1, dtype=np.int64)
    categories = list(messages.texts)
    rows = np.flatnonzero(decided == APPROVE)
    message_codes[rows] = messages.approve[ev.product[rows], ev.channel[rows]]
    rows = np.flatnonzero(decided == DENY)
    message_codes[rows] = messages.deny[ev.product[rows], ev.channel[rows]]
    rows = np.flatnonzero(decided == OVERRIDE)
    capped = ev.quantity[rows] > ev.approved[rows]
    message_codes[rows] = messages.override[
        ev.winner[rows], ev.channel[rows], capped.astype(np.int64)
    ]
    not_applicable = decided == NOT_APPLICABLE
    retired = not_applicable & (ev.out_of_effect.codes < 0) & (ev.product >= 0)
    rows = np.flatnonzero(not_applicable & ~retired)
    if len(rows):  # one message per distinct cause: the identifiers' texts, or the note
        causes = np.stack(
            [ev.out_of_effect.codes[rows], *(i.text.codes[rows] for i in ev.named.identifiers)]
        )
        distinct, first, inverse = np.unique(causes, axis=1, return_index=True, return_inverse=True)
        message_codes[rows] = inverse.reshape(-1) + len(categories)
        for cause, i in zip(distinct.T, rows[first], strict=True):
            categories.append(
                ev.out_of_effect.categories[cause[0]]
                if cause[0] >= 0
                else messages.not_applicable(ev.named.given(i))
            )
    rows = np.flatnonzero(retired)  # a product of a retired policy, in effect on the date
    if len(rows):
        known, inverse = np.unique(ev.product[rows], return_inverse=True)
        message_codes[rows] = inverse.reshape(-1) + len(categories)
        categories += [messages.retired(products[p]) for p in known]
    written: dict[Any, int] = {}
    for i in np.flatnonzero(decided == INVALID):  # rare; one message per distinct cause
        key = (
            ev.product[i],
            ev.named.given(i) if ev.product[i] in (MISSING, MALFORMED, CONFLICT) else (),
            ev.channel_text.at(i),
            ev.channel[i],
            ev.quantity_text.at(i),
            ev.date_text.at(i) if ev.days[i] == BAD_DATE else None,
            ev.problem.at(i),
            ev.unknown_attested[ev.attested[i]] if ev.attested[i] >= 0 else (),
            messages.criteria if ev.attested[i] >= 0 else (),
            ev.period[i] > 0 and ev.no_member[i],
            ev.period[i] > 0 and ev.days[i] == NO_DATE,
        )
        code = written.get(key)
        if code is None:
            categories.append(invalid_message(*key, product_ids=messages.product_ids))
            code = written[key] = len(categories) - 1
        message_codes[i] = code
    rows = np.flatnonzero(ev.accumulated >= 0)  # Per Days: what the member received, and when
    if len(rows) and not ev.provisional:  # nearly a text each: kept as Arrow's, after the rest
        worded = window_messages(ev, rows, products, overrides, criteria or {})
        invalid = decided[rows] == INVALID  # worded above, as when these were worded first
        message_codes[rows] = np.where(invalid, message_codes[rows], worded.codes + len(categories))
        texts = [arrow_texts(categories), worded.categories.arrow]
        return Coded(message_codes, Texts(pa.concat_arrays(texts)))
    return Coded(message_codes, categories)


def invalid_message(
    product: int,
    given: tuple[Given, ...],
    channel_text: Any,
    channel: int,
    quantity_text: Any,
    bad_date: str | None,
    problem: str | None,
    unknown_attested: tuple[str, ...] = (),
    criteria: tuple[str, ...] = (),
    no_member: bool = False,
    no_date: bool = False,
    product_ids: list[str] | None = None,
) -> str:
    """What is wrong with a malformed claim, every problem in one sentence. `product`: what the
    claim's identifiers `given` name (resolve.py); `product_ids`: the ruleset's, to name the products identifiers disagree on;
    `unknown_attested`: the attested Criterion IDs the ruleset lacks, each with a "did you mean"
    among its `criteria`."""
    wrong = []
    if problem:
        wrong.append(problem.rstrip("."))
    for criterion in unknown_attested:
        close = names.closest(criterion, criteria)
        wrong.append(
            f"attested criterion {criterion!r} is not one of the ruleset's criteria"
            + (f" (did you mean {close!r}?)" if close else "")
        )
    if product == MISSING:
        wrong.append(f"product is missing (give {_PRODUCT_WORDS})")
    elif product == MALFORMED:
        wrong += [
            _unreadable(column, text, code)
            for column, text, code, _ in given
            if code and code.value is None
        ]
    elif product == CONFLICT:
        wrong.append(
            f"{' and '.join(column for column, _, _, _ in given)} name different products: "
            + ", ".join(_names(column, text, p, product_ids) for column, text, _, p in given)
        )
    if channel == MISSING:
        wrong.append(f"channel is missing (use {_CHANNEL_WORDS})")
    elif channel == UNKNOWN:
        wrong.append(f"channel {str(channel_text).strip()!r} is not {_CHANNEL_WORDS}")
    quantity = quantity_problem(quantity_text)
    if quantity:
        wrong.append(quantity)
    if no_member:
        wrong.append("member_id is missing (a Per Days limit counts the member's earlier fills)")
    if no_date:
        wrong.append("date_of_service is missing (a Per Days limit counts the days before it)")
    if bad_date is not None:
        wrong.append(
            f"date_of_service {bad_date.strip()!r} is not a date: write it as YYYY-MM-DD or "
            "YYYYMMDD"
        )
    return "Invalid: " + "; ".join(wrong) + "."


def _unreadable(column: str, text: str, code: codes.Code) -> str:
    """What is wrong with a code that cannot be read (codes.py says which problem it is)."""
    shown = f"{CODE_SYSTEMS[column]} {text.strip()!r}"
    if code.problem == codes.TEN_DIGITS_WITHOUT_HYPHENS:
        return f"{shown} has 10 digits without hyphens: write it as {_NDC_LAYOUTS}"
    if column == codes.RXCUI:
        return f"{shown} is not an RxCUI: write its digits only"
    if code.problem == codes.NOT_DIGITS:
        return f"{shown} has characters other than digits and hyphens"
    if code.problem == codes.DIGIT_COUNT:
        return f"{shown} has {code.digits} digits; a package NDC has 11, or 10 written with hyphens"
    return f"{shown} is not written as {', '.join(codes.NDC_LAYOUTS[:-1])} or 5-4-2"


def _names(column: str, text: str, product: int, product_ids: list[str] | None) -> str:
    """`NDC '47335-475-83' is imatinib-400mg-tab`, `product_id 'x' is no product of the ruleset`."""
    named = product_ids[product] if product >= 0 and product_ids else None
    if column == "product_id":
        return (
            f"product_id is {named}"
            if named
            else f"product_id {text.strip()!r} is no product of the ruleset"
        )
    return f"{_subject(column, text)} is {named or 'no product of the ruleset'}"
