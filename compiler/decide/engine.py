"""The decision engine: one vectorised pass decides a claims DataFrame against one ruleset.

Every decision in dqm (the command line, the reviewer app, the workbook's Tests sheet) comes from
`Engine.decide` or `Engine.explain`, which share `_evaluate`: the explanation narrates the arrays
the decision was computed from, it does not decide a second time.

Speed comes from deciding each distinct value once: product, channel, quantity, drug and attested
texts are dictionary-encoded, the few distinct values are looked up in plain Python, and numpy
maps the answers back to every row. Messages are categories chosen by code, never formatted per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import names
from .claims import COLUMNS, ROW_PROBLEM, cell_text, column_key, quantity_number

DECISION_COLUMNS = [
    "claim_id", "product_id", "policy_id", "channel", "quantity", "decision", "approved_quantity",
    "limit", "criterion_id", "matched_drugs", "reject_code", "approval_months", "message",
    "ruleset_id", "ruleset_version",
]
NUMBER_COLUMNS = {"quantity", "approved_quantity", "limit", "reject_code", "approval_months",
                  "ruleset_version"}
DECISIONS = ["approve", "override", "deny", "not_applicable", "invalid"]
APPROVE, OVERRIDE, DENY, NOT_APPLICABLE, INVALID = range(5)
CHANNELS = ["retail", "home_delivery"]
CHANNEL_LABEL = {"retail": "Retail", "home_delivery": "Home Delivery"}
REJECT_CODE = 76  # NCPDP: Plan Limitations Exceeded
_MISSING, _UNKNOWN = -2, -1
_TRIM = " \t\r\n\v\f"  # what is trimmed around each `;`-separated drug


@dataclass(frozen=True)
class Override:
    criterion_id: str
    max_qty: tuple[float, float]  # (retail, home delivery)
    approval_months: int | float


@dataclass(frozen=True)
class Product:
    product_id: str
    policy_id: str
    label: str  # "Gleevec® (imatinib tablets, generic), 400 mg tablets"
    unit: str
    max_qty: tuple[float, float]  # (retail, home delivery)
    overrides: tuple[Override, ...]


@dataclass(frozen=True)
class Criterion:
    criterion_id: str
    description: str
    met_when: str  # "concomitant_drug_on_list" or "attested"
    drug_list_id: str | None


@dataclass(frozen=True)
class ListEntry:
    drug: str  # the list's drug, as the workbook spells it
    name: str  # the drug or one of its aliases
    words: str  # `name`, normalized


@dataclass
class _Coded:
    """A column as codes into a few distinct values (-1: none): cheap to build for a million rows,
    a pandas Categorical for decide, one plain value for explain."""

    codes: np.ndarray
    categories: list

    def categorical(self) -> pd.Categorical:
        codes, categories = self.codes, self.categories
        if len(categories) > 2 * len(codes) + 16:  # e.g. every message of a large ruleset: keep the used
            used, codes = np.unique(codes, return_inverse=True)
            categories = [categories[u] for u in used if u >= 0]
            codes = codes - 1 if len(used) and used[0] < 0 else codes
        categories = list(categories)
        if len(set(categories)) != len(categories):  # e.g. two products with the same wording
            codes = codes.copy()
            categories = _unique(categories, codes)
        return pd.Categorical.from_codes(codes, categories or [""])

    def at(self, i: int) -> Any:
        code = self.codes[i]
        return None if code < 0 else self.categories[code]


@dataclass
class _Plain:
    """A column of values as given (a numeric quantity column)."""

    values: np.ndarray

    def at(self, i: int) -> Any:
        return self.values[i]


class _DrugTexts:
    """A claims frame's distinct concomitant-drug texts, split into drugs once; each distinct drug
    is matched against the lists once, and the answers are spread back by numpy. Many texts are
    split by Arrow; a few (one claim explained) in Python, which is faster for them. Both trim the
    same characters, so a claim decides the same alone or among a million."""

    SMALL = 32

    def __init__(self, engine: Engine, texts: list[str]):
        self.engine, self.texts = engine, texts
        self._hits: dict[str, np.ndarray] = {}
        self._split: tuple | None = None

    def _items(self) -> tuple[np.ndarray, np.ndarray, list[str], pa.Array | list[str]]:
        """(text of each drug, drug code, distinct drugs, each drug's text) over all texts."""
        if self._split is None:
            if len(self.texts) <= self.SMALL:
                parent, flat = [], []
                for t, text in enumerate(self.texts):
                    for part in text.split(";"):
                        parent.append(t)
                        flat.append(part.strip(_TRIM))
                seen: dict[str, int] = {}
                codes = np.array([seen.setdefault(f, len(seen)) for f in flat], dtype=np.int64)
                self._split = (np.array(parent, dtype=np.int64), codes, list(seen), flat)
            else:
                parts = pc.split_pattern(pa.array(self.texts, pa.string()), ";")
                flat = pc.utf8_trim(pc.list_flatten(parts), _TRIM)
                parent = pc.list_parent_indices(parts).to_numpy()
                encoded = flat.dictionary_encode()
                codes = encoded.indices.to_numpy(zero_copy_only=False)
                self._split = (parent, codes, encoded.dictionary.to_pylist(), flat)
        return self._split

    def item_hits(self, list_id: str) -> np.ndarray:
        """Per drug (flattened over all texts): whether it is on the list."""
        _, codes, items, _ = self._items()
        on_list = np.array([list_id in self.engine._match_item(i) for i in items] + [False], dtype=bool)
        return on_list[codes]

    def hits(self, list_id: str) -> np.ndarray:
        """Per distinct text (and a final False for "no drugs"): whether any of its drugs is on the list."""
        if list_id not in self._hits:
            found = np.zeros(len(self.texts) + 1, dtype=bool)
            if self.texts:
                parent = self._items()[0]
                found[:-1] = np.bincount(parent, weights=self.item_hits(list_id),
                                         minlength=len(self.texts)) > 0
            self._hits[list_id] = found
        return self._hits[list_id]

    def joined(self, list_id: str) -> tuple[np.ndarray, list[str]]:
        """Per distinct text: its drugs on the list, joined by "; " as the claim wrote them, as
        codes (with a final -1 for "no drugs") into the distinct joined texts."""
        parent, _, _, flat = self._items()
        keep = self.item_hits(list_id)
        if isinstance(flat, list):
            per_text: list[list[str]] = [[] for _ in self.texts]
            for j in np.flatnonzero(keep):
                per_text[parent[j]].append(flat[j])
            seen: dict[str, int] = {}
            codes = [seen.setdefault("; ".join(d), len(seen)) for d in per_text]
            return np.array([*codes, -1], dtype=np.int64), list(seen)
        counts = np.bincount(parent[keep], minlength=len(self.texts))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), flat.filter(pa.array(keep)))
        encoded = pc.binary_join(lists, "; ").dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return np.append(codes, -1), encoded.dictionary.to_pylist()


