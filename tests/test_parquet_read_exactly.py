"""Parquet claims read exactly or refused in one line: dates pandas writes as timestamps (at
midnight) are dates of service; a time of day is refused naming the column; a page whose
checksum does not hold (a flipped byte) is refused, not decided."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq

from tests.fixtures.paths import EXPORTS

RULESET = ["--ruleset", "oncology-dqm", "--exports", EXPORTS]


def claims(dates) -> pa.Table:
    n = len(dates)
    return pa.table(
        {
            "claim_id": [f"C{i}" for i in range(n)],
            "product_id": ["imatinib-400mg-tab"] * n,
            "channel": ["retail"] * n,
            "quantity": ["60"] * n,
            "date_of_service": pa.array(dates, pa.timestamp("us")),
        }
    )


def test_timestamps_at_midnight_are_dates_of_service(dqm, tmp_path):
    path = tmp_path / "claims.parquet"
    pq.write_table(claims([dt.datetime(2026, 3, 2), dt.datetime(2024, 6, 1)]), path)
    ran = dqm("decide", path, *RULESET, "--format", "jsonl")
    assert ran.code == 0, ran.err
    rows = [line.split('"date_of_service":')[1].split(",")[0] for line in ran.out.splitlines()]
    assert rows == ['"2026-03-02"', '"2024-06-01"']
    assert '"ruleset_version":4' in ran.out.splitlines()[0]
    assert '"ruleset_version":1' in ran.out.splitlines()[1]  # decided by the version then


def test_a_time_of_day_is_refused_naming_the_column(dqm, tmp_path):
    path = tmp_path / "claims.parquet"
    pq.write_table(claims([dt.datetime(2026, 3, 2), dt.datetime(2026, 3, 2, 14, 30)]), path)
    assert dqm("decide", path, *RULESET) == (
        2,
        "",
        f"dqm: {path}: column date_of_service holds a time of day (2026-03-02 14:30:00); a date "
        "of service is a date. Write the column as dates (YYYY-MM-DD).\n",
    )


def test_a_page_whose_checksum_does_not_hold_is_refused(dqm, tmp_path):
    path = tmp_path / "claims.parquet"
    table = claims([dt.datetime(2026, 3, 2)] * 50).set_column(3, "quantity", pa.array(["60"] * 50))
    pq.write_table(table, path, write_page_checksum=True, compression="none", use_dictionary=False)
    data = bytearray(path.read_bytes())
    # The tenth product id: inside the column's data page (the first ones may be statistics).
    at = -1
    for _ in range(10):
        at = data.index(b"imatinib-400mg-tab", at + 1)
    data[at + 9] ^= 0x01
    path.write_bytes(bytes(data))
    code, out, err = dqm("decide", path, *RULESET)
    assert (code, out) == (2, "")
    assert err.startswith(f"dqm: {path} could not be read after its first 0 claims (")
    assert err.endswith("); the file is damaged.\n") and len(err.splitlines()) == 1
