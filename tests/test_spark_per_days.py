"""`dqm decide --spark` decides Per Days claims (limits over time) as one process does: the claims
grouped by member on the cluster, the history joined there, each group decided by the same run
(decide/spark_runs.py). Every test decides the same files both ways and compares the two tables
field by field, dtypes and nulls included: one process writes one Parquet file and Spark a folder
of them, so the files' bytes (their metadata, their row groups) differ where the tables do not.
The policy: sumatriptan 100 mg, 9 tablets per 30 days at retail and 27 per 90 at home delivery;
the attested criterion frequent-migraine allows 18 per 30 days (tests/fixtures/per_days.py)."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

from compiler.decide import spark as dqm_spark
from compiler.decide import spark_runs
from compiler.decide.engine import Engine
from compiler.decide.job import decide_file
from compiler.decide.run import HistoryError
from compiler.decide.versions import Versions
from compiler.ruleset.build import build
from compiler.ruleset.compile import compile_workbook
from compiler.workbook.template import write_workbook
from compiler.workbook.validate import validate_file
from tests.fixtures import per_days
from tests.fixtures.paths import EXPORTS
from tests.test_per_days_cli import random_run
from tests.test_per_days_decide import _per_rx

pytestmark = pytest.mark.spark

P = per_days.PRODUCT
FIELDS = ["claim_id", "decision", "approved_quantity", "accumulated_quantity", "ruleset_version"]


@pytest.fixture(scope="module")
def spark():
    session = dqm_spark.session("local[2]", app="dqm-tests")
    # Small splits and few shuffle partitions: a file read as several partitions on both workers.
    session.conf.set("spark.sql.files.maxPartitionBytes", str(16 << 10))
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def per_days_doc(tmp_path_factory) -> dict:
    path = write_workbook(tmp_path_factory.mktemp("pd") / "w.xlsx", per_days.rows())
    return Engine(build(validate_file(path))).ruleset


@pytest.fixture(scope="module")
def versions(per_days_doc) -> Versions:
    """v1 limits sumatriptan 9 per Rx from 2026-01-01; v2 9 per 30 days from 2026-03-10."""
    return Versions.of(
        {
            1: {**_per_rx(per_days_doc), "version": 1, "effective_date": "2026-01-01"},
            2: {**per_days_doc, "version": 2, "effective_date": "2026-03-10"},
        }
    )


def both(tmp_path, claims, chosen, history=None) -> pd.DataFrame:
    """The decisions of `claims` in one process, after checking Spark's are the same table."""
    one, folder = tmp_path / "one.parquet", tmp_path / "spark"
    assert decide_file(claims, chosen, output=str(one), history=history) > 0
    decide_file(claims, chosen, output=str(folder), spark="local[2]", history=history)
    single, on_spark = pd.read_parquet(one), pd.read_parquet(folder)
    assert list(on_spark.columns) == list(single.columns)
    pd.testing.assert_frame_equal(on_spark, single, check_exact=True)
    return single


def rows(decided: pd.DataFrame) -> list[list]:
    return decided[FIELDS].astype(object).where(decided[FIELDS].notna(), None).values.tolist()


