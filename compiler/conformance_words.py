"""Conformance vectors: drug words, code point by code point (conformance/drug-words.json), so a
consumer needs no Unicode tables of its own (docs/consumers.md §6)."""

from __future__ import annotations

import bisect
import unicodedata
from collections.abc import Callable
from typing import Any

from . import names
from .errors import ConformanceError

HANGUL = (0xAC00, 0xD7A3)  # syllables: NFKD splits each into its jamo, by arithmetic


def drug_word_table(checked: list[str]) -> dict[str, Any]:
    """What each code point becomes in the drug-words steps (docs/consumers.md §6), for every
    code point: the steps act on each character alone (NFKD reorders only marks, which all go),
    so a text's words are its characters' results joined and split on spaces. Each entry is
    `<first>[..<last>] <kind>`: keep (itself), drop (nothing), break (a space), hangul (its
    jamo), or `map` and the code points it becomes (0020: a break). Made by names.normalize
    itself, on the character between two letters; checked against every drug text here."""
    entries: list[list] = []
    for cp in range(0x110000):
        ch = chr(cp)
        if HANGUL[0] <= cp <= HANGUL[1]:
            kind = "hangul"
        elif unicodedata.category(ch) in ("Cn", "Co", "Cs"):
            kind = "break"  # unassigned, private use, surrogate: not a letter, number or mark
        else:
            out = names.normalize(f"a{ch}a")[1:-1]
            kind = (
                "drop" if out == "" else "break" if out == " " else "keep" if out == ch
                else "map " + " ".join(f"{ord(c):04X}" for c in out)
            )  # fmt: skip
        if entries and entries[-1][2] == kind and not kind.startswith("map"):
            entries[-1][1] = cp
        else:
            entries.append([cp, cp, kind])
    table = {
        "unicode_version": unicodedata.unidata_version,
        "entries": [
            (f"{a:04X}" if a == b else f"{a:04X}..{b:04X}") + f" {kind}" for a, b, kind in entries
        ],
    }
    words = table_words(table)
    for text in checked:
        if words(text) != names.normalize(text):
            raise ConformanceError(f"The drug-word table gives other words for {text!r}.")
    return table


def table_words(table: dict[str, Any]) -> Callable[[str], str]:
    """A text's drug words by the table alone, as a consumer finds them (§6)."""
    spans = []
    for entry in table["entries"]:
        span, kind = entry.split(" ", 1)
        first, _, last = span.partition("..")
        spans.append((int(first, 16), kind))
    starts = [first for first, _ in spans]

    def becomes(ch: str) -> str:
        cp = ord(ch)
        kind = spans[bisect.bisect_right(starts, cp) - 1][1]
        if kind == "hangul":  # L, V and (unless none) T jamo, by the syllable's index
            s = cp - HANGUL[0]
            jamo = [0x1100 + s // 588, 0x1161 + s % 588 // 28] + (
                [0x11A7 + s % 28] if s % 28 else []
            )
            return "".join(map(chr, jamo))
        if kind.startswith("map "):
            return "".join(chr(int(h, 16)) for h in kind.split()[1:])
        return {"keep": ch, "drop": "", "break": " "}[kind]

    def words(text: str) -> str:
        return " ".join(w for w in "".join(map(becomes, text)).split(" ") if w)

    return words
