"""Product codes: each reads as a code of its system, and names one product in the whole workbook."""

from __future__ import annotations

import pandas as pd

from .. import codes
from ..vocabulary import CODE_SYSTEMS
from .findings import Finding
from .headers import CODE, CODE_SYSTEM, PRODUCT_ID
from .reader import Sheet

CODE_SYSTEM_KEYS = {label: key for key, label in CODE_SYSTEMS.items()}  # "NDC" -> "ndc"


def product_codes(sheet: Sheet, frame: pd.DataFrame) -> list[Finding]:
    """Each code reads as a code of its system (an NDC of 10 digits without hyphens is ambiguous,
    never guessed), and names one product in the whole workbook once read (`47335-475-83` and
    `47335047583` are the same NDC)."""
    out = []
    h = CODE
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for row, product, label, text in zip(
        frame.index, frame[PRODUCT_ID], frame[CODE_SYSTEM], frame[h], strict=True
    ):
        system = CODE_SYSTEM_KEYS.get(label)
        if system is None or text is None:
            continue  # a blank or unknown Code System, a blank Code: the schema's findings
        code = codes.read_code(system, text)
        raw = sheet.frame.at[row, h]
        if code.value is None:
            out.append(_malformed_code(sheet, row, system, text, code, raw))
            continue
        first = seen.setdefault((system, code.value), (row, product))
        if first[0] != row:
            out.append(
                Finding(
                    "duplicate-code",
                    sheet.name,
                    sheet.cell(h, row),
                    h,
                    raw,
                    {
                        "system": label,
                        "code": text,
                        "shown": codes.shown(system, code.value),
                        "first_row": first[0],
                        "product": first[1],
                    },
                )
            )
    return out


def _malformed_code(
    sheet: Sheet, row: int, system: str, text: str, code: codes.Code, raw: object
) -> Finding:
    # A number typed into the cell has lost any leading zero: the message says so.
    typed_as_number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if system == codes.RXCUI:
        finding, params = "malformed-rxcui", {"code": text}
    elif code.problem == codes.TEN_DIGITS_WITHOUT_HYPHENS:
        finding, params = "ambiguous-ndc", {"code": text, "typed_as_number": typed_as_number}
    else:
        finding = "malformed-ndc"
        params = {
            "code": text,
            "problem": code.problem,
            "digits": code.digits,
            "typed_as_number": typed_as_number,
        }
    return Finding(finding, sheet.name, sheet.cell(CODE, row), CODE, raw, params)
