"""The decision engine: one vectorised pass decides a claims DataFrame against one ruleset.

Every decision in dqm (the command line, the reviewer app, the workbook's Tests sheet) comes from
`Engine.decide` or `Engine.explain`, which share `_evaluate`: the explanation narrates the arrays
the decision was computed from, it does not decide a second time.

Speed comes from deciding each distinct value once: product, channel, quantity, drug and attested
texts are dictionary-encoded (encode.py), the few distinct values are looked up in plain Python,
and numpy maps the answers back to every row. Messages are chosen by code, never formatted per
row (messages.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .. import names
from ..vocabulary import CHANNELS, CLAIM_COLUMNS, DECISIONS, MAX_QUANTITY, REJECT_CODE
from . import model
from .claims import ROW_PROBLEM, cell_text, column_key
from .decisions import decision_frame
from .drugs import DrugLists, DrugTexts
from .encode import MISSING, UNKNOWN, Coded, channel_code, claim_ids, encode, quantities
from .evaluation import APPROVE, DENY, INVALID, NOT_APPLICABLE, OVERRIDE, Evaluation
from .explain import decision_row, trace
from .messages import fixed_messages, message_column
from .model import Override, Product


class Engine:
    """Decides claims against one ruleset: a published version, or a draft from build()."""

    def __init__(self, ruleset: dict[str, Any]):
        self.ruleset = ruleset
        self.ruleset_id: str = ruleset["ruleset_id"]
        self.version: int | None = ruleset.get("version")
        self.criteria = model.criteria(ruleset)
        self.drugs = DrugLists(model.drug_lists(ruleset))
        self.products: list[Product] = model.products(ruleset)
        self._product_index = {p.product_id.casefold(): i for i, p in enumerate(self.products)}
        self._max_qty = np.array(
            [p.max_qty for p in self.products] or np.zeros((0, len(CHANNELS))), dtype=float
        )
        # Every override of every product, in the product's order (criterion id): ties on the
        # channel maximum go to the first, in the engine and in the JDM graph alike.
        self.overrides: list[tuple[int, Override]] = [
            (i, o) for i, p in enumerate(self.products) for o in p.overrides
        ]
        self._criterion_ids = list(self.criteria)
        self._policy_ids = sorted({p.policy_id for p in self.products})
        self._messages = fixed_messages(self.ruleset_id, self.version, self.products, self.criteria)
        # Per override (and a final "none"): its criterion and its months; per product (and two
        # final "none"s): its policy. (dict lookups, not list.index: a ruleset may hold 20,000
        # products over 5,000 policies)
        criterion_code = {c: i for i, c in enumerate(self._criterion_ids)}
        policy_code = {p: i for i, p in enumerate(self._policy_ids)}
        self._ov_criterion = np.array(
            [criterion_code[o.criterion_id] for _, o in self.overrides] + [-1], dtype=np.int64
        )
        self._ov_months = np.array(
            [o.approval_months for _, o in self.overrides] + [np.nan], dtype=float
        )
        self._policy_of = np.array(
            [policy_code[p.policy_id] for p in self.products] + [-1, -1], dtype=np.int64
        )
        self._overrides_of: dict[int, list[tuple[int, Override]]] = {}
        for k, (p, o) in enumerate(self.overrides):
            self._overrides_of.setdefault(p, []).append((k, o))
        self._has_overrides = np.array(
            [i in self._overrides_of for i in range(len(self.products))] or [False], dtype=bool
        )

    @property
    def product_ids(self) -> list[str]:
        return [p.product_id for p in self.products]

    def product(self, product_id: str) -> Product | None:
        i = self._product_index.get(str(product_id).strip().casefold())
        return None if i is None else self.products[i]

    def decide(self, claims: pd.DataFrame) -> pd.DataFrame:
        """One decision per claim row, in the same order, with the contract's fields."""
        claims = claims.rename(columns=column_key)
        ev = self._evaluate(
            {c: claims[c] if c in claims.columns else None for c in [*CLAIM_COLUMNS, ROW_PROBLEM]},
            len(claims),
        )
        return decision_frame(self._columns(ev))

    def explain(self, claim: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """One claim's decision (a dict of the contract's fields) and the steps that led to it."""
        # The same pass as decide, on plain lists: a one-row DataFrame would cost more than deciding.
        claim = {column_key(k): v for k, v in claim.items()}
        ev = self._evaluate(
            {c: [cell_text(claim.get(c))] for c in [*CLAIM_COLUMNS, ROW_PROBLEM]}, 1
        )
        row = decision_row(self._columns(ev))
        return row, trace(self, ev, row)

    def met_criteria(self, claims: pd.DataFrame) -> list[list[str]]:
        """Each claim's met criteria, whatever its quantity (the JDM graph's `met_criteria`)."""
        claims = claims.rename(columns=column_key)
        n = len(claims)
        drugs, texts = encode(claims.get("concomitant_drugs"), n)
        drug_texts = DrugTexts(self.drugs, texts)
        attested, attested_texts = encode(claims.get("attested_criteria"), n)
        met = {c: self._met(c, drugs, drug_texts, attested, attested_texts) for c in self.criteria}
        return [[c for c in self.criteria if met[c][i]] for i in range(n)]

    # -- deciding ---------------------------------------------------------------------------

    def _evaluate(self, col: dict[str, pd.Series | list | None], n: int) -> Evaluation:
        product_codes, product_texts = encode(col["product_id"], n)
        product_of = np.array(
            [self._product_code(t) for t in product_texts] + [MISSING], dtype=np.int64
        )
        product = product_of[product_codes]

        channel_codes, channel_texts = encode(col["channel"], n)
        channel_of = np.array([channel_code(t) for t in channel_texts] + [MISSING], dtype=np.int64)
        channel = channel_of[channel_codes]

        quantity, quantity_text = quantities(col["quantity"], n)

        drugs, texts = encode(col["concomitant_drugs"], n)
        drug_texts = DrugTexts(self.drugs, texts)
        attested, attested_texts = encode(col["attested_criteria"], n)
        problem_codes, problems = encode(col[ROW_PROBLEM], n)
        problem = Coded(problem_codes, problems)

        in_range = (quantity > 0) & (quantity <= MAX_QUANTITY)  # NaN (not a number) is neither
        invalid = (product == MISSING) | (channel < 0) | ~in_range | (problem_codes >= 0)
        valid = ~invalid & (product >= 0)
        safe_product = np.where(product >= 0, product, 0)
        safe_channel = np.where(channel >= 0, channel, 0)
        limit = self._max_qty[safe_product, safe_channel] if len(self.products) else np.zeros(n)
        limit = np.where(valid, limit, np.nan)
        over = valid & (quantity > limit)

        met: dict[str, np.ndarray] = {}
        winner = np.full(n, -1, dtype=np.int64)
        cap = np.full(n, -np.inf)
        for rows, overrides in self._over_limit_groups(over, product):
            ch = channel[rows]
            best, best_cap = np.full(len(rows), -1, dtype=np.int64), np.full(len(rows), -np.inf)
            for k, o in overrides:
                if o.criterion_id not in met:
                    met[o.criterion_id] = self._met(
                        o.criterion_id, drugs, drug_texts, attested, attested_texts
                    )
                o_cap = np.where(ch == 0, o.max_qty[0], o.max_qty[1])
                better = met[o.criterion_id][rows] & (
                    o_cap > best_cap
                )  # strictly: a tie keeps the first
                best[better] = k
                best_cap[better] = o_cap[better]
            winner[rows] = best
            cap[rows] = best_cap

        decision = np.full(n, DENY, dtype=np.int8)
        decision[valid & ~over] = APPROVE
        decision[winner >= 0] = OVERRIDE
        decision[~invalid & (product == UNKNOWN)] = NOT_APPLICABLE
        decision[invalid] = INVALID
        approved = np.where(
            decision == APPROVE,
            quantity,
            np.where(
                decision == OVERRIDE,
                np.minimum(quantity, cap),
                np.where(decision == DENY, 0.0, np.nan),
            ),
        )
        return Evaluation(
            n,
            claim_ids(col["claim_id"], n),
            Coded(product_codes, product_texts),
            product,
            Coded(channel_codes, channel_texts),
            channel,
            quantity_text,
            quantity,
            drugs,
            drug_texts,
            attested,
            attested_texts,
            problem,
            decision,
            limit,
            approved,
            winner,
            met,
        )

    def _over_limit_groups(
        self, over: np.ndarray, product: np.ndarray
    ) -> Iterator[tuple[np.ndarray, list[tuple[int, Override]]]]:
        """The over-limit claims of each product that has overrides, with those overrides."""
        rows = np.flatnonzero(over & self._has_overrides[np.maximum(product, 0)])
        if not len(rows):
            return
        products = product[rows]
        if len(self._overrides_of) <= 8:  # few products with overrides: a mask each, no sort
            for p, overrides in self._overrides_of.items():
                mine = rows[products == p]
                if len(mine):
                    yield mine, overrides
            return
        order = np.argsort(products, kind="stable")  # many: group the rows by product once
        rows, products = rows[order], products[order]
        starts = np.flatnonzero(np.r_[True, products[1:] != products[:-1]])
        for start, end in zip(starts, [*starts[1:], len(rows)], strict=True):
            yield rows[start:end], self._overrides_of[int(products[start])]

    def _product_code(self, text: str) -> int:
        key = str(text).strip().casefold()
        if not key:
            return MISSING
        return self._product_index.get(key, UNKNOWN)

    def _met(
        self,
        criterion_id: str,
        drugs: np.ndarray,
        drug_texts: DrugTexts,
        attested: np.ndarray,
        attested_texts: list[str],
    ) -> np.ndarray:
        """Whether each claim meets the criterion, decided once per distinct drug/attested text."""
        c = self.criteria[criterion_id]
        if c.met_when == "attested":
            per_text = [
                criterion_id.casefold() in {a.casefold() for a in names.split_list(t)}
                for t in attested_texts
            ]
            return np.array(per_text + [False], dtype=bool)[attested]
        return drug_texts.hits(c.drug_list_id)[drugs]

    # -- framing ----------------------------------------------------------------------------

    def _columns(self, ev: Evaluation) -> dict[str, Any]:
        """The decision's columns: coded text, or float arrays (decisions.py makes whole ones integers)."""
        n = ev.n
        decided = ev.decision
        winner = np.where(decided == OVERRIDE, ev.winner, -1)
        return {
            "claim_id": ev.claim_id,
            "product_id": ev.product_text,  # the claim's text as given
            "policy_id": Coded(
                np.where(ev.product >= 0, self._policy_of[ev.product], -1), self._policy_ids
            ),
            "channel": self._channel_column(ev),
            "quantity": ev.quantity,
            "decision": Coded(decided, DECISIONS),
            "approved_quantity": ev.approved,
            "limit": ev.limit,
            "criterion_id": Coded(self._ov_criterion[winner], self._criterion_ids),
            "matched_drugs": self._matched_column(ev, winner),
            "reject_code": np.where((decided == OVERRIDE) | (decided == DENY), REJECT_CODE, np.nan),
            "approval_months": self._ov_months[winner],
            "message": message_column(ev, self._messages),
            "ruleset_id": Coded(np.zeros(n, dtype=np.int8), [self.ruleset_id]),
            "ruleset_version": np.full(
                n, np.nan if self.version is None else self.version, dtype=float
            ),
        }

    def _channel_column(self, ev: Evaluation) -> Coded:
        """`retail`/`home_delivery`; an unrecognised channel is echoed as given."""
        codes = ev.channel.copy()
        odd = codes == UNKNOWN
        categories = list(CHANNELS)
        if odd.any():
            given, inverse = np.unique(ev.channel_text.codes[odd], return_inverse=True)
            codes[odd] = inverse + len(categories)
            categories += [str(ev.channel_text.categories[g]) for g in given]
        codes[codes == MISSING] = -1
        return Coded(codes, categories)

    def _matched_column(self, ev: Evaluation, winner: np.ndarray) -> Coded:
        """The claim's drugs that met the winning criterion, joined by "; "."""
        codes = np.full(ev.n, -1, dtype=np.int64)
        categories: list[str] = []
        criterion = self._ov_criterion[winner]  # per claim: the winning criterion's index, or -1
        for i, criterion_id in enumerate(
            self._criterion_ids
        ):  # few criteria, however many products
            c = self.criteria[criterion_id]
            if c.met_when != "concomitant_drug_on_list":
                continue
            rows = criterion == i
            if not rows.any():
                continue
            text_codes, joined = ev.drug_texts.joined(c.drug_list_id)
            text_codes = np.where(text_codes >= 0, text_codes + len(categories), -1)
            categories += joined
            codes[rows] = text_codes[ev.drugs[rows]]
        return Coded(codes, categories)
