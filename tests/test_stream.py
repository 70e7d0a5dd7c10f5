"""Streaming decide (compiler/decide/sources.py, stream.py, writer.DecisionWriter): batches
that cross record boundaries give the whole-file path's bytes; Parquet in and out; a file that
breaks part-way stops with one line, leaving no partial --output and only whole rows on stdout."""

from __future__ import annotations

import io
import json
import time

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from compiler.decide import sources
from compiler.decide.claims import ClaimsFileError, read_claims_csv
from compiler.decide.decisions import DECISION_SCHEMA, decisions_table
from compiler.decide.engine import Engine
from compiler.decide.sources import claims_batches, csv_batches
from compiler.decide.stream import Tally, decide_stream
from compiler.decide.writer import DecisionWriter, write_decisions
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS

V3 = EXPORTS / "oncology-dqm" / "v3.json"
HEADER = "claim_id,product_id,channel,quantity,concomitant_drugs,attested_criteria\n"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(Store(EXPORTS).load("oncology-dqm", 3))


def mixed_claims(n: int) -> bytes:
    """n claims of every kind a file holds: ids missing, quoted commas and line breaks, rows with
    too many and too few fields, blank lines, a quantity in words, CRLF endings."""
    rows = []
    for i in range(n):
        cid = "" if i % 10 == 3 else f"C{i}"
        kind = i % 9
        if kind == 0:
            rows.append(f'{cid},imatinib-400mg-tab,retail,{60 + i % 40},"lisinopril;\nRifadin",\n')
        elif kind == 1:
            rows.append(f"{cid},imatinib-400mg-tab,retail,61,rifampin,x,extra\n")
        elif kind == 2:
            rows.append(f"{cid},imatinib-100mg-tab\n")
        elif kind == 3:
            rows.append("\n")
        elif kind == 4:
            rows.append(f"{cid},imatinib-400mg-tab,Home Delivery,ten,,\r\n")
        elif kind == 5:
            rows.append(f'{cid},imatinib-400mg-tab,retail,120,"Rifadin, 300 mg",\n')
        else:
            rows.append(f'"{cid}",imatinib-100mg-tab,home_delivery,{i % 700},"St John""s wort",\n')
    return (HEADER + "".join(rows)).encode()


def whole_file(engine: Engine, data: bytes, fmt: str) -> bytes:
    """Today's path: the whole file read, decided and written at once."""
    out = io.BytesIO()
    write_decisions(engine.decide(read_claims_csv(data)), out, fmt)
    return out.getvalue()


def streamed(engine: Engine, data: bytes, fmt: str, block_bytes: int) -> bytes:
    out = io.BytesIO()
    writer = DecisionWriter(out, fmt)
    decide_stream(
        csv_batches(io.BytesIO(data), "claims.csv", block_bytes), engine.decide, writer.write
    )
    writer.close()
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
@pytest.mark.parametrize("block_bytes", [300, 5_000, 1 << 20])
def test_streamed_output_is_byte_identical_to_the_whole_file(engine, fmt, block_bytes):
    data = mixed_claims(900)
    assert streamed(engine, data, fmt, block_bytes) == whole_file(engine, data, fmt)


def test_a_quoted_line_break_at_a_batch_boundary_stays_in_its_value(engine):
    first = HEADER + 'C1,imatinib-400mg-tab,retail,120,"lisinopril\n'
    data = (first + 'Rifadin",\nC2,imatinib-400mg-tab,retail,60,,\n').encode()
    # The first block ends just after the line break inside the quoted value.
    batches = list(csv_batches(io.BytesIO(data), "claims.csv", len(first)))
    assert [b["claim_id"].tolist() for b in batches] == [["C1", "C2"]]
    assert batches[0]["concomitant_drugs"].tolist()[0] == "lisinopril\nRifadin"
    assert streamed(engine, data, "csv", len(first)) == whole_file(engine, data, "csv")
    decided = pd.read_csv(io.BytesIO(streamed(engine, data, "csv", len(first))))
    assert decided[["claim_id", "decision", "approved_quantity"]].values.tolist() == [
        ["C1", "override", 90],
        ["C2", "approve", 60],
    ]