@dataclass
class _Evaluation:
    """The arrays one pass computes; `decide` frames them, `explain` narrates them."""

    n: int
    claim_id: Any
    product_text: _Coded  # the claim's product_id as given
    product: np.ndarray  # index into Engine.products, _UNKNOWN or _MISSING
    channel_text: _Coded  # the claim's channel as given
    channel: np.ndarray  # 0 retail, 1 home delivery, _UNKNOWN or _MISSING
    quantity_text: _Coded | _Plain  # the claim's quantity as given
    quantity: np.ndarray  # float, NaN when missing or not a number
    drugs: np.ndarray  # codes into drug_texts.texts (-1: none)
    drug_texts: _DrugTexts
    attested: np.ndarray  # codes into attested_texts (-1: none)
    attested_texts: list[str]
    problem: np.ndarray  # object: the reader's note on a malformed row, or None
    decision: np.ndarray
    limit: np.ndarray
    approved: np.ndarray
    winner: np.ndarray  # index into Engine.overrides, -1 when none applies
    met: dict[str, np.ndarray] = field(default_factory=dict)  # criterion id -> met per row


class Engine:
    """Decides claims against one ruleset: a published version, or a draft from build()."""

    def __init__(self, ruleset: dict[str, Any]):
        self.ruleset = ruleset
        self.ruleset_id: str = ruleset["ruleset_id"]
        self.version: int | None = ruleset.get("version")
        self.criteria = {c["criterion_id"]: Criterion(c["criterion_id"], c["description"],
                                                      c["met_when"], c.get("drug_list_id"))
                         for c in ruleset["criteria"]}
        self.drug_lists: dict[str, list[ListEntry]] = {
            dl["drug_list_id"]: [ListEntry(d["drug"], name, names.normalize(name))
                                 for d in dl["drugs"] for name in [d["drug"], *d["also_known_as"]]]
            for dl in ruleset["drug_lists"]}
        self.products: list[Product] = []
        self.policy_months: dict[str, Any] = {}
        for policy in ruleset["policies"]:
            self.policy_months[policy["policy_id"]] = policy["approval_months"]
            for p in policy["products"]:
                self.products.append(Product(
                    p["product_id"], policy["policy_id"], f"{p['product']}, {p['strength_and_form']}",
                    p["unit"], (p["retail_max_qty"], p["home_delivery_max_qty"]),
                    tuple(Override(o["criterion_id"], (o["retail_max_qty"], o["home_delivery_max_qty"]),
                                   o["approval_months"]) for o in p["overrides"])))
        self._product_index = {p.product_id.casefold(): i for i, p in enumerate(self.products)}
        self._max_qty = np.array([p.max_qty for p in self.products] or np.zeros((0, 2)), dtype=float)
        # Every override of every product, in the product's order (criterion id): ties on the
        # channel maximum go to the first, in the engine and in the JDM graph alike.
        self.overrides: list[tuple[int, Override]] = [
            (i, o) for i, p in enumerate(self.products) for o in p.overrides]
        self._criterion_ids = list(self.criteria)
        self._policy_ids = sorted({p.policy_id for p in self.products})
        self._messages, self._message_code = self._fixed_messages()
        # Per override (and a final "none"): its criterion, its months, its place in its product.
        # (dict lookups, not list.index: a ruleset may hold 20,000 products over 5,000 policies)
        criterion_code = {c: i for i, c in enumerate(self._criterion_ids)}
        policy_code = {p: i for i, p in enumerate(self._policy_ids)}
        self._ov_criterion = np.array([criterion_code[o.criterion_id] for _, o in self.overrides]
                                      + [-1], dtype=np.int64)
        self._ov_months = np.array([o.approval_months for _, o in self.overrides] + [np.nan], dtype=float)
        self._slot = np.array([slot for p in self.products for slot in range(len(p.overrides))] + [0],
                              dtype=np.int64)
        self._policy_of = np.array([policy_code[p.policy_id] for p in self.products] + [-1, -1],
                                   dtype=np.int64)
        self._drug_cache: dict[str, dict[str, tuple[ListEntry, ...]]] = {}
        self._overrides_of: dict[int, list[tuple[int, Override]]] = {}
        for k, (p, o) in enumerate(self.overrides):
            self._overrides_of.setdefault(p, []).append((k, o))
        self._has_overrides = np.array([i in self._overrides_of for i in range(len(self.products))]
                                       or [False], dtype=bool)

    @property
    def product_ids(self) -> list[str]:
        return [p.product_id for p in self.products]

    def product(self, product_id: str) -> Product | None:
        i = self._product_index.get(str(product_id).strip().casefold())
        return None if i is None else self.products[i]

    # -- deciding ---------------------------------------------------------------------------

    def decide(self, claims: pd.DataFrame) -> pd.DataFrame:
        """One decision per claim row, in the same order, with the contract's fields."""
        claims = claims.rename(columns=column_key)
        ev = self._evaluate({c: claims[c] if c in claims.columns else None
                             for c in [*COLUMNS, ROW_PROBLEM]}, len(claims))
        columns = self._columns(ev)
        return pd.DataFrame({k: v.categorical() if isinstance(v, _Coded)
                             else _numbers(v) if k in NUMBER_COLUMNS else v
                             for k, v in columns.items()}, columns=DECISION_COLUMNS, copy=False)

    def explain(self, claim: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """One claim's decision (a dict of the contract's fields) and the steps that led to it."""
        # The same pass as decide, on plain lists: a one-row DataFrame would cost more than deciding.
        claim = {column_key(k): v for k, v in claim.items()}
        ev = self._evaluate({c: [cell_text(claim.get(c))] for c in [*COLUMNS, ROW_PROBLEM]}, 1)
        row = {k: _plain(v.at(0) if isinstance(v, _Coded) else v[0]) for k, v in self._columns(ev).items()}
        return row, self._trace(ev, row)

    def met_criteria(self, claims: pd.DataFrame) -> list[list[str]]:
        """Each claim's met criteria, whatever its quantity (the JDM graph's `met_criteria`)."""
        claims = claims.rename(columns=column_key)
        n = len(claims)
        drugs, texts = _encode(claims.get("concomitant_drugs"), n)
        drug_texts = _DrugTexts(self, texts)
        attested, attested_texts = _encode(claims.get("attested_criteria"), n)
        met = {c: self._met(c, drugs, drug_texts, attested, attested_texts) for c in self.criteria}
        return [[c for c in self.criteria if met[c][i]] for i in range(n)]

    def _evaluate(self, col: dict[str, pd.Series | list | None], n: int) -> _Evaluation:

        product_codes, product_texts = _encode(col["product_id"], n)
        product_of = np.array([self._product_code(t) for t in product_texts] + [_MISSING], dtype=np.int64)
        product = product_of[product_codes]

        channel_codes, channel_texts = _encode(col["channel"], n)
        channel_of = np.array([_channel_code(t) for t in channel_texts] + [_MISSING], dtype=np.int64)
        channel = channel_of[channel_codes]

        quantity, quantity_text = _quantities(col["quantity"], n)

        drugs, texts = _encode(col["concomitant_drugs"], n)
        drug_texts = _DrugTexts(self, texts)
        attested, attested_texts = _encode(col["attested_criteria"], n)
        problem_codes, problems = _encode(col[ROW_PROBLEM], n)
        problem = _Coded(problem_codes, problems)

        invalid = (product == _MISSING) | (channel < 0) | ~(quantity > 0) | (problem_codes >= 0)
        valid = ~invalid & (product >= 0)
        safe_product = np.where(product >= 0, product, 0)
        safe_channel = np.where(channel >= 0, channel, 0)
        limit = (self._max_qty[safe_product, safe_channel] if len(self.products)
                 else np.zeros(n))
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
                    met[o.criterion_id] = self._met(o.criterion_id, drugs, drug_texts, attested, attested_texts)
                o_cap = np.where(ch == 0, o.max_qty[0], o.max_qty[1])
                better = met[o.criterion_id][rows] & (o_cap > best_cap)  # strictly: a tie keeps the first
                best[better] = k
                best_cap[better] = o_cap[better]
            winner[rows] = best
            cap[rows] = best_cap

        decision = np.full(n, DENY, dtype=np.int8)
        decision[valid & ~over] = APPROVE
        decision[winner >= 0] = OVERRIDE
        decision[~invalid & (product == _UNKNOWN)] = NOT_APPLICABLE
        decision[invalid] = INVALID
        approved = np.where(decision == APPROVE, quantity,
                            np.where(decision == OVERRIDE, np.minimum(quantity, cap),
                                     np.where(decision == DENY, 0.0, np.nan)))
        claim_id = _claim_ids(col["claim_id"], n)
        return _Evaluation(n, claim_id, _Coded(product_codes, product_texts), product,
                           _Coded(channel_codes, channel_texts), channel, quantity_text, quantity,
                           drugs, drug_texts, attested, attested_texts, problem,
                           decision, limit, approved, winner, met)

    def _over_limit_groups(self, over: np.ndarray, product: np.ndarray):
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
        for start, end in zip(starts, [*starts[1:], len(rows)]):
            yield rows[start:end], self._overrides_of[int(products[start])]

    def _product_code(self, text: str) -> int:
        key = str(text).strip().casefold()
        if not key:
            return _MISSING
        return self._product_index.get(key, _UNKNOWN)

    def _met(self, criterion_id: str, drugs: np.ndarray, drug_texts: _DrugTexts,
             attested: np.ndarray, attested_texts: list[str]) -> np.ndarray:
        """Whether each claim meets the criterion, decided once per distinct drug/attested text."""
        c = self.criteria[criterion_id]
        if c.met_when == "attested":
            per_text = [criterion_id.casefold() in {a.casefold() for a in names.split_list(t)}
                        for t in attested_texts]
            return np.array(per_text + [False], dtype=bool)[attested]
        return drug_texts.hits(c.drug_list_id)[drugs]

    def matched(self, drug_text: str | None) -> dict[str, list[tuple[str, ListEntry]]]:
        """For a claim's `;`-separated drugs: drug list id -> [(the claim's drug, the entry it
        matched)], each claim drug once per list."""
        out: dict[str, list[tuple[str, ListEntry]]] = {}
        if not drug_text:
            return out
        for item in _DrugTexts(self, [drug_text])._items()[3]:  # split as decide splits it
            for list_id, entries in self._match_item(item).items():
                out.setdefault(list_id, []).append((item, entries[0]))
        return out

    def _match_item(self, item: str) -> dict[str, tuple[ListEntry, ...]]:
        hit = self._drug_cache.get(item)
        if hit is None:
            words = names.normalize(item)
            hit = {}
            for list_id, entries in self.drug_lists.items():
                found = tuple(e for e in entries if names.has_words(words, e.words))
                if found:
                    hit[list_id] = found
            if len(self._drug_cache) < 100_000:  # bounded: a hostile file cannot grow it forever
                self._drug_cache[item] = hit
        return hit

    # -- framing ----------------------------------------------------------------------------

    def _columns(self, ev: _Evaluation) -> dict[str, Any]:
        n = ev.n
        decided = ev.decision
        is_override = decided == OVERRIDE
        winner = np.where(is_override, ev.winner, -1)
        ov_criterion, ov_months, policy_of = self._ov_criterion, self._ov_months, self._policy_of
        # Numbers stay float arrays here; decide() makes whole ones nullable integers.
        return {
            "claim_id": ev.claim_id,
            "product_id": ev.product_text,  # a Categorical: the claim's text as given
            "policy_id": _Coded(np.where(ev.product >= 0, policy_of[ev.product], -1), self._policy_ids),
            "channel": self._channel_column(ev),
            "quantity": ev.quantity,
            "decision": _Coded(decided, DECISIONS),
            "approved_quantity": ev.approved,
            "limit": ev.limit,
            "criterion_id": _Coded(ov_criterion[winner], self._criterion_ids),
            "matched_drugs": self._matched_column(ev, winner),
            "reject_code": np.where((decided == OVERRIDE) | (decided == DENY), REJECT_CODE, np.nan),
            "approval_months": ov_months[winner],
            "message": self._message_column(ev, winner),
            "ruleset_id": _Coded(np.zeros(n, dtype=np.int8), [self.ruleset_id]),
            "ruleset_version": np.full(n, np.nan if self.version is None else self.version, dtype=float),
        }

    def _channel_column(self, ev: _Evaluation) -> _Coded:
        """`retail`/`home_delivery`; an unrecognised channel is echoed as given."""
        codes = ev.channel.copy()
        odd = codes == _UNKNOWN
        categories = list(CHANNELS)
        if odd.any():
            given, inverse = np.unique(ev.channel_text.codes[odd], return_inverse=True)
            codes[odd] = inverse + len(categories)
            categories += [str(ev.channel_text.categories[g]) for g in given]
        codes[codes == _MISSING] = -1
        return _Coded(codes, categories)

    def _matched_column(self, ev: _Evaluation, winner: np.ndarray) -> _Coded:
        """The claim's drugs that met the winning criterion, joined by "; "."""
        codes = np.full(ev.n, -1, dtype=np.int64)
        categories: list[str] = []
        criterion = self._ov_criterion[winner]  # per claim: the winning criterion's index, or -1
        for i, criterion_id in enumerate(self._criterion_ids):  # few criteria, however many products
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
        return _Coded(codes, categories)

    def _message_column(self, ev: _Evaluation, winner: np.ndarray) -> _Coded:
        """Approve/override/deny messages are fixed per (product, channel, outcome) and chosen by
        code; not_applicable and invalid messages are written once per distinct cause."""
        decided = ev.decision
        codes = np.full(ev.n, -1, dtype=np.int64)
        categories = list(self._messages)
        valid = decided <= DENY
        if valid.any():
            p, ch = ev.product[valid], ev.channel[valid]
            d = decided[valid]
            capped = ev.quantity[valid] > ev.approved[valid]
            slot = np.where(d == APPROVE, 0, np.where(d == DENY, 1, 2 + 2 * self._slot[winner[valid]] + capped))
            codes[valid] = self._message_code[p, ch, slot]
        rows = np.flatnonzero(decided == NOT_APPLICABLE)
        if len(rows):
            products, inverse = np.unique(ev.product_text.codes[rows], return_inverse=True)
            codes[rows] = inverse + len(categories)
            categories += [self._not_applicable_message(ev.product_text.categories[p]) for p in products]
        written: dict[Any, int] = {}
        for i in np.flatnonzero(decided == INVALID):  # rare; one message per distinct cause
            key = (ev.product[i] == _MISSING, ev.channel_text.at(i), ev.channel[i], ev.quantity_text.at(i),
                   ev.problem.at(i))
            code = written.get(key)
            if code is None:
                categories.append(invalid_message(*key))
                code = written[key] = len(categories) - 1
            codes[i] = code
        return _Coded(codes, categories)

    def _fixed_messages(self) -> tuple[list[str], np.ndarray]:
        most = max((len(p.overrides) for p in self.products), default=0)
        code = np.zeros((max(len(self.products), 1), 2, 2 + 2 * most), dtype=np.int64)
        messages: list[str] = []
        for i, p in enumerate(self.products):
            for ch, channel in enumerate(CHANNELS):
                limit = f"the {CHANNEL_LABEL[channel]} limit of {_n(p.max_qty[ch])} {p.unit} per Rx"
                texts = [f"Within {limit}.",
                         f"Over {limit} and "
                         + ("no override criterion is met" if p.overrides
                            else f"{p.product_id} has no overrides") + ": rejects with code 76."]
                for o in p.overrides:
                    c = self.criteria[o.criterion_id]
                    cap = f"{_n(o.max_qty[ch])} {p.unit}"
                    months = f"{_n(o.approval_months)} months"
                    but = f"Over {limit}, but {c.description[0].lower() + c.description[1:]}: rejects with code 76; "
                    texts.append(f"{but}the quantity requested is approvable on coverage review for "
                                 f"{months} (up to {cap}).")
                    texts.append(f"{but}{cap} (the most this override allows) are approvable on coverage "
                                 f"review for {months}.")
                for slot, text in enumerate(texts):
                    messages.append(text)
                    code[i, ch, slot] = len(messages) - 1
        return messages, code

    def _not_applicable_message(self, product_text: str) -> str:
        version = f" v{self.version}" if self.version is not None else " (draft)"
        return (f"Ruleset {self.ruleset_id}{version} has no quantity limit for "
                f"product {str(product_text).strip()!r}.")

    # -- explaining -------------------------------------------------------------------------

    def _trace(self, ev: _Evaluation, row: dict[str, Any]) -> list[str]:
        version = f"v{self.version}" if self.version is not None else "draft"
        lines = [f"Ruleset {self.ruleset_id} {version}."]
        decided = int(ev.decision[0])
        if decided == INVALID:
            return lines + [f"The claim is invalid: {row['message'].removeprefix('Invalid: ')}"]
        p = self.products[ev.product[0]] if ev.product[0] >= 0 else None
        if p is None:
            return lines + [row["message"]]
        ch = int(ev.channel[0])
        label = CHANNEL_LABEL[CHANNELS[ch]]
        qty, limit = _n(ev.quantity[0]), _n(ev.limit[0])
        lines.append(f"Product {p.product_id} ({p.label}) is in policy {p.policy_id}; its {label} "
                     f"limit is {limit} {p.unit} per Rx.")
        if decided == APPROVE:
            lines.append(f"{qty} is within the limit of {limit}, so no override criterion is needed.")
            return lines + [f"Decision: approve {qty} {p.unit}; no reject code."]
        lines.append(f"{qty} is over the limit of {limit}.")
        if not p.overrides:
            lines.append(f"{p.product_id} has no overrides, so nothing can raise the limit.")
        drugs = ev.drug_texts.texts[ev.drugs[0]] if ev.drugs[0] >= 0 else None
        attested = ev.attested_texts[ev.attested[0]] if ev.attested[0] >= 0 else None
        matches = self.matched(drugs)
        for o in p.overrides:
            c = self.criteria[o.criterion_id]
            cap = f"{_n(o.max_qty[ch])} {p.unit} at {label}"
            if c.met_when == "attested":
                said = [a for a in names.split_list(attested) if a.casefold() == c.criterion_id.casefold()]
                why = ("met: the claim attests it" if said else
                       f"not met: the claim does not attest it (attested: {attested or 'none'})")
            else:
                found = matches.get(c.drug_list_id, [])
                why = ("met: " + "; ".join(
                    f"'{item}' matches {e.drug}" + (f" (as {e.name})" if e.name != e.drug else "")
                    for item, e in found) + f" on list {c.drug_list_id}" if found else
                       f"not met: no drug on the claim ({drugs or 'none given'}) is on list {c.drug_list_id}")
            lines.append(f"Criterion {c.criterion_id} ({c.description}): {why}; its override allows up to {cap}.")
        if decided == DENY:
            return lines + ["Decision: deny; approved 0; reject code 76."]
        _, o = self.overrides[ev.winner[0]]
        met = [oo for oo in p.overrides if ev.met.get(oo.criterion_id, np.zeros(1, bool))[0]]
        if len(met) > 1:
            lines.append(f"{len(met)} overrides are met; {o.criterion_id} has the highest {label} "
                         f"maximum ({_n(o.max_qty[ch])}), so it applies.")
        approved = _n(ev.approved[0])
        lines.append(f"Cap: approved quantity = min({qty} requested, {_n(o.max_qty[ch])} allowed) = {approved}.")
        return lines + [(f"Decision: override; reject code 76 at the point of service; {approved} "
                        f"{p.unit} approvable on coverage review for {_n(o.approval_months)} months.")]


def invalid_message(product_missing: bool, channel_text: Any, channel: int, quantity_text: Any,
                    problem: str | None) -> str:
    """What is wrong with a malformed claim, every problem in one sentence."""
    wrong = []
    if problem:
        wrong.append(problem.rstrip("."))
    if product_missing:
        wrong.append("product_id is missing")
    if channel == _MISSING:
        wrong.append("channel is missing (use retail or home_delivery)")
    elif channel == _UNKNOWN:
        wrong.append(f"channel {str(channel_text).strip()!r} is not retail or home_delivery")
    q = quantity_number(quantity_text) if isinstance(quantity_text, str) else quantity_text
    if isinstance(quantity_text, str) and q is None:
        q = "not a number"
    if quantity_text is None or (isinstance(q, float) and math.isnan(q)) or (isinstance(quantity_text, str) and not quantity_text.strip()):
        wrong.append("quantity is missing")
    elif q == "not a number":
        wrong.append(f"quantity {str(quantity_text).strip()!r} is not a number")
    elif not q > 0:
        wrong.append(f"quantity {_n(q)} is not more than 0")
    return "Invalid: " + "; ".join(wrong) + "."


def _channel_code(text: str) -> int:
    key = " ".join(column_key(text).split("_"))
    if not key:
        return _MISSING
    return {"retail": 0, "home delivery": 1}.get(key, _UNKNOWN)


def _encode(series: pd.Series | None, n: int) -> tuple[np.ndarray, list[str]]:
    """Codes per row (-1: missing) and the distinct texts; via Arrow when the column is Arrow text."""
    if series is None:
        return np.full(n, -1, dtype=np.int64), []
    if isinstance(series, list):
        seen: dict[Any, int] = {}
        codes = np.array([-1 if v is None else seen.setdefault(v, len(seen)) for v in series], dtype=np.int64)
        return codes, list(seen)
    array = series.array
    if hasattr(array, "__arrow_array__") and n:
        chunked = pa.chunked_array(array.__arrow_array__())
        if pa.types.is_string(chunked.type) or pa.types.is_large_string(chunked.type):
            encoded = chunked.combine_chunks().dictionary_encode()
            codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)  # int32: fine as an index
            return codes, encoded.dictionary.to_pylist()
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64), [str(u) if not isinstance(u, str) else u for u in uniques]


