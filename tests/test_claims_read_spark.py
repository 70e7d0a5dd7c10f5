"""`dqm decide --spark` reads a claims file as one process does: a quote left open and a symbolic
link loop refused in one line before any job runs, `--column` mapping a file's own names (CSV and
Parquet), the ignored columns named, and a row cut short decided invalid."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.paths import EXPORTS

pytestmark = pytest.mark.spark

V3 = EXPORTS / "oncology-dqm" / "v3.json"
SPARK = ("--spark", "local[2]")


def test_a_quote_left_open_is_refused_on_spark(dqm, tmp_path):
    lines = ["claim_id,product_id,channel,quantity,concomitant_drugs"] + [
        f"C{i},imatinib-400mg-tab,retail,60," for i in range(1, 1_001)
    ]
    lines[3] = 'C3,imatinib-400mg-tab,retail,120,"Rifadin'
    claims = tmp_path / "claims.csv"
    claims.write_text("\n".join(lines) + "\n")
    out = tmp_path / "decisions"
    ran = dqm("decide", claims, "--ruleset", V3, *SPARK, "--output", out)
    assert (ran.code, ran.out) == (2, "")
    assert ran.err == (
        f'dqm: {claims}: line 4 opens a quoted value (") that is never closed, so the rest of the '
        "file would be read as one value; close the quote, or remove it.\n"
    )
    assert not out.exists()


def test_a_symlink_loop_is_one_line_on_spark(dqm, tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    ran = dqm("decide", tmp_path / "a", "--ruleset", V3, *SPARK, "--output", tmp_path / "d")
    assert (ran.code, ran.out) == (2, "")
    assert ran.err == f"dqm: Cannot read {tmp_path / 'a'}: Too many levels of symbolic links.\n"


def test_column_maps_a_csv_and_a_parquet_file_on_spark(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "rx,product_id,channel,qty,npi\n"
        "R1,imatinib-400mg-tab,retail,61,1\n"
        "R2,imatinib-400mg-tab,retail\n"
    )
    parquet = tmp_path / "claims.parquet"
    pq.write_table(
        pa.table(
            {
                "rx": ["R1", "R2"],
                "product_id": ["imatinib-400mg-tab"] * 2,
                "channel": ["retail"] * 2,
                "qty": [61, 60],
                "npi": [1, 2],
            }
        ),
        parquet,
    )
    for source, messages in (
        (
            claims,
            [
                "Over the Retail limit of 60 tablets per Rx and no override criterion is met: "
                "rejects with code 76.",
                "Invalid: a row has 3 fields but the header has 5; the row may have been cut short; "
                "quantity is missing.",
            ],
        ),
        (parquet, None),
    ):
        out = tmp_path / f"d-{source.suffix[1:]}"
        mapping = ("--column", "rx=claim_id", "--column", "qty=quantity")
        ran = dqm("decide", source, "--ruleset", V3, *SPARK, *mapping, "--output", out)
        assert ran.code == 0, ran.err
        assert ran.err == (
            "dqm: ignored column(s) not in the claims contract: npi.\n"
            f"Decisions written to {out}.\n"
        )
        got = pd.read_parquet(out).sort_values("claim_id")
        assert list(got["claim_id"]) == ["R1", "R2"]
        if messages:
            assert list(got["message"]) == messages
        else:
            assert list(got["decision"]) == ["deny", "approve"]


def test_encoding_is_refused_with_spark(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_bytes(b"product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    ran = dqm(
        "decide",
        claims,
        "--ruleset",
        V3,
        *SPARK,
        "--output",
        tmp_path / "d",
        "--encoding",
        "cp1252",
    )
    assert (ran.code, ran.err) == (
        2,
        "dqm: --spark reads a CSV as UTF-8, not cp1252; decide it without --spark, or save it as "
        "CSV UTF-8 first.\n",
    )


def test_a_cell_over_the_limit_is_the_same_one_line_on_spark(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,product_id,channel,quantity,concomitant_drugs\n"
        "C1,imatinib-400mg-tab,retail,60,\n"
        # a quoted line break first: the line is counted as the single process counts it
        f'C2,imatinib-400mg-tab,retail,60,"a\nb"\n'
        f'C3,imatinib-400mg-tab,retail,60,"{"x" * 1_000_001}"\n'
        "C4,imatinib-400mg-tab,retail,60,\n"
    )
    out = tmp_path / "decisions"
    ran = dqm("decide", claims, "--ruleset", V3, *SPARK, "--output", out)
    one = dqm("decide", claims, "--ruleset", V3)
    assert (ran.code, ran.out, one.code) == (2, "", 2)
    assert (
        ran.err
        == one.err
        == (
            f"dqm: {claims}: line 5 holds a value of more than 1,000,000 characters, the most a "
            "claims cell holds (about 1 MB); is a quote left open?\n"
        )
    )
    assert not out.exists()
    # One character fewer is a claim like any other.
    claims.write_text(claims.read_text().replace("x" * 1_000_001, "x" * 1_000_000))
    ran = dqm("decide", claims, "--ruleset", V3, *SPARK, "--output", out)
    assert (ran.code, ran.err) == (0, f"Decisions written to {out}.\n")
    assert pd.read_parquet(out)["claim_id"].tolist() == ["C1", "C2", "C3", "C4"]
