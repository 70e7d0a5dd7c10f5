"""compiler.decide.spark on Spark local[2]: the same decisions as one process, field by field, on a
million claims; CSV read by Spark with its odd rows; impact; a missing column in one line. One
quiet session for the module (Java 17 or later and the spark extra: scripts/setup.sh)."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compiler.decide import spark as dqm_spark
from compiler.decide.claims import ClaimsFileError
from compiler.decide.decisions import decisions_table
from compiler.decide.engine import Engine
from compiler.decide.impact import Transitions, compare
from compiler.decide.sources import claims_batches
from compiler.decide.versions import Versions
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS

V3_PATH = EXPORTS / "oncology-dqm" / "v3.json"

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark():
    session = dqm_spark.session("local[2]", app="dqm-tests")
    # Small splits, so that one file is read as several partitions on both workers.
    session.conf.set("spark.sql.files.maxPartitionBytes", str(2 << 20))
    yield session
    session.stop()


@pytest.fixture(scope="module")
def v3() -> dict:
    return Store(EXPORTS).load("oncology-dqm", 3)


def million_claims(n: int = 1_000_000) -> pd.DataFrame:
    """Claims of every kind: good ones with and without drugs, every 7th without an id, and
    quantities in words, unknown channels, missing and unknown products, signs."""
    rng = np.random.default_rng(7)
    product = np.array(["imatinib-400mg-tab", "imatinib-100mg-tab", "dasatinib-100mg-tab", ""])[
        rng.choice(4, n, p=[0.55, 0.38, 0.05, 0.02])
    ]
    channel = np.array(["retail", "Home Delivery", "bike"])[rng.choice(3, n, p=[0.6, 0.39, 0.01])]
    quantity = rng.integers(1, 700, n).astype(str).astype(object)
    quantity[rng.random(n) < 0.01] = "ten"
    quantity[rng.random(n) < 0.01] = "-5"
    drugs = np.array(
        [None, "Rifadin 300 mg", "lisinopril; carbamazepine", "rifaximin"], dtype=object
    )[rng.choice(4, n, p=[0.7, 0.1, 0.1, 0.1])]
    ids = np.char.add("S", np.arange(n).astype(str)).astype(object)
    ids[::7] = None
    frame = pd.DataFrame(
        {
            "Claim ID": ids,
            "product_id": product,
            "channel": channel,
            "quantity": quantity,
            "concomitant_drugs": drugs,
        }
    )
    return frame.astype("str")


def one_process(source, engine: Engine) -> pd.DataFrame:
    """The decisions of the one-process path, typed as Spark's."""
    return pd.concat(
        [decisions_table(engine.decide(b)).to_pandas() for b in claims_batches(source)],
        ignore_index=True,
    )