def test_each_rule_of_a_run_decides_on_spark_as_in_one_process(spark, versions, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,member_id,product_id,channel,quantity,date_of_service,attested_criteria\n"
        # a version change inside the window: v1's Per Rx approval counts toward v2's window
        f"C1,M1,{P},retail,8,2026-03-05,\n"
        f"C2,M1,{P},retail,2,2026-03-12,\n"
        # the same day, in input order; C2's denial counted nothing
        f"C3,M1,{P},retail,1,2026-03-12,\n"
        # history: a paid fill counts, a reversed one does not
        f"C4,M2,{P},retail,4,2026-03-25,\n"
        # out of date order in the file: C6 (earlier) counts toward C5
        f"C5, M4 ,{P},retail,4,2026-03-28,\n"
        f"C6,M4,{P},retail,6,2026-03-20,\n"
        # overrides count what they approved
        f"C7,M5,{P},retail,12,2026-03-15,frequent-migraine\n"
        f"C8,M5,{P},retail,9,2026-03-16,frequent-migraine\n"
        f"C9,M5,{P},retail,3,2026-03-17,\n"
        # channels share a window: home delivery's 20 count toward retail's 30 days
        f"C10,M6,{P},home_delivery,20,2026-03-15,\n"
        f"C11,M6,{P},Retail,1,2026-03-20,\n"
        # no member, no date: invalid; a Per Rx claim needs neither
        f"C12,,{P},retail,1,2026-03-20,\n"
        f"C13,M7,{P},retail,1,,\n"
        ",,imatinib-400mg-tab,retail,60,2026-03-20,\n"
    )
    history = tmp_path / "history.csv"
    history.write_text(
        "member_id,product_id,date_of_service,quantity,status\n"
        f"M2,{P},2026-03-20,5,paid\n"
        f"M2,{P},2026-03-21,9,reversed\n"
        f"M2 ,{P},2026-01-02,9,\n"  # outside the window
    )
    decided = both(tmp_path, claims, versions, history)
    assert rows(decided) == [
        ["C1", "approve", 8.0, None, 1],
        ["C2", "deny", 0.0, 8.0, 2],
        ["C3", "approve", 1.0, 8.0, 2],
        ["C4", "approve", 4.0, 5.0, 2],
        ["C5", "deny", 0.0, 6.0, 2],
        ["C6", "approve", 6.0, 0.0, 2],
        ["C7", "override", 12.0, 0.0, 2],
        ["C8", "override", 6.0, 12.0, 2],
        ["C9", "deny", 0.0, 18.0, 2],
        ["C10", "approve", 20.0, 0.0, 2],
        ["C11", "deny", 0.0, 20.0, 2],
        ["C12", "invalid", None, None, 2],
        ["C13", "invalid", None, None, 2],
        ["14", "approve", 60.0, None, 2],
    ]
    assert decided["message"][11].startswith("Invalid: member_id is missing")
    assert decided["message"][12].startswith("Invalid: date_of_service is missing")


def test_a_members_claims_in_different_partitions_and_row_groups(spark, versions, tmp_path):
    claims, history = random_run(seed=3, n=4000, members=300, fills=1500)
    claims["date_of_service"] = claims["date_of_service"].str.replace("2026-01", "2026-05")
    path = tmp_path / "claims.parquet"
    pq.write_table(pa.Table.from_pandas(claims, preserve_index=False), path, row_group_size=97)
    history.to_csv(tmp_path / "history.csv", index=False)
    read, _ = dqm_spark.read_claims(spark, str(path))
    parts = read.withColumn("p", F.spark_partition_id()).groupBy("member_id")
    parts = parts.agg(F.countDistinct("p").alias("n"))
    assert parts.filter("n > 1").count() == 300  # every member's claims in several partitions
    decided = both(tmp_path, path, versions, tmp_path / "history.csv")
    counted = decided[decided["period_days"].notna()]
    assert len(decided) == 4000 and decided["claim_id"].tolist()[:2] == ["C0", "C1"]
    assert set(counted["decision"]) == {"approve", "override", "deny"}
    assert (len(counted), (counted["accumulated_quantity"] > 0).sum()) == (2017, 1843)
    assert set(decided["ruleset_version"].dropna()) == {1, 2}