def _quantities(series: pd.Series | list | None, n: int) -> tuple[np.ndarray, _Coded | _Plain]:
    """Each claim's quantity as a float (NaN when missing or not a number) and as given."""
    if (isinstance(series, pd.Series) and pd.api.types.is_numeric_dtype(series.dtype)
            and not pd.api.types.is_bool_dtype(series.dtype)):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        return values, _Plain(values)
    codes, texts = _encode(series, n)
    parsed = [quantity_number(t) for t in texts]
    numbers = np.array([np.nan if q is None else q for q in parsed] + [np.nan], dtype=float)
    return numbers[codes], _Coded(codes, texts)


def _claim_ids(series: pd.Series | None, n: int) -> pd.Series:
    """The claim ids as given, as text; a missing one is the claim's row number ("1" for the first)."""
    if isinstance(series, list):
        return [str(i + 1) if v is None else v for i, v in enumerate(series)]
    if series is not None:
        series = series.reset_index(drop=True)
        if not series.isna().any():
            return series
    numbers = pa.array(np.arange(1, n + 1)).cast(pa.string()).to_pandas()
    if series is None:
        return numbers
    return series.astype("str").where(series.notna(), numbers)


def _numbers(values: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Whole numbers as nullable integers (60, not 60.0); otherwise floats."""
    values = np.asarray(values, dtype=float)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    if np.all(np.abs(filled) < 2**53):
        ints = filled.astype(np.int64)
        if np.array_equal(ints, filled):
            return pd.arrays.IntegerArray(ints, ~present)
    return values


def _unique(categories: list[str], codes: np.ndarray) -> list[str]:
    """Categories must be unique: fold a repeated message onto its first code (rare)."""
    if len(set(categories)) == len(categories):
        return categories
    first: dict[str, int] = {}
    remap = np.empty(len(categories), dtype=np.int64)
    out: list[str] = []
    for i, c in enumerate(categories):
        if c not in first:
            first[c] = len(out)
            out.append(c)
        remap[i] = first[c]
    codes[codes >= 0] = remap[codes[codes >= 0]]
    return out


def _n(x: Any) -> str:
    """A quantity as people write it: 60, 2.5, 1,080."""
    x = float(x)
    return f"{int(x):,}" if x.is_integer() else f"{x:,}"


def _plain(value: Any) -> Any:
    """A cell as a plain Python value (None for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return int(value) if float(value).is_integer() else float(value)
    return value