def test_claim_ids_count_positions_across_batches_and_bad_rows_name_their_file_line():
    data = (HEADER + ",imatinib-400mg-tab,retail,60,,\n" * 50 + "X,a,b,c,d,e,f,g\n").encode()
    batches = list(csv_batches(io.BytesIO(data), "claims.csv", 100))
    assert len(batches) > 10
    frame = pd.concat(batches, ignore_index=True)
    assert frame["claim_id"].tolist() == [str(i) for i in range(1, 51)] + ["X"]
    assert frame["row_problem"].dropna().tolist() == [
        "line 52 has 8 fields but the header has 6; put double quotes around a value that "
        "contains a comma."
    ]


def test_a_lone_quote_inside_a_value_does_not_hold_the_whole_file(engine):
    # `5" tab` opens no quoted value for a CSV reader; counting quotes alone would wait for a
    # closing quote until the end of the file. Python's csv finds the records' ends instead.
    data = (
        HEADER
        + 'C0,imatinib-400mg-tab,retail,60,5" tab,\n'
        + "C,imatinib-400mg-tab,retail,61,,\n" * 400
    ).encode()
    batches = list(csv_batches(io.BytesIO(data), "claims.csv", 512))
    assert max(len(b) for b in batches) < 100
    assert pd.concat(batches)["concomitant_drugs"].iloc[0] == '5" tab'
    assert streamed(engine, data, "csv", 512) == whole_file(engine, data, "csv")


def test_parquet_file_and_folder_decide_as_the_same_claims_in_csv(tmp_path, engine, monkeypatch):
    monkeypatch.setattr(sources, "PARQUET_ROWS", 100)
    claims = read_claims_csv(mixed_claims(1_000)).drop(columns=["row_problem"])
    table = pa.Table.from_pandas(claims, preserve_index=False)
    pq.write_table(table, tmp_path / "claims.parquet", row_group_size=128)
    folder = tmp_path / "lake"
    folder.mkdir()
    pq.write_table(table.slice(0, 600), folder / "part-00000.parquet", row_group_size=100)
    pq.write_table(table.slice(600), folder / "part-00001.parquet")
    (folder / "_SUCCESS").write_bytes(b"")
    want = engine.decide(claims)  # claim ids missing: positions 1, 2, … in the whole frame
    for source in (tmp_path / "claims.parquet", folder):
        batches = list(claims_batches(source))
        assert len(batches) > 1
        got = pd.concat([engine.decide(b) for b in batches], ignore_index=True)
        pd.testing.assert_frame_equal(got.astype(object), want.astype(object))


def test_parquet_batches_shrink_with_the_block_size_as_csv_batches_do(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "PARQUET_ROWS", 100)
    claims = pd.DataFrame({"claim_id": [f"C{i}" for i in range(250)], "product_id": "x"})
    claims[["channel", "quantity"]] = ["retail", "60"]
    pq.write_table(pa.Table.from_pandas(claims, preserve_index=False), tmp_path / "c.parquet")
    quarter = sources.BLOCK_BYTES // 4  # as JSON's blocks are to CSV's
    assert [len(b) for b in claims_batches(tmp_path / "c.parquet")] == [100, 100, 50]
    assert [len(b) for b in claims_batches(tmp_path / "c.parquet", block_bytes=quarter)] == [
        25
    ] * 10


def test_parquet_numbers_and_dates_are_read_as_their_text(tmp_path, engine):
    pq.write_table(
        pa.table(
            {
                "Claim ID": pa.array([7, None], pa.int64()),
                "Product ID": pa.array(["imatinib-400mg-tab", ""]),
                "channel": pa.array(["retail", "retail"]).dictionary_encode(),
                "quantity": pa.array([120.0, 2.5]),
                "concomitant_drugs": pa.array(["Rifadin", None]),
            }
        ),
        tmp_path / "typed.parquet",
    )
    (claims,) = list(claims_batches(tmp_path / "typed.parquet"))
    assert claims[["claim_id", "channel", "quantity"]].values.tolist() == [
        ["7", "retail", "120"],
        ["2", "retail", "2.5"],
    ]
    assert claims["product_id"].isna().tolist() == [False, True]  # an empty text is none
    assert engine.decide(claims)["decision"].tolist() == ["override", "invalid"]