def test_a_generated_csv_run_and_its_history_on_the_command_line(spark, dqm, tmp_path):
    claims, history = random_run(seed=5, n=3000, members=200, fills=1200)
    claims.loc[::50, "member_id"] = ""
    claims.loc[::70, "date_of_service"] = ""
    claims.loc[::9, "claim_id"] = ""
    claims.to_csv(tmp_path / "claims.csv", index=False)
    history.to_csv(tmp_path / "history.csv", index=False)
    exports = tmp_path / "exports"
    shutil.copytree(EXPORTS, exports, ignore=shutil.ignore_patterns(".lock"))
    workbook = write_workbook(tmp_path / "oncology-dqm.xlsx", per_days.rows())
    assert compile_workbook(workbook, exports).outcome.version == 5
    common = ("--ruleset", "oncology-dqm", "--exports", exports, "--history",
              tmp_path / "history.csv")  # fmt: skip
    one = dqm("decide", tmp_path / "claims.csv", *common, "--output", tmp_path / "one.parquet")
    on_spark = dqm("decide", tmp_path / "claims.csv", *common, "--spark", "local[2]",
                   "--output", tmp_path / "spark")  # fmt: skip
    assert (one.code, on_spark.code) == (0, 0), (one.err, on_spark.err)
    assert on_spark.err == f"Decisions written to {tmp_path / 'spark'}.\n"
    single = pd.read_parquet(tmp_path / "one.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "spark"), single, check_exact=True)
    assert single["claim_id"].tolist()[:2] == ["1", "C1"]
    # A sumatriptan claim without a member or a date, whichever version's: invalid, no other.
    unkeyed = (claims["member_id"] == "") | (claims["date_of_service"] == "")
    assert (single["decision"] == "invalid").tolist() == (
        unkeyed & (claims["product_id"] == P)
    ).tolist()


def test_the_first_history_row_that_is_no_fill_stops_the_run_as_in_one_process(
    spark, dqm, versions, tmp_path
):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        f"member_id,product_id,channel,quantity,date_of_service\nM1,{P},retail,1,2026-03-20\n"
    )
    history = tmp_path / "history.csv"
    history.write_text(
        "member_id,product_id,date_of_service,quantity,status\n"
        + "".join(f"M{i},{P},2026-03-01,1,paid\n" for i in range(3000))
        + f"M1,{P},2026-03-02,two,paid\n"
        + f"M1,{P},2026-03-02,2,x\n"
        + "".join(f"M{i},{P},2026-03-01,1,paid\n" for i in range(3000))
        + f"M1,{P},2026-03-02,three,paid\n"
    )
    # As Parquet in row groups of 500: Spark reads it as three partitions, the last two with rows
    # that are no fills.
    fills = pd.read_csv(history, dtype="str")
    parquet = tmp_path / "history.parquet"
    pq.write_table(pa.Table.from_pandas(fills, preserve_index=False), parquet, row_group_size=500)
    read, _ = spark_runs.read_history(spark, str(parquet))
    assert read.rdd.getNumPartitions() == 3  # row 3001 in the second
    want = (
        "History row 3001: quantity 'two' is not a number. A fill left out would let the "
        "member's later claims approve; correct the row and run again."
    )
    for source in (history, parquet):
        for spark_master in (None, "local[2]"):
            out = tmp_path / f"out-{bool(spark_master)}"
            with pytest.raises(HistoryError) as raised:
                decide_file(claims, versions, output=str(out), spark=spark_master, history=source)
            assert str(raised.value) == want
            assert not out.exists()


def test_one_version_and_a_date_to_decide_as_of_on_spark(spark, per_days_doc, versions, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        "claim_id,member_id,product_id,channel,quantity,date_of_service\n"
        f"C1,M1,{P},retail,8,2026-03-05\n"
        f"C2,M1,{P},retail,2,2026-03-12\n"
        f"C3,M2,{P},retail,9,2026-03-12\n"
    )
    # --version N: the Per Days version decides every claim, whatever its date.
    (tmp_path / "alone").mkdir()
    alone = both(tmp_path / "alone", claims, Engine(per_days_doc))
    assert rows(alone) == [
        ["C1", "approve", 8.0, 0.0, None],
        ["C2", "deny", 0.0, 8.0, None],
        ["C3", "approve", 9.0, 0.0, None],
    ]
    # As of a day in v1's time: every claim Per Rx, so none counts toward another.
    (tmp_path / "as-of").mkdir()
    as_of = dt.date(2026, 3, 1)
    one, folder = tmp_path / "as-of" / "one.parquet", tmp_path / "as-of" / "spark"
    decide_file(claims, versions, as_of=as_of, output=str(one))
    decide_file(claims, versions, as_of=as_of, output=str(folder), spark="local[2]")
    single = pd.read_parquet(one)
    pd.testing.assert_frame_equal(pd.read_parquet(folder), single, check_exact=True)
    assert rows(single) == [
        ["C1", "approve", 8.0, None, 1],
        ["C2", "approve", 2.0, None, 1],
        ["C3", "approve", 9.0, None, 1],
    ]
