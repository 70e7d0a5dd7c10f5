"""The Tests sheet's rows as claims: each names its product as a claim does, by at least one of
Product ID, NDC and RxCUI, all naming the same product; a row of a Per Days product names its
member (earlier rows of the same member and product count toward it)."""

from __future__ import annotations

import pandas as pd

from .. import codes
from .findings import Finding
from .headers import CODE, CODE_SYSTEM, MEMBER_ID, NDC, POLICY_ID, POLICY_TYPE, PRODUCT_ID, RXCUI
from .per_days import PER_DAYS
from .product_codes import CODE_SYSTEM_KEYS
from .reader import Sheet
from .references import Suggestions, _unknown

CODE_HEADERS = {codes.NDC: NDC, codes.RXCUI: RXCUI}


def tests_name_products(
    sheet: Sheet,
    frame: pd.DataFrame,
    limits: pd.DataFrame | None,
    policies: pd.DataFrame | None,
    product_codes: pd.DataFrame | None,
    in_error: set[tuple] = frozenset(),
) -> list[Finding]:
    """A row naming no product; a code that is malformed, that no product carries, or that names
    another product than the row's other columns; a Per Days product's row without a Member ID."""
    named = _code_products(product_codes)
    per_days = _per_days_products(limits, policies)
    products = set(limits[PRODUCT_ID].dropna()) if limits is not None else set()
    known = {system: sorted(by_code) for system, by_code in named.items()}
    suggest = {system: Suggestions(k) for system, k in known.items()}
    out = []
    columns = {h: frame[h].tolist() for h in (PRODUCT_ID, MEMBER_ID, *CODE_HEADERS.values())}
    for j, row in enumerate(frame.index):
        pid = columns[PRODUCT_ID][j]
        names: list[tuple[str, str]] = []  # (header, the product it names)
        if pid in products:  # an unknown one is the references' finding
            names.append((PRODUCT_ID, pid))
        given = [pid] if pid is not None else []
        for system, h in CODE_HEADERS.items():
            text = columns[h][j]
            if text is None:
                continue
            given.append(text)
            if (sheet.name, h, sheet.cell(h, row)) in in_error:
                continue
            code = codes.read_code(system, str(text))
            if code.value is None:
                out.append(_malformed(sheet, row, h, system, str(text), code))
            elif code.value not in named[system]:
                out.append(
                    _unknown(sheet, h, row, text, str(text), "Product Codes", suggest[system])
                )
            else:
                names.append((h, named[system][code.value]))
        if not given:
            out.append(
                Finding(
                    "product-not-named",
                    sheet.name,
                    sheet.cell(PRODUCT_ID, row),
                    PRODUCT_ID,
                    None,
                    {"headers": [PRODUCT_ID, NDC, RXCUI]},
                )
            )
            continue
        first_header, first = names[0] if names else (None, None)
        for h, product in names[1:]:
            if product != first:
                out.append(
                    sheet.finding(
                        "codes-name-other-product",
                        h,
                        row,
                        {"header": h, "product": product, "other": first_header, "named": first},
                    )
                )
        if first in per_days and columns[MEMBER_ID][j] is None:
            out.append(
                Finding(
                    "member-required",
                    sheet.name,
                    sheet.cell(MEMBER_ID, row),
                    MEMBER_ID,
                    None,
                    {"product": first, "header": MEMBER_ID},
                )
            )
    return out


def _code_products(frame: pd.DataFrame | None) -> dict[str, dict[str, str]]:
    """Code system -> code (as kept: an NDC's 11 digits) -> the product it names (the first)."""
    out: dict[str, dict[str, str]] = {codes.NDC: {}, codes.RXCUI: {}}
    if frame is None:
        return out
    for pid, label, text in zip(frame[PRODUCT_ID], frame[CODE_SYSTEM], frame[CODE], strict=True):
        system = CODE_SYSTEM_KEYS.get(label)
        if system is None or text is None or pid is None:
            continue
        code = codes.read_code(system, str(text))
        if code.value is not None:
            out[system].setdefault(code.value, pid)
    return out


def _per_days_products(limits: pd.DataFrame | None, policies: pd.DataFrame | None) -> set[str]:
    """The products of Per Days policies."""
    if limits is None or policies is None:
        return set()
    kinds = dict(zip(policies[POLICY_ID].tolist(), policies[POLICY_TYPE].tolist(), strict=True))
    if PER_DAYS not in kinds.values():  # most workbooks: no need to walk 20,000 products
        return set()
    return {
        pid
        for pid, policy in zip(limits[PRODUCT_ID].tolist(), limits[POLICY_ID].tolist(), strict=True)
        if kinds.get(policy) == PER_DAYS
    }


def _malformed(
    sheet: Sheet, row: int, header: str, system: str, text: str, code: codes.Code
) -> Finding:
    if system == codes.RXCUI:
        finding, params = "malformed-rxcui", {"code": text}
    elif code.problem == codes.TEN_DIGITS_WITHOUT_HYPHENS:
        finding, params = "ambiguous-ndc", {"code": text}
    else:
        finding = "malformed-ndc"
        params = {"code": text, "problem": code.problem, "digits": code.digits}
    return sheet.finding(finding, header, row, params)
