"""Product codes as the policy and the claims write them: package NDCs and RxCUIs, each read into
the one form a ruleset keeps and a claim is matched by.

The workbook's Product Codes rules and the claims' ndc and rxcui columns both read codes here, so
a code staff type and the same code on a claim always meet. Plain Python: the workbook stage and
the decide stage both import it.

An NDC (National Drug Code) names a package in three segments: labeler, product, package. It is
printed with hyphens as 10 digits in one of three layouts (4-4-2, 5-3-2, 5-4-1), or as 11 digits
(5-4-2, as claims carry it). The 11-digit form pads the short segment with a leading zero:
`47335-475-83` → `47335047583`. Ten digits without hyphens could be any of the three layouts, so
they are never guessed.
"""

from __future__ import annotations

import re
from typing import NamedTuple

NDC, RXCUI = "ndc", "rxcui"

# What is wrong with a code that cannot be read (the catalogue and the claim messages word them).
TEN_DIGITS_WITHOUT_HYPHENS = "ten-digits-without-hyphens"
NOT_DIGITS = "not-digits"  # a character other than an ASCII digit (or a hyphen, in an NDC)
DIGIT_COUNT = "digit-count"  # an NDC with neither 10 nor 11 digits
HYPHEN_LAYOUT = "hyphen-layout"  # an NDC with hyphens in a layout that is none of the four

NDC_LAYOUTS = ("4-4-2", "5-3-2", "5-4-1", "5-4-2")
_NDC_TEXT = re.compile(r"[0-9-]+")  # ASCII digits only: str.isdigit would take '٤' or '４'
_DIGITS = re.compile(r"[0-9]+")


class Code(NamedTuple):
    """A code as read: its normal form, or the problem that stopped it being read."""

    value: str | None  # NDC: 11 digits, no hyphens; RxCUI: digits without leading zeros
    problem: str | None = None
    digits: int = 0  # how many digits it has (for the messages about an NDC)


def read_code(system: str, text: str) -> Code:
    """A code of `system` (NDC or RXCUI) as typed in a cell or carried by a claim."""
    return read_ndc(text) if system == NDC else read_rxcui(text)


def read_ndc(text: str) -> Code:
    """A package NDC in its 11-digit form: `47335-475-83` → `47335047583`, `47335047583` as is."""
    text = text.strip()
    if not _NDC_TEXT.fullmatch(text):
        return Code(None, NOT_DIGITS)
    segments = text.split("-")
    digits = "".join(segments)
    if len(segments) == 1:
        if len(digits) == 11:
            return Code(digits, digits=11)
        problem = TEN_DIGITS_WITHOUT_HYPHENS if len(digits) == 10 else DIGIT_COUNT
        return Code(None, problem, len(digits))
    layout = "-".join(str(len(s)) for s in segments)
    if layout == "5-4-2":
        return Code(digits, digits=11)
    if layout == "4-4-2":
        return Code("0" + digits, digits=10)
    if layout == "5-3-2":
        return Code(f"{segments[0]}0{segments[1]}{segments[2]}", digits=10)
    if layout == "5-4-1":
        return Code(f"{segments[0]}{segments[1]}0{segments[2]}", digits=10)
    return Code(None, DIGIT_COUNT if len(digits) not in (10, 11) else HYPHEN_LAYOUT, len(digits))


def read_rxcui(text: str) -> Code:
    """An RxCUI: ASCII digits (`403879`); leading zeros are not part of the number."""
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return Code(None, NOT_DIGITS)
    return Code(text.lstrip("0") or "0", digits=len(text))


def shown(system: str, code: str) -> str:
    """A code as people read it: an NDC in its 5-4-2 layout (`47335-0475-83`), an RxCUI as is."""
    if system == NDC and len(code) == 11:
        return f"{code[:5]}-{code[5:9]}-{code[9:]}"
    return code