def test_parquet_out_holds_the_decisions_typed(engine):
    decided = engine.decide(read_claims_csv(mixed_claims(300)))
    out = io.BytesIO()
    writer = DecisionWriter(out, "parquet")
    writer.write(decided.iloc[:100])
    writer.write(decided.iloc[100:])
    writer.close()
    table = pq.read_table(io.BytesIO(out.getvalue()))
    assert table.schema == DECISION_SCHEMA
    assert table.num_rows == len(decided)
    assert table.column("approved_quantity").to_pylist() == [
        None if pd.isna(x) else float(x) for x in decided["approved_quantity"]
    ]
    assert table.column("reject_code").to_pylist() == [
        None if pd.isna(x) else int(x) for x in decided["reject_code"]
    ]
    assert table.column("decision").to_pylist()[:3] == ["approve", "invalid", "invalid"]


def test_json_numbers_are_whole_where_whole_in_every_batch(engine):
    data = (
        HEADER + "A,imatinib-400mg-tab,retail,2.5,,\nB,imatinib-400mg-tab,retail,60,,\n"
    ).encode()
    text = streamed(engine, data, "json", 40)
    assert text.endswith(b"]\n")
    assert [(d["quantity"], d["approved_quantity"], d["limit"]) for d in json.loads(text)] == [
        (2.5, 2.5, 60),
        (60, 60, 60),
    ]
    assert b'"quantity":60,' in text and b"60.0" not in text


def test_an_empty_file_of_claims_writes_an_empty_list_and_a_header():
    engine = Engine(Store(EXPORTS).load("oncology-dqm", 3))
    assert streamed(engine, HEADER.encode(), "json", 64) == b"[]\n"
    assert streamed(engine, HEADER.encode(), "csv", 64).startswith(b'"claim_id","product_id"')


def test_a_read_error_stops_after_the_batches_before_it_are_written():
    written: list[int] = []

    def batches():
        yield pd.DataFrame({"n": [1, 2]})
        yield pd.DataFrame({"n": [3]})
        raise ClaimsFileError("claims.csv is broken on line 5.")

    tally = Tally()
    with pytest.raises(ClaimsFileError, match="line 5"):
        decide_stream(batches(), lambda f: f, lambda f: written.extend(f["n"]), tally)
    assert written == [1, 2, 3] and tally.written == 3


def test_a_write_error_stops_the_reading():
    read: list[int] = []

    def batches():
        for i in range(1_000):
            read.append(i)
            yield pd.DataFrame({"n": [i]})

    def write(frame):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        decide_stream(batches(), lambda f: f, write)
    assert len(read) < 20


def test_batches_encoded_side_by_side_are_written_in_input_order():
    # The first batch takes longest to encode: the pool finishes the later ones first, and the
    # writer still writes batch after batch as they were read.
    def encode(frame):
        time.sleep(0.05 * (3 - frame["n"].iloc[0]))
        return list(frame["n"] * 10)

    written: list[int] = []
    batches = (pd.DataFrame({"n": [i, i]}) for i in range(4))
    tally = decide_stream(batches, lambda f: f, written.extend, encode=encode)
    assert written == [0, 0, 10, 10, 20, 20, 30, 30] and tally.written == 8


def test_an_encoding_error_stops_the_stream_after_the_batches_before_it():
    def encode(frame):
        if frame["n"].iloc[0] == 2:
            raise ValueError("cannot encode batch 2")
        return list(frame["n"])

    written: list[int] = []
    tally = Tally()
    batches = (pd.DataFrame({"n": [i]}) for i in range(1_000))
    with pytest.raises(ValueError, match="cannot encode batch 2"):
        decide_stream(batches, lambda f: f, written.extend, tally, encode=encode)
    assert written == [0, 1] and tally.written == 2 and tally.read < 20


