"""How `dqm decide` and `dqm impact` read a pharmacy's claims file: columns the contract does not
know named in one short line, `--column THEIRS=OURS`, `--encoding`, a row cut short, the version
that decided a file without dates, a quote left open, a cell over the size limit, and a claims path
or standard stream that cannot be used: each one line, never a traceback."""

from __future__ import annotations

import csv
import io

import pytest

from compiler.decide.csvtext import ignored_columns_note
from compiler.decide.sources import claims_batches
from tests.fixtures.paths import EXPORTS

V3 = EXPORTS / "oncology-dqm" / "v3.json"
LATEST = "dqm: the claims have no date_of_service column, so every claim was decided by the latest version, v4 (in effect from 2025-12-08).\n"


def write(tmp_path, content: str | bytes, name: str = "claims.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def rows(out: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(out)))


# -- 1. columns the contract does not know ------------------------------------------------------


def test_unknown_columns_are_named_on_standard_error(dqm, tmp_path):
    claims = write(
        tmp_path,
        "claim_id,product_id,channel,quantity,fill_date,pharmacy_npi\n"
        "C1,imatinib-400mg-tab,retail,60,2026-01-01,123\n",
    )
    ran = dqm("decide", claims, "--ruleset", V3)
    assert ran.code == 0
    assert ran.err == (
        "dqm: ignored column(s) not in the claims contract: fill_date, pharmacy_npi.\n"
    )
    ran = dqm("impact", "oncology-dqm", "3", "4", claims)
    assert ran.code == 0
    assert ran.err == (
        "dqm: ignored column(s) not in the claims contract: fill_date, pharmacy_npi.\n"
    )


def test_a_million_unknown_columns_are_one_short_line(dqm, tmp_path):
    header = "claim_id,product_id,channel,quantity," + ",".join(f"x{i}" for i in range(1_000_000))
    claims = write(tmp_path, header + "\nC1,imatinib-400mg-tab,retail,60\n")
    ran = dqm("decide", claims, "--ruleset", V3)
    assert ran.err == (
        "dqm: ignored column(s) not in the claims contract: x0, x1, x2, x3, x4 and 999,995 more.\n"
    )


def test_the_note_keeps_long_and_blank_names_short():
    assert ignored_columns_note([]) is None
    assert ignored_columns_note(["n" * 500, ""]) == (
        "ignored column(s) not in the claims contract: " + "n" * 39 + "…, (a column with no name)."
    )


# -- 2. --column THEIRS=ours ----------------------------------------------------------------------

EXPORT = (
    "rx,ndc_code,Channel,qty,fill_date,drugs\n"
    "R1,,retail,120,2024-06-01,Rifadin\n"
    "R2,,retail,61,2026-12-10,\n"
)


def test_column_maps_a_pharmacy_export_onto_the_contract(dqm, tmp_path):
    claims = write(tmp_path, EXPORT.replace(",,", ",imatinib-400mg-tab,"))
    ran = dqm(
        "decide",
        claims,
        "--ruleset",
        "oncology-dqm",
        "--column",
        "rx=claim_id",
        "--column",
        "ndc_code=product_id",
        "--column",
        "qty=quantity",
        "--column",
        "Fill Date=date_of_service",
        "--column",
        "drugs=concomitant_drugs",
    )
    assert (ran.code, ran.err) == (0, "")
    got = [
        (r["claim_id"], r["date_of_service"], r["decision"], r["ruleset_version"])
        for r in rows(ran.out)
    ]
    assert got == [("R1", "2024-06-01", "override", "1"), ("R2", "2026-12-10", "deny", "4")]


def test_column_works_for_parquet_and_impact(dqm, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "claims.parquet"
    pq.write_table(
        pa.table(
            {
                "rx": ["R1"],
                "product_id": ["imatinib-400mg-tab"],
                "channel": ["retail"],
                "qty": [120],
            }
        ),
        path,
    )
    ran = dqm("decide", path, "--ruleset", V3, "--column", "qty=quantity", "--format", "jsonl")
    assert (ran.code, ran.err) == (0, "dqm: ignored column(s) not in the claims contract: rx.\n")
    assert '"quantity":120' in ran.out and '"decision":"deny"' in ran.out
    ran = dqm("impact", "oncology-dqm", "3", "4", path, "--column", "qty=quantity")
    assert ran.code == 0
    assert "deny → deny       1" in ran.out  # the quantity read from qty: 120 is over 60


def test_column_onto_a_column_the_contract_lacks_is_refused(dqm, tmp_path):
    claims = write(tmp_path, EXPORT)
    ran = dqm("decide", claims, "--ruleset", V3, "--column", "qty=qnty")
    assert (ran.code, ran.out) == (2, "")
    assert ran.err == (
        "dqm: --column qty=qnty: qnty is not a column of the claims contract; map onto one of "
        "claim_id, member_id, product_id, ndc, rxcui, channel, quantity, date_of_service, "
        "concomitant_drugs, attested_criteria.\n"
    )
    ran = dqm("impact", "oncology-dqm", "3", "4", claims, "--column", "qty")
    assert (ran.code, ran.out) == (2, "")
    assert ran.err.startswith("dqm: --column qty: write the file's column name, =,")


def test_column_the_file_does_not_have_is_refused(dqm, tmp_path):
    claims = write(tmp_path, EXPORT)
    out = tmp_path / "d.csv"
    ran = dqm("decide", claims, "--ruleset", V3, "--column", "amount=quantity", "--output", out)
    assert (ran.code, ran.out) == (2, "")
    assert ran.err == (
        f"dqm: {claims} has no column amount to read as quantity (--column amount=quantity); "
        f"its columns are rx, ndc_code, Channel, qty, fill_date and 1 more. Nothing was written "
        f"to {out}.\n"
    )
    assert not out.exists()


# -- 3. --encoding ------------------------------------------------------------------------------

LATIN = "claim_id,product_id,channel,quantity,concomitant_drugs\nC1,imatinib-400mg-tab,retail,120,Rifadin café\n"


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_encoding_reads_a_csv_saved_in_it(dqm, tmp_path, encoding):
    claims = write(tmp_path, LATIN.encode(encoding))
    ran = dqm("decide", claims, "--ruleset", V3, "--encoding", encoding)
    assert (ran.code, ran.err) == (0, "")
    assert rows(ran.out)[0]["matched_drugs"] == "Rifadin café"


def test_encoding_reads_utf16_from_standard_input(dqm):
    ran = dqm("decide", "-", "--ruleset", V3, "--encoding", "utf-16", stdin=LATIN.encode("utf-16"))
    assert (ran.code, ran.err) == (0, "")
    assert rows(ran.out)[0]["decision"] == "override"


def test_utf8_refusal_names_encoding_as_the_way_out(dqm, tmp_path):
    claims = write(tmp_path, LATIN.encode("cp1252"))
    ran = dqm("decide", claims, "--ruleset", V3)
    assert (ran.code, ran.out) == (2, "")
    assert ran.err == (
        f"dqm: {claims} is not UTF-8 text (byte 0xe9 on line 2); save it as CSV UTF-8 (in Excel: "
        "File > Save As > CSV UTF-8), or name the encoding it was saved in with --encoding (such "
        "as --encoding cp1252).\n"
    )


def test_unknown_encoding_is_one_line(dqm, tmp_path):
    claims = write(tmp_path, LATIN)
    for name in ("klingon", "base64"):
        ran = dqm("decide", claims, "--ruleset", V3, "--encoding", name)
        assert (ran.code, ran.out) == (2, "")
        assert ran.err == (
            f"dqm: --encoding {name}: no such text encoding; name one such as cp1252, latin-1 or "
            "utf-16.\n"
        )


def test_a_byte_not_in_the_named_encoding_names_its_line(dqm, tmp_path):
    claims = write(tmp_path, LATIN.encode() + b"C2,imatinib-400mg-tab,retail,60,\x81\n")
    ran = dqm("decide", claims, "--ruleset", V3, "--encoding", "cp1252")
    assert ran.code == 2
    assert ran.err.endswith(
        f"dqm: {claims} is not cp1252 text (byte 0x81 on line 3); name the encoding it was saved "
        "in with --encoding.\n"
    )


# -- 4. a row cut short -------------------------------------------------------------------------


def test_a_row_cut_short_names_its_line(dqm, tmp_path):
    claims = write(
        tmp_path,
        "claim_id,product_id,channel,quantity,concomitant_drugs\n"
        "C1,imatinib-400mg-tab,retail,60,\n"
        "C2,imatinib-400mg-tab,retail\n"
        "C3,imatinib-400mg-tab,retail,60,rifampin,x\n",
    )
    ran = dqm("decide", claims, "--ruleset", V3)
    assert ran.code == 0
    assert [r["message"] for r in rows(ran.out)][1:] == [
        "Invalid: line 3 has 3 fields but the header has 5; the row may have been cut short; "
        "quantity is missing.",
        "Invalid: line 4 has 6 fields but the header has 5; put double quotes around a value "
        "that contains a comma.",
    ]


# -- 5. the version that decided a file without dates -------------------------------------------


def test_claims_without_dates_say_which_version_decided(dqm, tmp_path):
    claims = write(tmp_path, "product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    ran = dqm("decide", claims, "--ruleset", "oncology-dqm")
    assert (ran.code, ran.err) == (0, LATEST)
    assert rows(ran.out)[0]["ruleset_version"] == "4"
    for chosen in (["--version", "3"], ["--as-of", "2024-06-01"]):  # chosen: nothing to say
        assert dqm("decide", claims, "--ruleset", "oncology-dqm", *chosen).err == ""
    dated = write(
        tmp_path,
        "product_id,channel,quantity,date_of_service\nimatinib-400mg-tab,retail,60,\n",
        "d.csv",
    )
    assert dqm("decide", dated, "--ruleset", "oncology-dqm").err == ""


# -- 6. a quote left open; a cell over the limit ------------------------------------------------


def open_quote_file(tmp_path):
    lines = ["claim_id,product_id,channel,quantity,concomitant_drugs"] + [
        f"C{i},imatinib-400mg-tab,retail,60," for i in range(1, 1_001)
    ]
    lines[3] = 'C3,imatinib-400mg-tab,retail,120,"Rifadin'
    return write(tmp_path, "\n".join(lines) + "\n")


OPEN = '{} opens a quoted value (") that is never closed, so the rest of the file would be read as one value; close the quote, or remove it.'


def test_a_quote_left_open_is_refused_naming_its_line(dqm, tmp_path):
    claims = open_quote_file(tmp_path)
    ran = dqm("decide", claims, "--ruleset", V3)
    assert (ran.code, ran.out) == (2, "")
    assert ran.err == f"dqm: {claims}: {OPEN.format('line 4')}\n"
    out = tmp_path / "d.parquet"
    ran = dqm("impact", "oncology-dqm", "3", "4", claims, "--output", out)
    assert (ran.code, ran.out) == (2, "")
    assert not out.exists()


def test_a_quote_left_open_in_a_later_batch_is_refused_there(dqm, tmp_path, monkeypatch):
    from compiler.decide import sources

    monkeypatch.setattr(sources, "BLOCK_BYTES", 4_096)
    claims = open_quote_file(tmp_path)
    data = claims.read_bytes().replace(b'"Rifadin', b"Rifadin").rstrip(b"\n").split(b"\n")
    data[900] = b'C900,imatinib-400mg-tab,retail,120,"Rifadin'
    claims.write_bytes(b"\n".join(data) + b"\n")
    out = tmp_path / "d.csv"
    ran = dqm("decide", claims, "--ruleset", V3, "--output", out)
    assert ran.err == f"dqm: {claims}: {OPEN.format('line 901')} Nothing was written to {out}.\n"


def test_a_lone_quote_inside_a_value_is_no_open_quote(dqm, tmp_path):
    claims = write(
        tmp_path,
        'claim_id,product_id,channel,quantity,concomitant_drugs\nC1,imatinib-400mg-tab,retail,60,5" tab\n',
    )
    ran = dqm("decide", claims, "--ruleset", V3)
    assert (ran.code, ran.err) == (0, "")


@pytest.mark.parametrize("size", [1_000_001, 3 << 20])
def test_a_cell_over_the_limit_is_refused_in_one_line(dqm, tmp_path, size):
    claims = write(
        tmp_path,
        "claim_id,product_id,channel,quantity,concomitant_drugs\n"
        "C1,imatinib-400mg-tab,retail,60,\n"
        f'C2,imatinib-400mg-tab,retail,60,"{"x" * size}"\n',
    )
    ran = dqm("decide", claims, "--ruleset", V3)
    assert (ran.code, ran.out) == (2, "")
    assert ran.err == (
        f"dqm: {claims}: line 3 holds a value of more than 1,000,000 characters, the most a "
        "claims cell holds (about 1 MB); is a quote left open?\n"
    )


def test_a_long_record_under_the_limit_is_read(tmp_path):
    big = "y" * 900_000
    data = (
        "claim_id,product_id,channel,quantity,concomitant_drugs,notes\n"
        f'C1,imatinib-400mg-tab,retail,60,"{big}","{big}"\n'
    ).encode()
    (table,) = claims_batches(io.BytesIO(data), "c.csv", tables=True)
    assert table["concomitant_drugs"].to_pylist() == [big]


# -- 7. paths and streams that cannot be used ---------------------------------------------------


def test_a_symlink_loop_is_one_line(dqm, tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for extra in ([], ["--output", tmp_path / "d.csv"]):
        ran = dqm("decide", tmp_path / "a", "--ruleset", V3, *extra)
        assert (ran.code, ran.out) == (2, "")
        assert ran.err.startswith(
            f"dqm: Cannot read {tmp_path / 'a'}: Too many levels of symbolic links."
        )
    ran = dqm("impact", "oncology-dqm", "3", "4", tmp_path / "a")
    assert ran.code == 2 and ran.err.count("\n") == 1


def test_closed_standard_input_and_output_are_one_line(dqm_process, tmp_path):
    claims = write(tmp_path, "product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    closed_in = dqm_process("decide", "-", "--ruleset", V3, wrap=["bash", "-c", '"$0" "$@" <&-'])
    assert (closed_in.code, closed_in.err) == (
        2,
        "dqm: Standard input is closed, so there are no claims to read from it; give the claims "
        "file's path, or pipe the claims into dqm decide -.\n",
    )
    closed_out = dqm_process(
        "decide", claims, "--ruleset", V3, wrap=["bash", "-c", '"$0" "$@" >&-']
    )
    assert (closed_out.code, closed_out.err) == (
        2,
        "dqm: Standard output is closed, so the decisions cannot be written there; give --output "
        "PATH, or redirect standard output to a file.\n",
    )
    fine = dqm_process(
        "decide",
        claims,
        "--ruleset",
        V3,
        "--output",
        tmp_path / "d.csv",
        wrap=["bash", "-c", '"$0" "$@" >&-'],
    )
    assert (fine.code, fine.err) == (0, "")
    impact = dqm_process(
        "impact", "oncology-dqm", "3", "4", claims, wrap=["bash", "-c", '"$0" "$@" >&-']
    )
    assert (impact.code, impact.err) == (
        2,
        "dqm: Standard output is closed, so the comparison cannot be written there; redirect "
        "standard output to a file.\n",
    )
