"""The decision engine: one vectorised pass decides a claims DataFrame against one ruleset.

Every decision in dqm (the command line, the reviewer app, the workbook's Tests sheet) comes from
`Engine.decide` or `Engine.explain`, which share `_evaluate`: the explanation narrates the arrays
the decision was computed from, it does not decide a second time. `decide` takes a claims frame
(pandas, giving a decision frame) or a claims table (Arrow, as dqm decide reads claims: giving
`Decisions`, written without pandas ever being imported); both are the same `decide_columns`.

Speed comes from deciding each distinct value once: product, channel, quantity, drug and attested
texts are dictionary-encoded (encode.py), the few distinct values are looked up in plain Python,
and numpy maps the answers back to every row. Messages are chosen by code, never formatted per
row (messages.py).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .. import names
from ..vocabulary import CHANNELS, DECISIONS, MAX_QUANTITY, REJECT_CODE
from . import model
from .claims import OUT_OF_EFFECT, ROW_PROBLEM, cell_text, column_key
from .drugs import DrugLists, DrugTexts
from .encode import (
    BAD_DATE,
    MISSING,
    NO_DATE,
    UNKNOWN,
    Coded,
    Column,
    blank,
    channel_code,
    claim_ids,
    echoed_quantities,
    encode,
    quantities,
    service_days,
)
from .evaluation import (
    ACCUMULATED,
    APPROVE,
    CAP,
    DENY,
    FIRST_PASS,
    INVALID,
    NOT_APPLICABLE,
    OVERRIDE,
    TERMS_ONLY,
    Evaluation,
    over_limit_groups,
)
from .explain import decision_row, trace
from .framing import channel_column, matched_column, terms_columns
from .messages import fixed_messages, message_column
from .model import Override, Product
from .resolve import MALFORMED, LaterCodes, resolve
from .run import COLUMNS, decide_run
from .window import MICRO, NO_CAP, micro, over_window

if TYPE_CHECKING:
    import pandas as pd

    from .decisions import Decisions


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
        self.code_index = model.product_codes(ruleset)  # code system -> code -> product index
        self.later_codes: LaterCodes | None = None  # Versions': the codes later versions list
        self._max_qty = np.array(
            [p.max_qty for p in self.products] or np.zeros((0, len(CHANNELS))), dtype=float
        )
        # Every override of every product, in model.override_order (criterion id): of the met
        # overrides, the highest maximum for the channel wins, a tie going to the first.
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
        # Per product (and two final "none"s): whether its policy is retired.
        self._retired = np.array(
            [p.retired_on is not None for p in self.products] + [False, False], dtype=bool
        )
        self._criteria_folded = {c.casefold() for c in self.criteria}
        # Per product (and two final "none"s): its windows per channel in days (0: Per Rx).
        self._days = np.array(
            [p.days or (0, 0) for p in self.products] + [(0, 0), (0, 0)], dtype=np.int64
        )
        self.per_days = bool(self._days.any())  # whether any claim is decided over a window

    @property
    def product_ids(self) -> list[str]:
        return [p.product_id for p in self.products]

    @functools.cached_property
    def code_descriptions(self) -> dict[tuple[str, str], str | None]:
        """(code system, code in its normal form) -> the code's description, for explanations."""
        return model.code_descriptions(self.ruleset)

    def product(self, product_id: str) -> Product | None:
        i = self._product_index.get(str(product_id).strip().casefold())
        return None if i is None else self.products[i]

    def decide(
        self, claims: pd.DataFrame | pa.Table, history: pd.DataFrame | pa.Table | None = None
    ) -> pd.DataFrame | Decisions:
        """One decision per claim row, in the same order, with the contract's fields: a decision
        frame for a claims frame, Decisions for a claims table (sources.claims_batches' with
        `tables`: each column as read, text or Arrow dictionaries). The claims are one run: a
        Per Days claim counts the member's fills in `history` and the run's claims before it
        (decide/run.py)."""
        return decide_run(claims, self.decide_columns, history)

    def decide_columns(self, columns: dict[str, Column], n: int) -> dict[str, Any]:
        """The decisions of n claims given as columns (each a Series, a list, an already encoded
        column, or None when the claims do not carry it; without a `claim_id` key the decisions'
        claim_id is None, for a caller that echoes the ids itself), as the decision frame's
        columns: coded text, or float arrays (decisions.py makes whole ones integers)."""
        return self._columns(self._evaluate(columns, n))

    def explain(
        self, claim: dict[str, Any], accumulated: float | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """One claim's decision (a dict of the contract's fields) and the steps that led to it;
        `accumulated`: for a Per Days claim, what the member already received in its window."""
        # The same pass as decide, on plain lists: a one-row DataFrame would cost more than deciding.
        claim = {column_key(k): v for k, v in claim.items()}
        columns: dict[str, Column] = {c: [cell_text(claim.get(c))] for c in COLUMNS}
        if accumulated is not None:
            columns[ACCUMULATED] = micro(np.array([accumulated])).astype(float)
        ev = self._evaluate(columns, 1)
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

    def _evaluate(self, col: dict[str, Column], n: int) -> Evaluation:
        named = resolve(col, n, self._product_index, self.code_index, self.later_codes)
        product = named.product

        channel_codes, channel_texts = encode(col["channel"], n)
        channel_of = np.array([channel_code(t) for t in channel_texts] + [MISSING], dtype=np.int64)
        channel = channel_of[channel_codes]

        quantity, quantity_text = quantities(col["quantity"], n)

        drugs, texts = encode(col["concomitant_drugs"], n)
        drug_texts = DrugTexts(self.drugs, texts)
        attested, attested_texts = encode(col["attested_criteria"], n)
        unknown_attested = [
            tuple(a for a in names.split_list(t) if a.casefold() not in self._criteria_folded)
            for t in attested_texts
        ]
        attests_unknown = np.array([bool(u) for u in unknown_attested] + [False], dtype=bool)
        problem_codes, problems = encode(col.get(ROW_PROBLEM), n)
        problem = Coded(problem_codes, problems)
        days, date_text = service_days(col.get("date_of_service"), n)
        out_of_effect = Coded(*encode(col.get(OUT_OF_EFFECT), n))
        in_effect = out_of_effect.codes < 0
        member = Coded(*encode(col.get("member_id"), n))
        no_member = blank(member.categories)[member.codes]

        in_range = (quantity > 0) & (quantity <= MAX_QUANTITY)  # NaN (not a number) is neither
        invalid = (
            (product == MISSING)
            | (product <= MALFORMED)  # a code that cannot be read, or identifiers that disagree
            | (channel < 0)
            | ~in_range
            | (problem_codes >= 0)
            | (days == BAD_DATE)
            | attests_unknown[attested]
        )
        # Whether the claim's product's policy is retired (every code below 0 reads the final "none")
        retired = self._retired[np.where(product >= 0, product, -1)]
        safe_product = np.where(product >= 0, product, 0)
        safe_channel = np.where(channel >= 0, channel, 0)
        # A Per Days product's window for the claim's channel (0: Per Rx, or no product)
        period = np.zeros(n, dtype=np.int64)  # a Per Rx version: no claim has one
        if self.per_days:
            period = self._days[np.where(product >= 0, product, -1), safe_channel]
        # A Per Days claim is counted in its member's window, which needs the member and the date.
        unplaced = (period > 0) & in_effect & ~retired & (no_member | (days == NO_DATE))
        invalid |= unplaced
        valid = ~invalid & (product >= 0) & in_effect & ~retired
        per_days = valid & (period > 0)
        limit = self._max_qty[safe_product, safe_channel] if len(self.products) else np.zeros(n)
        limit = np.where(valid, limit, np.nan)
        over = valid & (quantity > limit)
        a = np.zeros(n, dtype=np.int64)  # what the member received in the window (millionths)
        if col.get(ACCUMULATED) is not None:
            a = np.nan_to_num(col[ACCUMULATED]).astype(np.int64)

        met: dict[str, np.ndarray] = {}
        winner = np.full(n, -1, dtype=np.int64)
        cap = np.full(n, -np.inf)
        # A Per Days claim's best override is found whatever its quantity: the run (decide/run.py)
        # weighs it against what the member received, which this pass may not know yet.
        limited = over | per_days if self.per_days else over
        for rows, overrides in over_limit_groups(
            limited & self._has_overrides[np.maximum(product, 0)], product, self._overrides_of
        ):
            ch = channel[rows]
            best, best_cap = np.full(len(rows), -1, dtype=np.int64), np.full(len(rows), -np.inf)
            for k, o in overrides:
                if o.criterion_id not in met:
                    met[o.criterion_id] = self._met(
                        o.criterion_id, drugs, drug_texts, attested, attested_texts
                    )
                o_cap = np.where(ch == 0, o.max_qty[0], o.max_qty[1])
                # strictly: a tie keeps the first
                better = met[o.criterion_id][rows] & (o_cap > best_cap)
                best[better] = k
                best_cap[better] = o_cap[better]
            winner[rows] = best
            cap[rows] = best_cap

        decision = np.full(n, DENY, dtype=np.int8)
        decision[valid & ~over] = APPROVE
        decision[over & (winner >= 0)] = OVERRIDE
        decision[~invalid & ((product == UNKNOWN) | ~in_effect | retired)] = NOT_APPLICABLE
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
        if per_days.any():  # decided against what the member received in the window
            rows = np.flatnonzero(per_days)
            capped = np.where(winner[rows] >= 0, micro(np.nan_to_num(cap[rows], neginf=0)), NO_CAP)
            decision[rows], approved[rows] = over_window(
                a[rows], micro(quantity[rows]), micro(limit[rows]), capped, quantity[rows]
            )
        best_cap = np.full(n, np.nan)
        if self.per_days:
            period, a = np.where(per_days | unplaced, period, 0), np.where(per_days, a, -1)
            best_cap = np.where((winner >= 0) & per_days, cap, np.nan)
        else:  # a Per Rx version: no claim has a window (period is all 0)
            a = np.full(n, -1)
        return Evaluation(
            n=n,
            claim_id=claim_ids(col["claim_id"], n) if "claim_id" in col else None,
            named=named,
            product=product,
            channel_text=Coded(channel_codes, channel_texts),
            channel=channel,
            quantity_text=quantity_text,
            quantity=quantity,
            drugs=drugs,
            drug_texts=drug_texts,
            attested=attested,
            attested_texts=attested_texts,
            problem=problem,
            days=days,
            date_text=date_text,
            out_of_effect=out_of_effect,
            member=member,
            no_member=no_member,
            period=period,
            accumulated=a,
            best_cap=best_cap,
            provisional=col.get(FIRST_PASS) is not None or col.get(TERMS_ONLY) is not None,
            terms_only=col.get(TERMS_ONLY) is not None,
            decision=decision,
            limit=limit,
            approved=approved,
            winner=winner,
            met=met,
            unknown_attested=unknown_attested,
        )

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
        """The decision's columns: coded text, or float arrays (decisions.py makes whole ones
        integers); the quantity as objects where a claim's is text (encode.echoed_quantities)."""
        n = ev.n
        decided = ev.decision
        winner = np.where(decided == OVERRIDE, ev.winner, -1)
        in_effect = ev.out_of_effect.codes < 0
        cap = None  # none from a version with no Per Days limit (Versions merges it as NaN)
        received, period = np.full(n, np.nan), np.full(n, np.nan)  # Per Rx: no claim has a window
        if self.per_days:
            window = ev.accumulated >= 0  # decided over a window: approve, override or deny
            # The cap of each Per Days claim's best override, for the run's order (decide/run.py)
            met = window & ~np.isnan(ev.best_cap)
            cap = np.where(met, micro(np.nan_to_num(ev.best_cap)), np.nan)
            received = np.where(window, ev.accumulated / MICRO, np.nan)
            period = np.where(window, ev.period, np.nan)
        if ev.terms_only:
            resolved = ev.named.resolved_ids(self.product_ids)
            return terms_columns(
                ev, resolved, message_column(ev, self._messages, self.products), cap
            )
        columns = {
            "claim_id": ev.claim_id,
            # The claim's product_id as given, else the product its code names.
            "product_id": ev.named.resolved_ids(self.product_ids),
            "policy_id": Coded(
                np.where(
                    (ev.product >= 0) & in_effect,
                    self._policy_of[np.where(ev.product >= 0, ev.product, -1)],
                    -1,
                ),
                self._policy_ids,
            ),
            "channel": channel_column(ev),
            "quantity": echoed_quantities(ev.quantity, ev.quantity_text),
            "date_of_service": ev.date_text,
            "decision": Coded(decided, DECISIONS),
            "approved_quantity": ev.approved,
            "member_id": ev.member,
            "limit": ev.limit,
            "accumulated_quantity": received,
            "period_days": period,
            "criterion_id": Coded(self._ov_criterion[winner], self._criterion_ids),
            "matched_drugs": matched_column(
                ev, self.criteria, self._criterion_ids, self._ov_criterion[winner]
            ),
            "reject_code": np.where((decided == OVERRIDE) | (decided == DENY), REJECT_CODE, np.nan),
            "approval_months": self._ov_months[winner],
            "message": message_column(
                ev, self._messages, self.products, self.overrides, self.criteria
            ),
            "ruleset_id": Coded(np.zeros(n, dtype=np.int8), [self.ruleset_id]),
            "ruleset_version": np.where(  # none for a claim no version was in effect for
                in_effect, np.nan if self.version is None else self.version, np.nan
            ),
        }
        columns[CAP] = cap
        return columns
