"""compiler.vocabulary: one way to write a number for people and for JSON, and the vocabulary the
engine, the ruleset and the claims reader share."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from compiler import vocabulary
from compiler.vocabulary import format_number, json_number


@pytest.mark.parametrize(
    "x, people, plain",
    [
        (60, "60", "60"),
        (60.0, "60", "60"),
        (np.float64(60.0), "60", "60"),
        (np.int64(1080), "1,080", "1080"),
        (2.5, "2.5", "2.5"),
        (1080.5, "1,080.5", "1080.5"),
        (0, "0", "0"),
        (-5.0, "-5", "-5"),
        (1_000_000, "1,000,000", "1000000"),
        # Whole numbers from 2**53 up: exact integers, never an exponent (a double's exact value).
        (2.0**53, "9,007,199,254,740,992", "9007199254740992"),
        (2**53 + 1, "9,007,199,254,740,993", "9007199254740993"),
        (1e20, "100,000,000,000,000,000,000", "100000000000000000000"),
        (1e23, "99,999,999,999,999,991,611,392", "99999999999999991611392"),
        (np.float64(2.0**70), "1,180,591,620,717,411,303,424", "1180591620717411303424"),
        (12345678.5, "12,345,678.5", "12345678.5"),
    ],
)
def test_format_number_writes_whole_numbers_without_a_decimal_point(x, people, plain):
    assert (format_number(x), format_number(x, thousands=False)) == (people, plain)


@pytest.mark.parametrize(
    "x, expected",
    [
        (60, 60),
        (60.0, 60),
        (np.float64(90.0), 90),
        (np.int64(12), 12),
        (2.5, 2.5),
        (None, None),
        (math.nan, None),
        (np.float64("nan"), None),
        (pd.NA, None),
        # Whole from 2**53 up: the double's exact value as an int, never a float (1e+20).
        (2.0**53, 2**53),
        (2**53 + 1, 2**53 + 1),
        (np.int64(2**62 + 1), 2**62 + 1),
        (1e20, 10**20),
        (1e23, 99999999999999991611392),
        (np.float64(2.0**70), 2**70),
        (2.0**53 + 0.0, 9007199254740992),
        (1e15 + 0.5, 1e15 + 0.5),
        # JSON holds no infinity (a claims quantity of 400 digits reads as one).
        (math.inf, None),
        (-math.inf, None),
    ],
)
def test_json_number_is_an_int_when_whole_and_none_when_missing(x, expected):
    got = json_number(x)
    assert got == expected and type(got) is type(expected)


def test_the_vocabulary_module_does_not_import_pandas():
    # Light modules (the command's argument parsing) import the vocabulary; pandas costs ~0.3 s.
    # A fresh interpreter: this one has imported pandas long ago.
    code = "import sys, compiler.vocabulary; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_channels_and_decisions_in_the_contracts_words():
    assert vocabulary.CHANNELS == ("retail", "home_delivery")
    assert [vocabulary.CHANNEL_LABELS[c] for c in vocabulary.CHANNELS] == [
        "Retail",
        "Home Delivery",
    ]
    assert vocabulary.DECISIONS == ("approve", "override", "deny", "not_applicable", "invalid")
    assert vocabulary.REJECT_CODE == 76
    assert set(vocabulary.REQUIRED_CLAIM_COLUMNS) < set(vocabulary.CLAIM_COLUMNS)
    assert set(vocabulary.DECISION_COLUMNS) > vocabulary.NUMBER_COLUMNS


def test_text_from_files_is_shown_as_one_line_without_controls():
    from compiler.vocabulary import plain_text

    assert plain_text("rifampin\r\nisoniazid\u2028x\ty") == "rifampin isoniazid x y"
    assert plain_text("\u202eniapmafir\u2066 \u200fok\u061c") == "niapmafir ok"
    assert (
        plain_text("\x1b[2J\x1b[31mred\x1b[0m \x1b]0;title\x07done \x9b1mC1\x00") == "red done C1"
    )
    assert plain_text(None) == "" and plain_text(60) == "60"