def test_decide_streams_batches_on_the_command_line(dqm, tmp_path, monkeypatch, engine):
    monkeypatch.setattr(sources, "BLOCK_BYTES", 1_000)
    data = mixed_claims(3_000)
    (tmp_path / "claims.csv").write_bytes(data)
    ran = dqm("decide", tmp_path / "claims.csv", "--ruleset", V3)
    assert (ran.code, ran.err) == (0, "")
    assert ran.out_bytes == whole_file(engine, data, "csv")
    code, out, err = dqm(
        "decide", tmp_path / "claims.csv", "--ruleset", V3, "--output", tmp_path / "d.jsonl"
    )
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "d.jsonl").read_bytes() == whole_file(engine, data, "jsonl")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_parquet_in_and_out_on_the_command_line(dqm, tmp_path, engine):
    data = mixed_claims(500)
    claims = read_claims_csv(data).drop(columns=["row_problem"], errors="ignore")
    claims["claim_id"] = [f"P{i}" for i in range(len(claims))]
    pq.write_table(pa.Table.from_pandas(claims, preserve_index=False), tmp_path / "claims.parquet")
    code, out, err = dqm(
        "decide", tmp_path / "claims.parquet", "--ruleset", V3, "--output", tmp_path / "out.parquet"
    )
    assert (code, out, err) == (0, "", "")
    got = pq.read_table(tmp_path / "out.parquet")
    want = decisions_table(engine.decide(claims))  # "ten" has no number: null
    assert got.equals(want)


def test_a_truncated_parquet_file_is_one_line_and_leaves_no_output(dqm, tmp_path):
    claims = read_claims_csv(mixed_claims(200))
    pq.write_table(pa.Table.from_pandas(claims, preserve_index=False), tmp_path / "claims.parquet")
    whole = (tmp_path / "claims.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(whole[: len(whole) // 2])
    out = tmp_path / "decisions.csv"
    code, stdout, err = dqm("decide", tmp_path / "cut.parquet", "--ruleset", V3, "--output", out)
    assert (code, stdout) == (2, "")
    assert err == (
        f"dqm: {tmp_path / 'cut.parquet'} is not a complete Parquet file (Parquet magic bytes not "
        "found in footer. Either the file is corrupted or this is not a parquet file); it may "
        f"have been cut short while it was copied. Nothing was written to {out}.\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.parquet", "cut.parquet"]


def test_a_csv_that_breaks_half_way_says_where_and_keeps_whole_rows(dqm, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "BLOCK_BYTES", 4_096)
    good = "C,imatinib-400mg-tab,retail,60,,\n" * 2_000
    (tmp_path / "claims.csv").write_bytes(
        (HEADER + good).encode() + b"C,imatinib\xff\xfe,retail,60,,\n" + good.encode()
    )
    ran = dqm("decide", tmp_path / "claims.csv", "--ruleset", V3)
    assert ran.code == 2
    lines = ran.out_bytes.split(b"\n")
    assert lines[-1] == b"" and all(line.endswith(b',"oncology-dqm",3') for line in lines[1:-1])
    written = len(lines) - 2
    assert 0 < written <= 2_000
    assert ran.err == (
        f"dqm: {tmp_path / 'claims.csv'} is not UTF-8 text (byte 0xff on line 2002); save it as CSV "
        "UTF-8 (in Excel: File > Save As > CSV UTF-8), or name the encoding it was saved in with "
        f"--encoding (such as --encoding cp1252). Stopped there: the first {written:,} decisions "
        "were written.\n"
    )
    out = tmp_path / "decisions.csv"
    code, _, err = dqm("decide", tmp_path / "claims.csv", "--ruleset", V3, "--output", out)
    assert code == 2 and err.endswith(f"Nothing was written to {out}.\n")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_unwritable_output_is_one_line(dqm, tmp_path):
    (tmp_path / "claims.csv").write_text(HEADER + "C,imatinib-400mg-tab,retail,60,,\n")
    code, out, err = dqm(
        "decide", tmp_path / "claims.csv", "--ruleset", V3, "--output", tmp_path / "no" / "d.csv"
    )
    assert (code, out) == (2, "")
    assert err == (
        f"dqm: Cannot write {tmp_path / 'no' / 'd.csv'}: the folder {tmp_path / 'no'} does not "
        "exist.\n"
    )


def test_parquet_on_standard_input_is_refused_in_one_line(dqm, tmp_path):
    pq.write_table(
        pa.table({"product_id": ["x"], "channel": ["retail"], "quantity": ["1"]}),
        tmp_path / "c.parquet",
    )
    code, out, err = dqm(
        "decide", "-", "--ruleset", V3, stdin=(tmp_path / "c.parquet").read_bytes()
    )
    assert (code, out) == (2, "")
    assert err == (
        "dqm: Standard input is a Parquet file, which is read from a file or a folder: give its "
        "path.\n"
    )
