"""Which version decides each claim, and the claims decided so.

A version takes effect on its effective date. A claim with a date of service is decided by the
highest-numbered version whose effective date is on or before that date (so a later-published
correction with an earlier effective date supersedes); a claim without one by the latest version;
a claim dated before every version decides `not_applicable`, saying so. `as_of` decides every
claim as of one date.

Codes across versions (docs/consumers.md §5): a code the version in effect does not list resolves
through the nearest later version that lists it, provided the version in effect has that product
(versions published before a ruleset listed its codes hold none); that version still decides.
`routed` gives each version's engine so (resolve.LaterCodes); `engine` gives it alone, as
`--version N` decides.

`Versions.decide` groups the claims by the version in effect and decides each group with that
version's engine (one per version, made on first use), then puts the decisions back in input
order. The claims' columns are encoded once for the whole batch (encode.py), so a group costs
index arrays, never copies of its text. Nothing here reads the store: the caller gives the
versions (compiler/api.py gives the store's, verified).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ..effective import takes_effect
from ..errors import NoVersionInEffect
from . import model
from .arrays import ints
from .claims import OUT_OF_EFFECT, cell_text, column_key
from .encode import (
    Coded,
    Plain,
    Texts,
    arrow_texts,
    claim_ids,
    encoded,
    is_series,
    number_objects,
    service_days,
    used_texts,
)
from .engine import Engine
from .grammar import service_date
from .resolve import LaterCodes
from .run import decide_run

if TYPE_CHECKING:
    import pandas as pd

NONE_IN_EFFECT = 0  # versions are numbered from 1


class Versions:
    """A ruleset's versions as claims choose among them: each version's effective date, and an
    engine per version."""

    def __init__(
        self, ruleset_id: str, effective: Mapping[int, dt.date], engine: Callable[[int], Engine]
    ):
        if not effective:
            raise ValueError(f"Ruleset {ruleset_id!r} has no versions to decide by.")
        self.ruleset_id = ruleset_id
        self.effective = dict(sorted(effective.items()))
        self.latest = max(self.effective)
        self._make_engine = engine
        self._engines: dict[int, Engine] = {}
        self._routed: dict[int, Engine] = {}
        self._rulesets: Mapping[int, dict[str, Any]] | None = None  # when made from them (`of`)
        # By effective date (then number): the highest-numbered version among those that have
        # taken effect by each start, so one binary search finds the version in effect.
        order = sorted(self.effective.items(), key=lambda item: (item[1], item[0]))
        self._starts = np.array([d.toordinal() for _, d in order], dtype=np.int64)
        self._in_effect = np.maximum.accumulate(np.array([v for v, _ in order], dtype=np.int64))
        self.first = int(order[0][0])  # the version that takes effect first

    @classmethod
    def of(cls, rulesets: Mapping[int, dict[str, Any]]) -> Versions:
        """The versions of one ruleset, given as version number -> ruleset dict."""
        ids = {doc["ruleset_id"] for doc in rulesets.values()}
        if len(ids) != 1:
            raise ValueError(f"Versions of one ruleset are needed, not of {sorted(ids)}.")
        versions = cls(
            ids.pop(),
            {v: takes_effect(doc) for v, doc in rulesets.items()},
            lambda v: Engine(rulesets[v]),
        )
        versions._rulesets = rulesets
        return versions

    def per_days_products(self) -> frozenset[str]:
        """The products (product_id, case folded) any version limits Per Days: read from the
        version files when they are at hand, so that no engine is made for a version no claim
        falls in."""
        if self._rulesets is None:
            products = [p for v in self.effective for p in self.engine(v).products]
        else:
            products = [p for doc in self._rulesets.values() for p in model.products(doc)]
        return frozenset(p.product_id.strip().casefold() for p in products if p.days)

    def engine(self, version: int) -> Engine:
        """The engine of one version (made once)."""
        if version not in self._engines:
            if version not in self.effective:
                raise KeyError(f"{self.ruleset_id} has no version {version}.")
            self._engines[version] = self._make_engine(version)
        return self._engines[version]

    def routed(self, version: int) -> Engine:
        """The engine that decides the claims routed to one version (by their date, or as of a
        date): the version's, reading a code it does not list through the later versions (made
        once; the version's own engine is left as it is, deciding alone)."""
        if version not in self._routed:
            own = self.engine(version)
            later = [v for v in self.effective if v > version]  # in order: the nearest first
            if later:
                own = copy.copy(own)
                own.later_codes = LaterCodes(own, lambda: [self.engine(v) for v in later])
            self._routed[version] = own
        return self._routed[version]

    def in_effect(self, day: dt.date) -> int | None:
        """The version in effect on `day`, or None when `day` is before every version."""
        version = int(self.route(np.array([day.toordinal()]))[0])
        return version if version != NONE_IN_EFFECT else None

    def version_on(self, day: dt.date) -> int:
        """The version in effect on `day`; raises NoVersionInEffect when there is none."""
        version = self.in_effect(day)
        if version is None:
            raise NoVersionInEffect(self.none_in_effect(day))
        return version

    def route(self, days: np.ndarray) -> np.ndarray:
        """Per claim, the version that decides it: by its date of service (a day number), the
        latest for a claim without a date (or with one that is not a date: it decides invalid),
        NONE_IN_EFFECT for a date before every version."""
        at = np.searchsorted(self._starts, days, side="right") - 1
        version = np.where(at >= 0, self._in_effect[np.maximum(at, 0)], NONE_IN_EFFECT)
        return np.where(days > 0, version, self.latest)

    def none_in_effect(self, day: dt.date | str) -> str:
        """Why a claim dated `day` decides not_applicable."""
        first = self.effective[self.first]
        return (
            f"No version of {self.ruleset_id} is in effect on {day}: the first, v{self.first}, "
            f"takes effect on {first.isoformat()}."
        )

    def decide(
        self,
        claims: pd.DataFrame,
        as_of: dt.date | None = None,
        history: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """One decision per claim, in input order, each by the version in effect on its date of
        service (on `as_of` for every claim, when given: NoVersionInEffect when none is); the
        claims are one run against `history`, as Engine.decide's are."""
        if as_of is not None:
            self.version_on(as_of)  # said before any claim is decided
        return decide_run(claims, run_pass(self, as_of), history)

    def decide_columns(
        self, columns: dict[str, Any], n: int, as_of: dt.date | None = None
    ) -> dict[str, Any]:
        """Engine.decide_columns, each claim by the version in effect on its date (or `as_of`)."""
        if as_of is not None:
            return self.routed(self.version_on(as_of)).decide_columns(columns, n)
        if n == 0:  # a batch of no claims (a file of only a header): no decisions, no version
            return self.routed(self.latest).decide_columns(columns, n)
        columns = {**columns, OUT_OF_EFFECT: None}  # this module's note, never the file's
        days, dates = service_days(columns["date_of_service"], n)
        columns["date_of_service"] = dates  # read once, for every group
        route = self.route(days)
        used = np.flatnonzero(np.bincount(route))
        if len(used) == 1 and used[0] != NONE_IN_EFFECT:  # one version decides them all
            return self.routed(int(used[0])).decide_columns(columns, n)
        shared = {  # the claim ids are echoed once for the whole batch, below
            c: encoded(v, n) if _whole(v) else v for c, v in columns.items() if c != "claim_id"
        }
        parts = []
        for version in used:
            rows = np.flatnonzero(route == version)
            part = {c: None if v is None else v.take(rows) for c, v in shared.items()}
            if version == NONE_IN_EFFECT:
                notes = [self.none_in_effect(shown) for shown in dates.categories]
                part[OUT_OF_EFFECT] = Coded(dates.codes[rows], notes)
                # Whether the claim is valid, by the first version and its own codes (no version
                # is in effect to read a later one's through); it names no version.
                engine = self.engine(self.first)
            else:
                engine = self.routed(int(version))
            parts.append((rows, engine.decide_columns(part, len(rows))))
        merged = _merge(parts, n, skip=("claim_id", "date_of_service"))
        # What the claim says, whichever version decided it: echoed once for the whole batch.
        merged["claim_id"] = claim_ids(columns["claim_id"], n)
        merged["date_of_service"] = dates
        return merged

    def explain(
        self, claim: dict[str, Any], as_of: dt.date | None = None, accumulated: float | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """One claim's decision and the steps that led to it, the first step saying which version
        decides and why."""
        claim = {column_key(k): v for k, v in claim.items() if column_key(k) != OUT_OF_EFFECT}
        text = cell_text(claim.get("date_of_service"))
        day = service_date(text)
        why = None
        if as_of is not None:
            version = self.version_on(as_of)
            why = f"As of {as_of.isoformat()}, v{version} is in effect{self._since(version)}."
        elif text is None or not text.strip():
            version = self.latest
            why = f"The claim has no date of service, so the latest version, v{version}, decides."
        elif day is None:
            version = self.latest  # the claim is invalid: its date is not a date
        elif (version := self.in_effect(day)) is None:
            version = self.first
            claim[OUT_OF_EFFECT] = self.none_in_effect(day.isoformat())
        else:
            why = (
                f"On its date of service, {day.isoformat()}, v{version} is in effect"
                f"{self._since(version)}."
            )
        engine = self.engine(version) if OUT_OF_EFFECT in claim else self.routed(version)
        row, steps = engine.explain(claim, accumulated)
        return row, [*steps[:1], *([why] if why else []), *steps[1:]]

    def _since(self, version: int) -> str:
        return f" (it takes effect on {self.effective[version].isoformat()})"


def _merge(
    parts: list[tuple[np.ndarray, dict[str, Any]]], n: int, skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The decision columns of groups of claims (their rows, their columns) as one batch's, in
    input order: coded text re-coded over the groups' distinct values, numbers spread back. The
    columns in `skip` are left to the caller."""
    out: dict[str, Any] = {}
    for key in parts[0][1]:
        if key in skip:
            continue
        # A column some versions give and others not (engine.CAP): NaN where not given.
        given = [c[key] for _, c in parts if c[key] is not None]
        first = given[0] if given else None
        if first is None:
            out[key] = None
        elif isinstance(first, Coded):
            out[key] = _merged_texts([(rows, columns[key]) for rows, columns in parts], n)
        else:
            arrays = [
                (rows, c.values if isinstance((c := columns[key]), Plain) else c)
                for rows, columns in parts
                if columns[key] is not None  # left NaN
            ]
            # A quantity echoing a text in some group: objects for all (numbers as JSON writes them).
            text = any(a.dtype == object for _, a in arrays)
            values = np.full(n, None if text else np.nan, dtype=object if text else float)
            for rows, a in arrays:
                values[rows] = number_objects(a) if text and a.dtype != object else a
            out[key] = values
    return out


def _merged_texts(parts: list[tuple[np.ndarray, Coded]], n: int) -> Coded:
    """A coded column of groups of claims as one, re-coded over the groups' distinct texts (each
    once, whichever groups use it): by Arrow when any group's are Arrow's (member ids, Per Days
    messages: many)."""
    codes = np.full(n, -1, dtype=np.int64)
    pruned = []
    for rows, column in parts:
        texts, part_codes = column.categories, column.codes
        if len(texts) > 2 * len(rows) + 16:  # e.g. every message of a large ruleset
            used, part_codes = np.unique(part_codes, return_inverse=True)
            part_codes = part_codes.reshape(-1)
            if len(used) and used[0] < 0:  # -1 (none) sorts first: keep it -1
                used, part_codes = used[1:], part_codes - 1
            texts = used_texts(texts, used)
        pruned.append((rows, texts, part_codes))
    if any(isinstance(texts, Texts) for _, texts, _ in pruned):
        every = pa.concat_arrays([arrow_texts(t).cast(pa.string()) for _, t, _ in pruned])
        encoded = every.dictionary_encode()
        remaps, start = ints(encoded.indices), 0
        for rows, texts, part_codes in pruned:
            remap = np.append(remaps[start : start + len(texts)], -1)
            codes[rows] = remap[part_codes]
            start += len(texts)
        return Coded(codes, Texts(encoded.dictionary))
    index: dict[Any, int] = {}
    for rows, texts, part_codes in pruned:
        remap = [index.setdefault(t, len(index)) for t in texts]
        codes[rows] = np.array(remap + [-1], dtype=np.int64)[part_codes]
    return Coded(codes, list(index))


def run_pass(chosen: Engine | Versions, as_of: dt.date | None = None) -> Callable:
    """The pass a run makes over its columns (run.Decide): one version's, or each claim's
    version in effect (or the one in effect on `as_of`)."""
    if isinstance(chosen, Versions):
        return lambda columns, n: chosen.decide_columns(columns, n, as_of)
    return chosen.decide_columns


def _whole(column: Any) -> bool:
    """A column as read (a frame's, or Arrow's): encoded once for every version's part, whose rows
    are then numpy's to take."""
    return is_series(column) or isinstance(column, (pa.Array, pa.ChunkedArray))
