"""Which product each claim names, against one ruleset: by product_id, by a package NDC or by an
RxCUI (compiler/codes.py reads the codes). A claim may give several; they must name the same
product. Each distinct text is read and looked up once; numpy spreads the answers over the rows.

Codes across versions (docs/consumers.md §5): a claim routed to a version by its date (or as of a
date) reads a code that version does not list through the nearest later version that lists it,
provided the version has that product: `LaterCodes`, built once per version on first need.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import codes
from ..vocabulary import CODE_SYSTEMS, PRODUCT_CLAIM_COLUMNS
from .encode import MISSING, UNKNOWN, Coded, Column, encode

if TYPE_CHECKING:  # the engine calls this module
    from .engine import Engine

# Besides an index into the ruleset's products, UNKNOWN (well-formed, but no product has it) and
# MISSING (not given): a code that cannot be read, and identifiers that name different products.
MALFORMED, CONFLICT = -3, -4


@dataclass
class Identifier:
    """One claims column that names a product, as given and as read."""

    column: str  # "product_id", "ndc" or "rxcui"
    text: Coded  # as given
    read: list[codes.Code | None]  # per distinct text: the code as read (None for a product_id)
    product_of: np.ndarray  # per distinct text, then MISSING: a product index, UNKNOWN, MALFORMED

    def products(self) -> np.ndarray:
        """Per claim: the product this identifier names, UNKNOWN, MALFORMED or MISSING."""
        return self.product_of[self.text.codes]

    def at(self, i: int) -> tuple[str, str, codes.Code | None, int] | None:
        """Claim i's identifier as (column, text as given, code as read, product), or None when
        the claim does not give it."""
        k = self.text.codes[i]
        if k < 0 or self.product_of[k] == MISSING:
            return None
        return self.column, self.text.categories[k], self.read[k], int(self.product_of[k])


@dataclass
class Named:
    """The product each claim names."""

    product: np.ndarray  # index into the ruleset's products, UNKNOWN, MISSING, MALFORMED, CONFLICT
    product_text: Coded  # the claim's product_id as given
    identifiers: list[Identifier]  # the columns the claims carry, product_id first

    def given(self, i: int) -> tuple[tuple[str, str, codes.Code | None, int], ...]:
        """Claim i's identifiers (see Identifier.at): what its messages are made of."""
        return tuple(found for ident in self.identifiers if (found := ident.at(i)) is not None)

    def resolved_ids(self, product_ids: list[str]) -> Coded:
        """The decision's product_id: the claim's product_id as given, else the product its code
        names (none when it names none). A product_id of only whitespace is not given (its key
        is empty: docs/consumers.md §3)."""
        text, ids = self.product_text, self.identifiers[0]
        if (ids.product_of[:-1] == MISSING).any():  # rare: some claim's product_id is blank
            text = Coded(np.where(ids.products() == MISSING, -1, text.codes), text.categories)
        if len(self.identifiers) == 1:  # product_id alone: as given
            return text
        shift = len(text.categories)
        product_codes = np.where(
            text.codes >= 0, text.codes, np.where(self.product >= 0, self.product + shift, -1)
        )
        return Coded(product_codes, [*text.categories, *product_ids])


@dataclass(frozen=True)
class Listed:
    """Where a code a version does not list came from: the nearest later version that lists it."""

    engine: Engine  # that later version's
    product_id: str  # the product it lists the code for
    description: str | None  # the code's description there (`Sun Pharma, bottle of 30`)


class LaterCodes:
    """The codes one version does not list, each read through the nearest later version that lists
    it: the version's own product of that product_id, or UNKNOWN when the version has none (no
    version further on is asked). `later` gives the later versions' engines, nearest first; it
    is called, and the index built, only when a claim gives a code the version does not list."""

    def __init__(self, engine: Engine, later: Callable[[], list[Engine]]):
        self._engine = engine
        self._later = later

    @functools.cached_property
    def _index(self) -> dict[str, dict[str, tuple[int, Listed]]]:
        """Code system -> code -> (product index in this version or UNKNOWN, where it is listed)."""
        own = self._engine.code_index
        products = {p.product_id.casefold(): i for i, p in enumerate(self._engine.products)}
        out: dict[str, dict[str, tuple[int, Listed]]] = {system: {} for system in CODE_SYSTEMS}
        for later in self._later():
            described = later.code_descriptions
            for system, listed in later.code_index.items():
                found = out[system]
                for code, i in listed.items():
                    if code in found or code in own[system]:
                        continue  # listed nearer, or by this version itself
                    pid = later.products[i].product_id
                    found[code] = (
                        products.get(pid.casefold(), UNKNOWN),
                        Listed(later, pid, described.get((system, code))),
                    )
        return out

    def product(self, system: str, code: str) -> int:
        """The product index in this version a code it does not list names, or UNKNOWN."""
        found = self._index[system].get(code)
        return UNKNOWN if found is None else found[0]

    def listed(self, system: str, code: str) -> Listed | None:
        """Where a code this version does not list is listed; None when no later version lists it."""
        found = self._index[system].get(code)
        return None if found is None else found[1]


def resolve(
    columns: dict[str, Column],
    n: int,
    product_index: dict[str, int],
    code_index: dict[str, dict[str, int]],
    later: LaterCodes | None = None,
) -> Named:
    """The product each of n claims names. `columns`: the claims columns by name (a column the
    claims do not carry is None; product_id is always looked at); `product_index`: casefolded
    product id -> index; `code_index`: code system -> code in its normal form -> index; `later`:
    the codes later versions list, for a code `code_index` does not have."""
    identifiers = []
    for column in PRODUCT_CLAIM_COLUMNS:
        if column != "product_id" and columns.get(column) is None:
            continue
        text = Coded(*encode(columns.get(column), n))
        if column != "product_id" and not text.categories:
            continue  # no claim gives this code (a file without it has it all blank)
        if column == "product_id":
            read: list[Any] = [None] * len(text.categories)
            found = [_product(t, product_index) for t in text.categories]
        else:
            read = [codes.read_code(column, t) if t.strip() else None for t in text.categories]
            found = [_code(r, code_index[column]) for r in read]
            if later is not None and UNKNOWN in found:  # well-formed, but not listed here
                found = [
                    later.product(column, r.value)
                    if f == UNKNOWN and r is not None and r.value
                    else f
                    for f, r in zip(found, read, strict=True)
                ]
        identifiers.append(
            Identifier(column, text, read, np.array(found + [MISSING], dtype=np.int64))
        )
    product_text = identifiers[0].text
    if len(identifiers) == 1:  # the claims name products by product_id only
        return Named(identifiers[0].products(), product_text, identifiers)
    each = [ident.products() for ident in identifiers]
    product = np.full(n, MISSING, dtype=np.int64)
    for named in reversed(each):  # the first identifier given, in column order
        product = np.where(named != MISSING, named, product)
    conflict = np.zeros(n, dtype=bool)
    malformed = np.zeros(n, dtype=bool)
    for named in each:
        conflict |= (named != MISSING) & (named != product)
        malformed |= named == MALFORMED
    product[conflict] = CONFLICT
    product[malformed] = MALFORMED  # a code that cannot be read is said first
    return Named(product, product_text, identifiers)


def _product(text: str, product_index: dict[str, int]) -> int:
    key = text.strip().casefold()
    return product_index.get(key, UNKNOWN) if key else MISSING


def _code(code: codes.Code | None, index: dict[str, int]) -> int:
    if code is None:
        return MISSING  # blank
    if code.value is None:
        return MALFORMED
    return index.get(code.value, UNKNOWN)
