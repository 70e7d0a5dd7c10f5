"""compiler.text: one way a cell becomes text (claims, the workbook's text columns, a finding's
value) and one way a date is written in files and JSON."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from compiler.decide.claims import claims_columns
from compiler.text import cell_text, iso_date, iso_dates
from compiler.workbook.findings import plain_value


@pytest.mark.parametrize(
    "value, text",
    [
        (60, "60"),
        (60.0, "60"),
        (np.float64(1080.0), "1080"),
        (2.5, "2.5"),
        (np.int64(7), "7"),
        (True, "True"),
        ("imatinib-400mg-tab", "imatinib-400mg-tab"),
        (" 60 ", " 60 "),  # kept as typed: the claims grammar reads around the spaces
        (dt.date(2024, 6, 1), "2024-06-01"),
        (dt.datetime(2024, 6, 1), "2024-06-01"),
        (pd.Timestamp("2024-06-01"), "2024-06-01"),
        (dt.datetime(2024, 6, 1, 10, 30), "2024-06-01T10:30:00"),
        (None, None),
        (math.nan, None),
        ("", None),
        ("   ", None),
    ],
)
def test_a_cell_reads_as_the_text_a_csv_would_hold(value, text):
    assert cell_text(value) == text


def test_a_date_at_midnight_is_the_same_text_for_claims_and_for_a_finding():
    midnight = dt.datetime(2025, 12, 8)
    claims = claims_columns({"date_of_service": [midnight], "claim_id": ["c1"]})
    assert claims["date_of_service"].tolist() == ["2025-12-08"]
    assert plain_value(midnight) == "2025-12-08"  # it was "2025-12-08T00:00:00"
    assert plain_value(dt.date(2025, 12, 8)) == "2025-12-08"
    assert plain_value(75.5) == 75.5 and plain_value(60.0) == 60  # a number stays a number


def test_dates_are_written_iso_one_at_a_time_or_a_column_at_once():
    assert iso_date(dt.date(2025, 12, 8)) == "2025-12-08"
    assert iso_date(dt.datetime(2025, 12, 8, 23, 59)) == "2025-12-08"
    column = iso_dates(pd.Series(pd.to_datetime(["2025-12-08", None, "2024-02-29"]))).tolist()
    assert [column[0], column[2]] == ["2025-12-08", "2024-02-29"]
    assert pd.isna(column[1])


def test_the_text_module_does_not_import_pandas():
    # The decision stage's claims reader and the workbook's findings both import it.
    code = "import sys, compiler.text; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
