"""`dqm decide --history` and `dqm impact --history`: a Per Days run read from files, its windows
worked out in member buckets on disk (decide/buckets.py), equal to the run held whole, however
the claims arrive (out of date order, across Parquet row groups, members spread over batches)."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import jsonschema
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compiler.decide import buckets as buckets_module
from compiler.decide.buckets import Spill, SpilledRun, member_bucket
from compiler.decide.versions import Versions
from compiler.ruleset.sealing import schema
from compiler.ruleset.store import Store
from compiler.vocabulary import DECISION_COLUMNS
from tests.fixtures import per_days

P = per_days.PRODUCT


@pytest.fixture
def exports(per_days_copy):
    """The bundled store with a v5 (in effect from 2025-12-08) adding the sumatriptan policy."""
    return per_days_copy


def random_run(seed: int, n: int, members: int, fills: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = random.Random(seed)

    def day() -> str:
        return f"2026-{rng.randint(1, 4):02d}-{rng.randint(1, 28):02d}"

    claims = pd.DataFrame(
        {
            "claim_id": [f"C{i}" for i in range(n)],
            "member_id": [f"M{rng.randrange(members)}" for _ in range(n)],
            "product_id": [rng.choice([P, P, P, "imatinib-400mg-tab"]) for _ in range(n)],
            "channel": [rng.choice(["retail", "retail", "home_delivery"]) for _ in range(n)],
            "quantity": [str(rng.choice([1, 2, 3, 4.5, 6, 9, 12, 30, 61])) for _ in range(n)],
            "date_of_service": [day() for _ in range(n)],
            "attested_criteria": [rng.choice(["", "", "frequent-migraine"]) for _ in range(n)],
        }
    )
    history = pd.DataFrame(
        {
            "member_id": [f"M{rng.randrange(members)}" for _ in range(fills)],
            "product_id": [P] * fills,
            "date_of_service": [day() for _ in range(fills)],
            "quantity": [str(rng.choice([1, 2, 3, 9])) for _ in range(fills)],
            "status": [rng.choice(["paid", "paid", "reversed", ""]) for _ in range(fills)],
        }
    )
    return claims, history


def in_memory(exports, claims: pd.DataFrame, history: pd.DataFrame) -> list[dict]:
    versions = Versions.of(Store(exports).listing("oncology-dqm").require())
    decided = versions.decide(claims, history=history)
    return json.loads(decided.to_json(orient="records"))


def test_a_run_from_files_equals_the_run_held_whole(dqm, exports, tmp_path):
    claims, history = random_run(seed=7, n=3000, members=40, fills=800)
    # Parquet row groups of 97 claims: every member's claims spread over many batches
    pq.write_table(pa.Table.from_pandas(claims, preserve_index=False), tmp_path / "c.parquet",
                   row_group_size=97)  # fmt: skip
    history.to_csv(tmp_path / "h.csv", index=False)
    ran = dqm(
        "decide", tmp_path / "c.parquet", "--ruleset", "oncology-dqm", "--exports", exports,
        "--history", tmp_path / "h.csv", "--format", "jsonl",
    )  # fmt: skip
    assert (ran.code, ran.err) == (0, "")
    decided = [json.loads(line) for line in ran.out.splitlines()]
    expected = in_memory(exports, claims, history.fillna(""))
    assert [list(d) for d in decided[:1]] == [DECISION_COLUMNS]
    assert decided == expected
    validator = jsonschema.Draft202012Validator(schema("decision.schema.json"))
    assert [e.message for d in decided for e in validator.iter_errors(d)] == []
    counted = [d for d in decided if d["period_days"] is not None]
    assert {d["decision"] for d in counted} == {"approve", "override", "deny"}
    assert sum(d["accumulated_quantity"] > 0 for d in counted) > 1000


def test_buckets_and_batches_change_nothing(exports, monkeypatch):
    claims, history = random_run(seed=11, n=2000, members=25, fills=300)
    versions = Versions.of(Store(exports).listing("oncology-dqm").require())
    whole = versions.decide(claims, history=history)
    table = pa.Table.from_pandas(claims, preserve_index=False)
    batches = [table.slice(i, 137) for i in range(0, len(claims), 137)]
    hist = pa.Table.from_pandas(history, preserve_index=False)
    # Buckets worked out one at a time (IN_FLIGHT 1) and two at a time, on two threads.
    for buckets, in_flight in [(1, 1), (3, 1), (3, 10**9), (64, 1), (64, 10**9)]:
        monkeypatch.setattr(buckets_module, "IN_FLIGHT", in_flight)
        with Spill(buckets=buckets) as spill:
            run = SpilledRun(batches, spill)
            received = run.received(
                versions.decide_columns, frozenset({P}), [hist.slice(0, 100), hist.slice(100)]
            )
            decide = run.decided(versions.decide_columns, received)
            parts = [decide(batch).frame() for batch, _ in run.batches()]
        split = pd.concat(parts, ignore_index=True)
        assert split.astype(object).where(split.notna(), None).values.tolist() == (
            whole.astype(object).where(whole.notna(), None).values.tolist()
        )


def test_a_member_is_in_one_bucket_whatever_its_batch():
    members = pa.array(["M1", "M22", "", "é-9", "M1", "x" * 300])
    assert member_bucket(members, 64).tolist() == member_bucket(members.slice(0), 64).tolist()
    assert member_bucket(members.slice(4, 1), 64)[0] == member_bucket(members, 64)[0]
    assert set(member_bucket(pa.array([f"M{i}" for i in range(10_000)]), 64)) == set(range(64))


def test_a_malformed_fill_stops_the_run_and_writes_nothing(dqm, exports, tmp_path):
    claims = tmp_path / "c.csv"
    claims.write_text(
        "claim_id,member_id,product_id,channel,quantity,date_of_service\n"
        f"C1,M1,{P},retail,6,2026-03-31\n"
    )
    history = tmp_path / "h.csv"
    history.write_text(
        "member_id,product_id,date_of_service,quantity\n"
        f"M1,{P},2026-03-02,2\nM1,{P},2026-03-03,two\n"
    )
    out = tmp_path / "out.csv"
    ran = dqm("decide", claims, "--ruleset", "oncology-dqm", "--exports", exports,
              "--history", history, "--output", out)  # fmt: skip
    assert (ran.code, ran.out, ran.err) == (
        2,
        "",
        "dqm: History row 2: quantity 'two' is not a number. A fill left out would let the "
        "member's later claims approve; correct the row and run again.\n",
    )
    assert not out.exists() and list(tmp_path.glob(".*")) == []  # no output, no working files
    history.write_text("member_id,date_of_service,quantity\nM1,2026-03-02,2\n")
    ran = dqm("decide", claims, "--ruleset", "oncology-dqm", "--exports", exports,
              "--history", history)  # fmt: skip
    assert (ran.code, ran.err) == (
        2,
        f"dqm: {history} has no product_id, ndc or rxcui column (its header row has: "
        "member_id, date_of_service, quantity); the header row must name member_id, "
        "date_of_service, quantity and at least one of product_id, ndc and rxcui.\n",
    )


def test_impact_on_spark_says_to_compare_per_days_runs_without_it(dqm, exports, tmp_path):
    claims = tmp_path / "c.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    ran = dqm("impact", "oncology-dqm", "4", "5", claims, "--exports", exports,
              "--spark", "local[2]", "--output", tmp_path / "out")  # fmt: skip
    assert (ran.code, ran.out, ran.err) == (
        2,
        "",
        "dqm: dqm impact --spark does not compare Per Days limits (each version's run counts "
        "the members' fills); run dqm impact without --spark.\n",
    )
    assert not (tmp_path / "out").exists()


def test_impact_replays_each_versions_run(dqm, exports, tmp_path):
    """v4 has no sumatriptan limit; v5 counts the history and the run's own claims."""
    claims = tmp_path / "c.csv"
    claims.write_text(
        "claim_id,member_id,product_id,channel,quantity,date_of_service\n"
        f"C1,M1,{P},retail,6,2026-03-20\n"
        f"C2,M1,{P},retail,6,2026-03-31\n"
        f"C3,M1,{P},retail,1,2026-03-31\n"
    )
    history = tmp_path / "h.csv"
    history.write_text(f"member_id,product_id,date_of_service,quantity\nM1,{P},2026-03-02,2\n")
    ran = dqm("impact", "oncology-dqm", "4", "5", claims, "--exports", exports,
              "--history", history)  # fmt: skip
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[1:] == [
        "decision                  claims  approved before  approved after",
        "not_applicable → approve       2                0               7",
        "not_applicable → deny          1                0               0",
        "all claims                     3                0               7",
    ]


