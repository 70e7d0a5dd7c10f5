"""Drug names as the policy compares them: one normal form for lists, aliases and claims."""

from __future__ import annotations

import functools
import re
import unicodedata

# The contract's drug words (docs/claims-and-decisions.md, "Drug names"; docs/consumers.md
# states it for consumers). Apostrophes are deleted ("John’s" -> "johns"); format characters (soft hyphen,
# zero-width space) are dropped; every other character that is not a letter, a number or a
# combining mark is a break: `rifampin–isoniazid`, `Tegretol®XR`, `Dilantin™` (before
# decomposition, which would make `™` the letters "TM").
_APOSTROPHES = "'\u2019\u02bc"
_ASCII_BREAKS = re.compile(r"[^0-9a-z]+")
_KEPT = frozenset("LMN")  # letters, combining marks (accents, stripped later), numbers


def normalize(name: str) -> str:
    """A drug name as its words, one space apart: case, accents, punctuation, symbols,
    apostrophe style and spacing ignored: "St. John’s  Wort" -> "st johns wort",
    "Tegretol®XR" -> "tegretol xr"."""
    if name.isascii():  # nearly every name: the same steps, by one regular expression
        return " ".join(_ASCII_BREAKS.sub(" ", name.replace("'", "").lower()).split())
    text = "".join(_kept(ch) for ch in name)
    # Compatibility decomposition (full-width letters, ligatures), case folding, decomposition
    # again; then the accents (combining marks) go, and whatever is left that is not a letter
    # or a number (from a decomposed letter) is a break too.
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return " ".join("".join(_folded(ch) for ch in text).split())


@functools.lru_cache(maxsize=4096)
def _kept(ch: str) -> str:
    """One character of the name before decomposition: itself, nothing, or a break."""
    category = unicodedata.category(ch)
    if category == "Cf" or ch in _APOSTROPHES:
        return ""
    return ch if category[0] in _KEPT else " "


@functools.lru_cache(maxsize=4096)
def _folded(ch: str) -> str:
    """One character after decomposition and case folding: accents and apostrophes go,
    letters and numbers stay, anything else is a break."""
    category = unicodedata.category(ch)
    if category[0] == "M" or ch in _APOSTROPHES:
        return ""
    return ch if category[0] in "LN" else " "


def split_list(text: str | None) -> list[str]:
    """A `;`-separated cell or claim field as its non-empty items."""
    if not text:
        return []
    return [part.strip() for part in str(text).split(";") if part.strip()]


def has_words(text: str, words: str) -> bool:
    """Whether normalized `words` appear as consecutive whole words in normalized `text`:
    "phenytoin sodium 100 mg capsule" has "phenytoin"; "rifampinx" does not have "rifampin"."""
    return bool(words) and f" {words} " in f" {text} "


# Words that name a dosage form, a unit, a route or a release, never a drug: a list entry made of
# these alone (and numbers) would match ordinary prescription text ("Mycobutin 150 mg capsule"),
# so the workbook refuses one (workbook/slips.py). Kept here, beside the words they are matched as.
GENERIC_WORDS = frozenset(
    """
    tablet tablets tab tabs caplet caplets capsule capsules cap caps pill pills softgel softgels
    gelcap gelcaps lozenge lozenges troche troches film films wafer wafers chewable dispersible
    disintegrating odt granules granule powder powders packet packets sachet sachets
    solution solutions suspension suspensions syrup syrups elixir elixirs liquid liquids
    concentrate drops drop emulsion tincture
    injection injections injectable infusion vial vials ampule ampules ampoule ampoules syringe
    syringes pen pens cartridge cartridges kit kits
    cream creams ointment ointments gel gels lotion lotions foam spray sprays patch patches
    suppository suppositories enema inhaler inhalers inhalation aerosol nebulizer
    oral orally topical nasal ophthalmic otic rectal vaginal transdermal sublingual buccal
    intravenous iv intramuscular im subcutaneous sc
    extended delayed immediate release er xr xl sr cr dr ir la coated enteric
    mg mcg ug g gm gram grams kg ml l iu unit units meq mmol percent hour hours hr day daily dose
    doses
    """.split()  # noqa: SIM905  (a word list reads best as words)
)


def is_generic(name: str) -> bool:
    """Whether a name is only dosage forms, units, routes and numbers: "tablet", "100 mg",
    "Oral Solution" (it would match any prescription text that has those words)."""
    words = normalize(name).split()
    return bool(words) and all(w.isdigit() or w in GENERIC_WORDS for w in words)


def closest(text: str, candidates: list[str] | set[str]) -> str | None:
    """The one candidate `text` is a slip away from (case ignored), for "did you mean": within one
    edit (a letter added, dropped, changed, or two swapped) for a short id, two for one of ten or
    more characters, or the only one that `text` begins, up to a hyphen (`imatinib` for
    `imatinib-per-rx`). None when none is that close or two are equally close:
    'dasatinib-per-rx' is three edits from 'imatinib-per-rx', another drug rather than a typo."""
    folded = text.casefold()
    most = 1 if len(folded) < 10 else 2
    best: list[str] = []
    best_distance = most
    for candidate in candidates:
        d = _edits(folded, candidate.casefold(), best_distance + 1)
        if d < best_distance or (d == best_distance and not best):
            best, best_distance = [candidate], d
        elif d == best_distance:
            best.append(candidate)
    if not best and folded:
        best = [c for c in candidates if c.casefold().startswith(folded + "-")]
    return best[0] if len(best) == 1 else None


def _edits(a: str, b: str, enough: int) -> int:
    """Edit distance with adjacent swaps (optimal string alignment); stops counting at `enough`."""
    if abs(len(a) - len(b)) >= enough:
        return enough
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= enough:
            return enough
        previous2, previous = previous, current
    return min(previous[-1], enough)