def test_spark_decides_a_million_claims_exactly_as_one_process(spark, v3, tmp_path):
    path = tmp_path / "claims.parquet"
    pq.write_table(
        pa.Table.from_pandas(million_claims(), preserve_index=False), path, row_group_size=50_000
    )
    claims, width = dqm_spark.read_claims(spark, str(path))
    decided = dqm_spark.decide(claims, v3, csv_width=width)
    assert claims.rdd.getNumPartitions() > 1
    got = decided.toPandas()
    want = one_process(path, Engine(v3))
    assert len(got) == 1_000_000
    assert got["claim_id"].tolist()[:8] == ["1", "S1", "S2", "S3", "S4", "S5", "S6", "8"]
    got = got.sort_values("claim_id", ignore_index=True)
    want = want.sort_values("claim_id", ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert set(want["decision"]) == {"approve", "override", "deny", "not_applicable", "invalid"}


def test_csv_read_by_spark_decides_its_odd_rows_as_one_process(spark, v3, tmp_path, dqm):
    path = tmp_path / "claims.csv"
    path.write_text(
        "claim_id,product_id,channel,quantity,concomitant_drugs,attested_criteria\n"
        'C1,imatinib-400mg-tab,retail,120,"lisinopril\nRifadin",\n'
        "C2,imatinib-400mg-tab,retail,61,rifampin,x,extra\n"
        "C3,imatinib-100mg-tab\n"
        "   \n"
        ",imatinib-400mg-tab,Home Delivery,ten,,\n"
        '"C6",imatinib-400mg-tab,retail,75,"St John\'s wort, Rifadin",\n'
    )
    claims, width = dqm_spark.read_claims(spark, str(path))
    got = dqm_spark.decide(claims, v3, csv_width=width).toPandas()
    want = one_process(path, Engine(v3))
    shown = got[["claim_id", "decision", "approved_quantity", "matched_drugs"]]
    assert shown.astype(object).where(shown.notna(), None).values.tolist() == [
        ["C1", "override", 90.0, "lisinopril\nRifadin"],
        ["C2", "invalid", None, None],
        ["C3", "invalid", None, None],
        ["4", "invalid", None, None],  # the 4th claim: a line of blanks is none
        ["C6", "override", 75.0, "St John's wort, Rifadin"],
    ]
    # Spark cannot say on which line a row was: only the odd rows' messages differ.
    assert got["message"][1] == (
        "Invalid: a row has 7 fields but the header has 6; put double quotes around a value "
        "that contains a comma; attested criterion 'x' is not one of the ruleset's criteria."
    )
    assert want["message"][1] == (
        "Invalid: line 4 has 7 fields but the header has 6; put double quotes around a value "
        "that contains a comma; attested criterion 'x' is not one of the ruleset's criteria."
    )
    assert got["message"][2] == (
        "Invalid: a row has 2 fields but the header has 6; the row may have been cut short; "
        "channel is missing (use retail or home_delivery); quantity is missing."
    )
    assert want["message"][2] == (
        "Invalid: line 5 has 2 fields but the header has 6; the row may have been cut short; "
        "channel is missing (use retail or home_delivery); quantity is missing."
    )
    same = [i for i in range(len(want)) if i not in (1, 2)]
    pd.testing.assert_frame_equal(
        got.iloc[same].reset_index(drop=True), want.iloc[same].reset_index(drop=True)
    )
    # The command line: Spark reads, decides and writes a folder of Parquet files.
    out = tmp_path / "decisions"
    assert dqm("decide", path, "--ruleset", V3_PATH, "--spark", "local[2]", "--output", out) == (
        0,
        "",
        f"Decisions written to {out}.\n",
    )
    written = pq.read_table(out).to_pandas().sort_values("claim_id", ignore_index=True)
    pd.testing.assert_frame_equal(
        written, got.sort_values("claim_id", ignore_index=True), check_dtype=False
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv", "decisions"]


def test_spark_impact_counts_exactly_as_one_process(spark, v3, tmp_path, dqm):
    raised = copy.deepcopy(v3)
    product = next(
        p for p in raised["policies"][0]["products"] if p["product_id"] == "imatinib-400mg-tab"
    )
    product["retail_max_qty"] = 75
    frame = million_claims(50_000)
    path = tmp_path / "claims.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    claims, _ = dqm_spark.read_claims(spark, str(path))
    transitions, changed = dqm_spark.impact(claims, v3, raised)
    engine_before, engine_after = Engine(v3), Engine(raised)
    want = Transitions()
    rows = []
    for batch in claims_batches(path):
        result = compare(engine_before, engine_after, batch)
        want.add(result.transitions)
        rows.append(result.changed)
    assert transitions.table().equals(want.table())
    assert transitions.changed_decision > 0
    got = changed.toPandas().sort_values("claim_id", ignore_index=True)
    expected = pd.concat(rows, ignore_index=True).sort_values("claim_id", ignore_index=True)
    assert got["claim_id"].tolist() == expected["claim_id"].tolist()
    assert got["change"].tolist() == expected["change"].tolist()
    # The command line: the transitions printed, the changed claims written by Spark.
    out = tmp_path / "changed"
    ran = dqm("impact", "oncology-dqm", "2", "3", path, "--spark", "local[2]", "--output", out)
    assert (ran.code, ran.err) == (0, "")
    assert ran.out.splitlines()[0] == (
        f"oncology-dqm v2 (in effect from 2024-12-17) → v3 (in effect from 2025-12-08): 0 of 50,000 "
        "claims decide differently; the changed claims are in "
        f"{out}."
    )
    assert ran.out.splitlines()[-1].split() == ["all", "claims", "50,000", "2,816,230", "2,816,230"]
    assert pq.read_table(out).num_rows == 0


def test_a_missing_column_is_one_clear_error(spark, v3, tmp_path, dqm):
    frame = spark.createDataFrame(
        [("C1", "imatinib-400mg-tab", "60")], "claim_id string, product_id string, qty string"
    )
    with pytest.raises(ClaimsFileError) as exc:
        dqm_spark.decide(frame, v3)
    assert str(exc.value) == (
        "The claims DataFrame has no channel column and no quantity column (its columns are: "
        "claim_id, product_id, qty); it must name channel, quantity and at least one of "
        "product_id, ndc and rxcui."
    )
    path = tmp_path / "claims.parquet"
    pq.write_table(pa.table({"product_id": ["x"], "channel": ["retail"]}), path)
    code, out, err = dqm(
        "decide", path, "--ruleset", V3_PATH, "--spark", "local[2]", "--output", tmp_path / "d"
    )
    assert (code, out) == (2, "")
    assert err == (  # a file on this machine is named, as the single process names it
        f"dqm: {path} has no quantity column (its columns are: product_id, channel); it must "
        "name channel, quantity and at least one of product_id, ndc and rxcui.\n"
    )
    assert dqm("decide", path, "--ruleset", V3_PATH).err == err


def test_spark_decides_each_claim_by_the_version_in_effect_on_its_date(spark, tmp_path):
    store = Store(EXPORTS)
    docs = {v: store.load("oncology-dqm", v) for v in store.versions("oncology-dqm")}
    path = tmp_path / "claims.csv"
    path.write_text(
        "claim_id,product_id,channel,quantity,date_of_service\n"
        "D1,imatinib-400mg-tab,retail,61,2024-06-01\n"
        "D2,imatinib-400mg-tab,retail,61,20250101\n"
        "D3,imatinib-400mg-tab,retail,61,2026-03-02\n"
        "D4,imatinib-400mg-tab,retail,61,2020-01-01\n"
        "D5,imatinib-400mg-tab,retail,61,\n"
    )
    claims, width = dqm_spark.read_claims(spark, str(path))
    got = dqm_spark.decide(claims, list(docs.values()), csv_width=width).toPandas()
    versions = Versions.of(docs)
    want = pd.concat(
        [decisions_table(versions.decide(b)).to_pandas() for b in claims_batches(path)],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(got, want)
    assert got["ruleset_version"].tolist()[:3] == [1, 2, 4]
    assert got["decision"].tolist()[3] == "not_applicable" and pd.isna(got["ruleset_version"][3])
    as_of = dqm_spark.decide(
        claims, list(docs.values()), as_of=dt.date(2024, 6, 1), csv_width=width
    )
    assert set(as_of.toPandas()["ruleset_version"]) == {1}
