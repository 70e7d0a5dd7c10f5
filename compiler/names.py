"""Drug names as the policy compares them: one normal form for lists, aliases and claims."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc\u0060\u00b4]")
_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize(name: str) -> str:
    """Case, accents, punctuation, apostrophe style and spacing ignored:
    "St. John’s  Wort" -> "st johns wort"."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    text = _APOSTROPHES.sub("", text)
    return _NON_WORD.sub(" ", text).strip()


def split_list(text: str | None) -> list[str]:
    """A `;`-separated cell or claim field as its non-empty items."""
    if not text:
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]


def has_words(text: str, words: str) -> bool:
    """Whether normalized `words` appear as consecutive whole words in normalized `text`:
    "phenytoin sodium 100 mg capsule" has "phenytoin"; "rifampinx" does not have "rifampin"."""
    return bool(words) and f" {words} " in f" {text} "
