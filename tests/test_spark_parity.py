"""Spark reads what the single process reads: a folder whose Parquet files differ in columns and
types decides the same on both; a Parquet file cut short and a CSV file that is not UTF-8 are
refused by both with the same one line, before any job runs."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.fixtures.paths import EXPORTS

pytestmark = pytest.mark.spark

V3 = EXPORTS / "oncology-dqm" / "v3.json"


def both(dqm, claims, tmp_path):
    """(single process, Spark) runs of `dqm decide` into Parquet."""
    one, on_spark = tmp_path / "one.parquet", tmp_path / "spark"
    ran_one = dqm("decide", claims, "--ruleset", V3, "--output", one)
    ran_spark = dqm("decide", claims, "--ruleset", V3, "--spark", "local[2]", "--output", on_spark)
    return ran_one, ran_spark, one, on_spark


def test_a_folder_of_parquet_files_with_different_schemas_decides_as_in_one_process(dqm, tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    pq.write_table(  # quantities as integers, no ids
        pa.table(
            {
                "product_id": ["imatinib-400mg-tab", "imatinib-400mg-tab"],
                "channel": ["retail", "retail"],
                "quantity": pa.array([60, 61], pa.int64()),
            }
        ),
        folder / "a.parquet",
    )
    pq.write_table(  # quantities as text and as a double, ids and drugs
        pa.table(
            {
                "Claim ID": ["B1", "B2"],
                "Product ID": ["imatinib-400mg-tab", "imatinib-100mg-tab"],
                "Channel": ["Home Delivery", "retail"],
                "Quantity": ["200", "2.5"],
                "Concomitant Drugs": ["rifampin", None],
            }
        ),
        folder / "b.parquet",
    )
    ran_one, ran_spark, one, on_spark = both(dqm, folder, tmp_path)
    assert (ran_one.code, ran_spark.code) == (0, 0), (ran_one.err, ran_spark.err)
    single = pd.read_parquet(one)
    spark = pd.read_parquet(on_spark).sort_values("claim_id", key=lambda c: c.str.zfill(9))
    assert single[["claim_id", "decision", "approved_quantity", "quantity"]].values.tolist() == [
        ["1", "approve", 60.0, 60.0],
        ["2", "deny", 0.0, 61.0],
        ["B1", "override", 200.0, 200.0],
        ["B2", "approve", 2.5, 2.5],
    ]
    assert spark.reset_index(drop=True).equals(single)


def test_a_parquet_file_cut_short_is_the_same_one_line_on_spark(dqm, tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    table = pa.table(
        {
            "product_id": ["imatinib-400mg-tab"] * 100,
            "channel": ["retail"] * 100,
            "quantity": ["60"] * 100,
        }
    )
    pq.write_table(table, folder / "a.parquet")
    whole = (folder / "a.parquet").read_bytes()
    (folder / "b.parquet").write_bytes(whole[: len(whole) // 2])
    ran_one, ran_spark, _, on_spark = both(dqm, folder, tmp_path)
    assert ran_one.code == ran_spark.code == 2
    assert ran_one.err.startswith(f"dqm: {folder / 'b.parquet'} is not a complete Parquet file (")
    assert ran_spark.err == ran_one.err.replace(
        f" Nothing was written to {tmp_path / 'one.parquet'}.", ""
    )
    assert len(ran_spark.err.splitlines()) == 1 and not on_spark.exists()


def test_a_csv_file_that_is_not_utf8_is_refused_on_spark_as_in_one_process(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    rows = "".join(f"C{i},imatinib-400mg-tab,retail,60,\n" for i in range(3000))
    claims.write_bytes(
        b"claim_id,product_id,channel,quantity,concomitant_drugs\n"
        + rows.encode()
        + b"C3000,imatinib-400mg-tab,retail,60,Rifadin \xff\n"
    )
    ran_one, ran_spark, _, on_spark = both(dqm, claims, tmp_path)
    refusal = (
        f"dqm: {claims} is not UTF-8 text (byte 0xff on line 3002); save it as CSV UTF-8 (in "
        "Excel: File > Save As > CSV UTF-8), or "
    )
    assert ran_one.code == ran_spark.code == 2
    assert ran_one.err.startswith(
        refusal + "name the encoding it was saved in with --encoding (such as --encoding cp1252)."
    )
    # --spark takes no --encoding: the way out says so.
    assert ran_spark.err == (
        refusal + "decide it without --spark, naming the encoding it was saved in with --encoding "
        "(such as --encoding cp1252).\n"
    )
    assert not on_spark.exists()
