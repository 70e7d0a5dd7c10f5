"""Product codes read one way for the workbook and for claims: a package NDC into its 11 digits
(the short segment padded), never guessing a 10-digit NDC without hyphens; an RxCUI as digits."""

from __future__ import annotations

import pytest

from compiler import codes
from compiler.codes import Code


@pytest.mark.parametrize(
    "text, eleven",
    [
        ("47335-475-83", "47335047583"),  # 5-3-2: the product segment padded
        ("4733-5475-83", "04733547583"),  # 4-4-2: the labeler segment padded
        ("47335-4758-3", "47335475803"),  # 5-4-1: the package segment padded
        ("47335-0475-83", "47335047583"),  # 5-4-2: already 11 digits
        ("47335047583", "47335047583"),  # 11 digits, no hyphens
        ("  47335-475-83 ", "47335047583"),  # surrounding spaces
    ],
)
def test_an_ndc_is_read_into_its_eleven_digits(text, eleven):
    assert codes.read_ndc(text).value == eleven


@pytest.mark.parametrize(
    "text, problem, digits",
    [
        ("4733547583", codes.TEN_DIGITS_WITHOUT_HYPHENS, 10),  # 4-4-2? 5-3-2? 5-4-1? never guessed
        ("93015001", codes.DIGIT_COUNT, 8),  # a number that lost its leading zeros
        ("473350475831", codes.DIGIT_COUNT, 12),
        ("47335-475-8", codes.DIGIT_COUNT, 9),
        ("473-35475-83", codes.HYPHEN_LAYOUT, 10),  # 3-5-2
        ("47335--475-83", codes.HYPHEN_LAYOUT, 10),
        ("47335-0475-083", codes.DIGIT_COUNT, 12),
        ("47335 475 83", codes.NOT_DIGITS, 0),
        ("47335-475-8B", codes.NOT_DIGITS, 0),
        ("٤٧٣٣٥-٤٧٥-٨٣", codes.NOT_DIGITS, 0),  # Arabic-Indic digits are not ASCII digits
        ("NDC 47335-475-83", codes.NOT_DIGITS, 0),
    ],
)
def test_an_ndc_that_cannot_be_read_says_why(text, problem, digits):
    assert codes.read_ndc(text) == Code(None, problem, digits)


def test_an_rxcui_is_digits_without_leading_zeros():
    assert codes.read_rxcui(" 403879 ") == Code("403879", None, 6)
    assert codes.read_rxcui("0403879").value == "403879"
    assert [codes.read_rxcui(t).problem for t in ("RX403879", "403 879", "４０３８７９", "-1")] == [
        codes.NOT_DIGITS
    ] * 4


def test_read_code_reads_by_system_and_shown_writes_the_eleven_digits_as_5_4_2():
    assert codes.read_code("ndc", "47335-475-83").value == "47335047583"
    assert codes.read_code("rxcui", "404589").value == "404589"
    assert codes.shown("ndc", "47335047583") == "47335-0475-83"
    assert codes.shown("rxcui", "404589") == "404589"
