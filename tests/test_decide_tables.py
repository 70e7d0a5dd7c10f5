"""Claims decided as Arrow tables (sources.claims_batches(tables=True) -> Engine.decide ->
decisions.Decisions -> DecisionWriter), the path dqm decide takes without pandas, write the same
bytes as claims frames decided into decision frames, in every format."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compiler.decide.decisions import Decisions
from compiler.decide.engine import Engine
from compiler.decide.sources import claims_batches
from compiler.decide.stream import decide_stream
from compiler.decide.writer import DecisionWriter
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS
from tests.test_stream import mixed_claims

FORMATS = ["csv", "json", "jsonl", "parquet"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(Store(EXPORTS).load("oncology-dqm", 3))


def written(engine: Engine, source, fmt: str, tables: bool, block_bytes: int | None = None):
    out = io.BytesIO()
    writer = DecisionWriter(out, fmt)
    batches = claims_batches(source, "claims.csv", block_bytes, tables=tables)
    encode = writer.encode if fmt in ("csv", "parquet") else None
    decide_stream(batches, engine.decide, writer.write_encoded, encode=encode)
    writer.close()
    return out.getvalue()


@pytest.mark.parametrize("fmt", FORMATS)
def test_tables_write_the_frames_bytes(engine, fmt):
    data = mixed_claims(900)  # ragged rows, missing ids, quantities in words, CRLF
    frames = written(engine, io.BytesIO(data), fmt, tables=False, block_bytes=2048)
    tables = written(engine, io.BytesIO(data), fmt, tables=True, block_bytes=2048)
    assert tables == frames


@pytest.mark.parametrize("fmt", FORMATS)
def test_tables_from_parquet_write_the_frames_bytes(engine, fmt, tmp_path):
    pq.write_table(
        pa.table(
            {
                "Claim ID": pa.array([7, None, 9], pa.int64()),
                "Product ID": pa.array(["imatinib-400mg-tab", "", "imatinib-100mg-tab"]),
                "channel": pa.array(["retail", "retail", "=cmd"]).dictionary_encode(),
                "quantity": pa.array([120.0, 2.5, 60.0]),
                "concomitant_drugs": pa.array(["Rifadin", None, "-x"]),
            }
        ),
        tmp_path / "typed.parquet",
    )
    path = tmp_path / "typed.parquet"
    assert written(engine, path, fmt, tables=True) == written(engine, path, fmt, tables=False)


def test_a_batch_whose_quantities_are_all_words(engine):
    """Every quantity a text: the frame's column is pandas text, not objects; both paths echo it
    (formula-safe in CSV) and write none for it in Parquet."""
    data = b"claim_id,product_id,channel,quantity\nC1,imatinib-400mg-tab,retail,=1+1\n"
    for fmt in FORMATS:
        frames = written(engine, io.BytesIO(data), fmt, tables=False)
        assert written(engine, io.BytesIO(data), fmt, tables=True) == frames
    csv = written(engine, io.BytesIO(data), "csv", tables=True).decode()
    assert '"\'=1+1"' in csv
    parquet = pq.read_table(io.BytesIO(written(engine, io.BytesIO(data), "parquet", tables=True)))
    assert parquet.column("quantity").to_pylist() == [None]


def test_decisions_frame_is_the_decision_frame(engine):
    (table,) = claims_batches(io.BytesIO(mixed_claims(50)), "claims.csv", tables=True)
    (frame,) = claims_batches(io.BytesIO(mixed_claims(50)), "claims.csv")
    decided = engine.decide(table)
    assert isinstance(decided, Decisions) and len(decided) == len(frame)
    expected = engine.decide(frame)
    got = decided.frame()
    assert got.astype(object).where(got.notna(), None).values.tolist() == (
        expected.astype(object).where(expected.notna(), None).values.tolist()
    )
    rows = json.loads(written(engine, io.BytesIO(mixed_claims(50)), "json", tables=True))
    assert [r["claim_id"] for r in rows] == expected["claim_id"].tolist()


def test_deciding_claims_as_tables_never_imports_pandas(tmp_path):
    """pyarrow imports pandas when it converts Python or numpy values, if pandas is installed
    (~0.4 s of dqm decide's start): the table path builds its arrays from buffers instead."""
    data = mixed_claims(300) + b"=cmd,imatinib-400mg-tab,retail,+60,-rifampin,\n"
    (tmp_path / "claims.csv").write_bytes(data)
    pq.write_table(
        pa.table({"claim_id": ["=1", None], "product_id": ["imatinib-400mg-tab", ""]})
        .append_column("channel", pa.array(["retail", "home_delivery"]))
        .append_column("quantity", pa.array([120.0, 2.5])),
        tmp_path / "claims.parquet",
    )
    script = f"""
import io, json, sys
from compiler.decide.writer import DecisionWriter
from compiler.decide.engine import Engine
from compiler.decide.sources import claims_batches
from compiler.decide.stream import decide_stream
engine = Engine(json.loads(open({str(EXPORTS / "oncology-dqm" / "v3.json")!r}).read()))
for source in ({str(tmp_path / "claims.csv")!r}, {str(tmp_path / "claims.parquet")!r}):
    for fmt in ("csv", "json", "jsonl", "parquet"):
        writer = DecisionWriter(io.BytesIO(), fmt)
        encode = writer.encode if fmt in ("csv", "parquet") else None
        batches = claims_batches(source, block_bytes=4096, tables=True)
        decide_stream(batches, engine.decide, writer.write_encoded, encode=encode)
        writer.close()
print("pandas" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_one_claim_decided_to_csv_imports_no_pyarrow_compute(tmp_path):
    """pyarrow.compute is a fifth of a one-claim `dqm decide`'s start: made only where a batch
    needs it, which one claim never does."""
    claims = tmp_path / "claims.csv"
    claims.write_text("claim_id,product_id,channel,quantity\nC1,imatinib-400mg-tab,retail,61\n")
    script = f"""
import sys
from compiler.cli import main
code = main(["decide", {str(claims)!r}, "--ruleset", {str(EXPORTS / "oncology-dqm" / "v3.json")!r},
             "--output", {str(tmp_path / "out.csv")!r}])
print(code, "pyarrow.compute" in sys.modules, "pandas" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "0 False False\n", "")
    assert (
        (tmp_path / "out.csv").read_text().splitlines()[1].startswith('"C1","imatinib-400mg-tab"')
    )