def test_spark_reads_a_history_from_a_file_not_a_stream(exports, tmp_path):
    import io

    from compiler.decide.job import decide_file
    from compiler.errors import UsageError

    claims = tmp_path / "c.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    versions = Versions.of(Store(exports).listing("oncology-dqm").require())
    with pytest.raises(UsageError) as raised:
        decide_file(claims, versions, output=str(tmp_path / "out"), spark="local[2]",
                    history=io.BytesIO(b"member_id\n"))  # fmt: skip
    assert str(raised.value) == (
        "--spark reads the history from a file or folder, not standard input."
    )
    assert not (tmp_path / "out").exists()


def test_a_bad_claims_file_is_said_before_a_bad_history(dqm, exports, tmp_path):
    """The history's pass runs beside the claims' reading: whichever fails first, the claims
    file's error is the one said, as when the claims were read before the history."""
    claims = tmp_path / "c.csv"
    rows = "".join(f"C{i},M{i % 50},{P},retail,1,2026-03-31\n" for i in range(200_000))
    claims.write_bytes(
        b"claim_id,member_id,product_id,channel,quantity,date_of_service\n"
        + rows.encode()
        + b"C-last,M\xff,x,retail,1,2026-03-31\n"
    )
    history = tmp_path / "h.csv"
    history.write_text(f"member_id,product_id,date_of_service,quantity\nM1,{P},2026-03-02,two\n")
    out = tmp_path / "out.csv"
    ran = dqm("decide", claims, "--ruleset", "oncology-dqm", "--exports", exports,
              "--history", history, "--output", out)  # fmt: skip
    assert (ran.code, ran.out, ran.err) == (
        2,
        "",
        f"dqm: {claims} is not UTF-8 text (byte 0xff on line 200002); save it as CSV UTF-8 (in "
        "Excel: File > Save As > CSV UTF-8), or name the encoding it was saved in with "
        "--encoding (such as --encoding cp1252).\n",
    )
    assert not out.exists() and list(tmp_path.glob(".*")) == []


def test_a_per_days_run_from_files_never_imports_pandas(exports, tmp_path):
    """As a Per Rx `dqm decide` does not: thousands of members (their ids worked on as Arrow)
    and a history, every format."""
    claims, history = tmp_path / "c.csv", tmp_path / "h.csv"
    claims.write_text(
        "claim_id,member_id,product_id,channel,quantity,date_of_service\n"
        + "".join(f"C{i},M{i},{P},retail,6,2026-03-31\n" for i in range(3_000))
    )
    history.write_text(
        "member_id,product_id,date_of_service,quantity\n"
        + "".join(f" M{i} ,{P},2026-03-1{i % 9},2\n" for i in range(3_000))
    )
    script = f"""
import sys
from compiler.api import decide_file
for fmt in ("csv", "json", "jsonl", "parquet"):
    out = {str(tmp_path)!r} + "/out." + fmt
    decide_file({str(claims)!r}, "oncology-dqm", exports={str(exports)!r}, output=out,
                history={str(history)!r})
print("pandas" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "False\n", "")
    decided = pq.read_table(tmp_path / "out.parquet")
    assert decided.column("accumulated_quantity").to_pylist() == [2.0] * 3_000
    assert set(decided.column("decision").to_pylist()) == {"approve"}
