"""A claim's concomitant drugs against the ruleset's drug lists.

A claim writes its drugs as one `;`-separated text. Each drug is matched by its words (names.py's
normal form): "Rifadin 300 mg capsule" is on a list that names Rifadin, "rifaximin" is not on one
that names rifampin. Each distinct drug is matched once; the answers are cached and spread back to
every claim by numpy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .. import names
from . import arrays
from .model import ListEntry

_TRIM = " \t\r\n\v\f"  # what is trimmed around each `;`-separated drug
_CACHE_LIMIT = 100_000  # distinct drugs remembered: a hostile file cannot grow the cache forever


class DrugLists:
    """The ruleset's drug lists, and which of them a drug is on."""

    def __init__(self, lists: dict[str, list[ListEntry]]):
        self.lists = lists
        self._cache: dict[str, dict[str, tuple[ListEntry, ...]]] = {}

    def match(self, drug: str) -> dict[str, tuple[ListEntry, ...]]:
        """Drug list id -> the entries that one claim drug matches, for each list it is on."""
        hit = self._cache.get(drug)
        if hit is None:
            words = names.normalize(drug)
            hit = {}
            for list_id, entries in self.lists.items():
                found = tuple(e for e in entries if names.has_words(words, e.words))
                if found:
                    hit[list_id] = found
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[drug] = hit
        return hit

    def matched(self, drug_text: str | None) -> dict[str, list[tuple[str, ListEntry]]]:
        """For a claim's `;`-separated drugs: drug list id -> [(the claim's drug, the entry it
        matched)], each claim drug once per list."""
        out: dict[str, list[tuple[str, ListEntry]]] = {}
        if not drug_text:
            return out
        for drug in DrugTexts(self, [drug_text]).drugs():  # split as decide splits it
            for list_id, entries in self.match(drug).items():
                out.setdefault(list_id, []).append((drug, entries[0]))
        return out


class DrugTexts:
    """A claims frame's distinct concomitant-drug texts, split into drugs once; each distinct drug
    is matched against the lists once, and the answers are spread back by numpy. Many texts are
    split by Arrow; a few (one claim explained) in Python, which is faster for them. Both trim the
    same characters, so a claim decides the same alone or among a million."""

    SMALL = 32

    def __init__(self, lists: DrugLists, texts: list[str]):
        self.lists, self.texts = lists, texts
        self._hits: dict[str, np.ndarray] = {}
        self._split: tuple | None = None

    def drugs(self) -> pa.Array | list[str]:
        """Every drug of every text, in order, trimmed."""
        return self._items()[3]

    def hits(self, list_id: str) -> np.ndarray:
        """Per distinct text (and a final False for "no drugs"): whether any of its drugs is on the list."""
        if list_id not in self._hits:
            found = np.zeros(len(self.texts) + 1, dtype=bool)
            if self.texts:
                parent = self._items()[0]
                found[:-1] = (
                    np.bincount(parent, weights=self._item_hits(list_id), minlength=len(self.texts))
                    > 0
                )
            self._hits[list_id] = found
        return self._hits[list_id]

    def joined(self, list_id: str) -> tuple[np.ndarray, list[str]]:
        """Per distinct text: its drugs on the list, joined by "; " as the claim wrote them, as
        codes (with a final -1 for "no drugs") into the distinct joined texts."""
        import pyarrow.compute as pc  # not at import: dqm decide's start

        parent, _, _, flat = self._items()
        keep = self._item_hits(list_id)
        if isinstance(flat, list):
            per_text: list[list[str]] = [[] for _ in self.texts]
            for j in np.flatnonzero(keep):
                per_text[parent[j]].append(flat[j])
            seen: dict[str, int] = {}
            codes = [seen.setdefault("; ".join(d), len(seen)) for d in per_text]
            return np.array([*codes, -1], dtype=np.int64), list(seen)
        counts = np.bincount(parent[keep], minlength=len(self.texts))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        lists = pa.ListArray.from_arrays(
            arrays.int_array(offsets, pa.int32()), flat.filter(arrays.bool_array(keep))
        )
        encoded = pc.binary_join(lists, arrays.text_scalar("; ")).dictionary_encode()
        return np.append(arrays.ints(encoded.indices), -1), encoded.dictionary.to_pylist()

    def _items(self) -> tuple[np.ndarray, np.ndarray, list[str], pa.Array | list[str]]:
        """(text of each drug, drug code, distinct drugs, each drug's text) over all texts."""
        import pyarrow.compute as pc  # not at import: dqm decide's start

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
                parts = pc.split_pattern(arrays.text_array(self.texts), ";")
                flat = pc.utf8_trim(pc.list_flatten(parts), _TRIM)
                parent = arrays.ints(pc.list_parent_indices(parts))
                encoded = flat.dictionary_encode()
                codes = arrays.ints(encoded.indices)
                self._split = (parent, codes, encoded.dictionary.to_pylist(), flat)
        return self._split

    def _item_hits(self, list_id: str) -> np.ndarray:
        """Per drug (flattened over all texts): whether it is on the list."""
        _, codes, items, _ = self._items()
        on_list = np.array([list_id in self.lists.match(i) for i in items] + [False], dtype=bool)
        return on_list[codes]
