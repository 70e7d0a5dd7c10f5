"""Reading claims files, friendly and hostile: a bad row stays and decides as invalid; a bad file
is refused with one clear line."""

from __future__ import annotations

import pandas as pd
import pytest

from compiler.api import load_engine
from compiler.decide.claims import ROW_PROBLEM, ClaimsFileError, claims_frame, read_claims_csv
from compiler.vocabulary import CLAIM_COLUMNS
from tests.fixtures.paths import EXPORTS

HEADER = b"claim_id,product_id,channel,quantity,concomitant_drugs,attested_criteria\n"


def refused(data: bytes) -> str:
    with pytest.raises(ClaimsFileError) as exc:
        read_claims_csv(data)
    assert "\n" not in str(exc.value)
    return str(exc.value)


def test_reads_contract_columns_as_text_in_file_order():
    frame = read_claims_csv(
        HEADER + b'C1,imatinib-400mg-tab,Retail,60,"lisinopril; rifampin",\n'
        b"C2,imatinib-100mg-tab,home_delivery,540,,\n"
    )
    assert list(frame.columns) == CLAIM_COLUMNS
    first = frame.iloc[0]
    assert first[
        ["claim_id", "product_id", "channel", "quantity", "concomitant_drugs"]
    ].tolist() == [
        "C1",
        "imatinib-400mg-tab",
        "Retail",
        "60",
        "lisinopril; rifampin",
    ]
    assert first[["ndc", "rxcui", "date_of_service"]].isna().all()  # not in this file
    assert pd.isna(first["attested_criteria"])
    assert frame["quantity"].tolist() == ["60", "540"]
    assert frame["concomitant_drugs"].isna().tolist() == [False, True]


def test_only_required_columns_and_header_variants():
    frame = read_claims_csv(b" Product ID ,CHANNEL,Quantity\nimatinib-400mg-tab,retail,5\n")
    assert frame["product_id"].tolist() == ["imatinib-400mg-tab"]
    assert frame["claim_id"].isna().all() and frame["attested_criteria"].isna().all()


def test_utf8_byte_order_mark_is_accepted():
    frame = read_claims_csv(
        b"\xef\xbb\xbf" + HEADER + b"C1,imatinib-400mg-tab,retail,60,St John\xe2\x80\x99s wort,\n"
    )
    assert frame["claim_id"].tolist() == ["C1"]
    assert frame["concomitant_drugs"].tolist() == ["St John’s wort"]


def test_extra_columns_are_ignored():
    frame = read_claims_csv(
        b"member,product_id,channel,quantity,note\nM1,imatinib-400mg-tab,retail,60,hi\n"
    )
    assert list(frame.columns) == CLAIM_COLUMNS
    assert frame["product_id"].tolist() == ["imatinib-400mg-tab"]


def test_blank_lines_are_skipped():
    frame = read_claims_csv(
        HEADER + b"C1,imatinib-400mg-tab,retail,60,,\n\n\nC2,imatinib-400mg-tab,retail,61,,\n"
    )
    assert frame["claim_id"].tolist() == ["C1", "C2"]


def test_header_only_file_has_no_claims():
    frame = read_claims_csv(HEADER)
    assert (len(frame), list(frame.columns)) == (0, CLAIM_COLUMNS)


def test_empty_file_is_refused():
    assert refused(b"") == (
        "The claims file is empty; it needs a header row (claim_id, member_id, product_id, ndc, "
        "rxcui, channel, quantity, date_of_service, concomitant_drugs, attested_criteria) and one row "
        "per claim."
    )
    assert refused(b"\xef\xbb\xbf \n\n").startswith("The claims file is empty")


@pytest.mark.parametrize(
    "delimiter, word", [(b";", "semicolons"), (b"\t", "tabs"), (b"|", "vertical bars")]
)
def test_other_delimiters_are_refused_by_name(delimiter, word):
    data = delimiter.join([b"claim_id", b"product_id", b"channel", b"quantity"]) + b"\n"
    data += delimiter.join([b"C1", b"imatinib-400mg-tab", b"retail", b"60"]) + b"\n"
    assert refused(data) == (
        f"The claims file separates its columns with {word}; dqm reads "
        "comma-separated CSV. Save it as CSV UTF-8 (Comma delimited)."
    )


def test_missing_product_id_column_is_refused():
    assert refused(b"claim_id,product,channel,quantity\nC1,x,retail,1\n") == (
        "The claims file has no product_id, ndc or rxcui column (its header row has: claim_id, "
        "product, channel, quantity); the header row must name channel, quantity and at least "
        "one of product_id, ndc and rxcui."
    )


def test_duplicate_column_is_refused():
    assert refused(b"product_id,channel,quantity,Quantity\nx,retail,1,2\n") == (
        "The claims file has two quantity columns; delete one."
    )


def test_non_utf8_file_is_refused_with_its_line():
    data = (
        HEADER
        + b"C1,imatinib-400mg-tab,retail,60,,\nC2,imatinib-400mg-tab,retail,60,Hip\xe9rico,\n"
    )
    assert refused(data) == (
        "The claims file is not UTF-8 text (byte 0xe9 on line 3); save it as "
        "CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)."
    )


def test_spreadsheet_is_refused():
    assert refused(b"PK\x03\x04rest-of-a-zip") == (
        "The claims file is a spreadsheet or zip file, not CSV text; in Excel use File > Save As > "
        "CSV UTF-8 (Comma delimited)."
    )


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(ClaimsFileError, match=r"nope\.csv: no such file\."):
        read_claims_csv(tmp_path / "nope.csv")


def test_row_with_too_many_fields_stays_and_decides_invalid():
    frame = read_claims_csv(
        HEADER + b"C1,imatinib-400mg-tab,retail,60,,\n"
        b"C2,imatinib-400mg-tab,retail,90,rifampin,x,extra\n"
        b"C3,imatinib-400mg-tab,retail\n"
    )
    assert frame["claim_id"].tolist() == ["C1", "C2", "C3"]
    assert frame[ROW_PROBLEM].tolist()[1] == (
        "line 3 has 7 fields but the header has 6; put double quotes around a value that contains a comma."
    )
    decided = load_engine("oncology-dqm", exports=str(EXPORTS)).decide(frame)
    assert decided["decision"].tolist() == ["approve", "invalid", "invalid"]
    assert decided["message"].tolist()[1:] == [
        "Invalid: line 3 has 7 fields but the header has 6; put double quotes around a value that "
        "contains a comma; attested criterion 'x' is not one of the ruleset's criteria.",
        "Invalid: line 4 has 3 fields but the header has 6; the row may have been cut short; "
        "quantity is missing.",
    ]


def test_quoted_line_break_is_read_as_one_value():
    frame = read_claims_csv(HEADER + b'C1,imatinib-400mg-tab,retail,60,"lisinopril\nrifampin",\n')
    assert frame["concomitant_drugs"].tolist() == ["lisinopril\nrifampin"]


def test_claims_frame_from_form_rows():
    frame = claims_frame(
        [
            {"product_id": "imatinib-400mg-tab", "channel": "Retail", "quantity": 60.0},
            {"product_id": "x", "channel": "retail", "quantity": 2.5, "concomitant_drugs": " "},
        ]
    )
    assert list(frame.columns) == CLAIM_COLUMNS
    assert frame["quantity"].tolist() == ["60", "2.5"]
    assert frame["concomitant_drugs"].isna().tolist() == [True, True]


def test_a_million_rows_with_some_bad_ones_decide_without_a_crash(tmp_path):
    good = b"C,imatinib-400mg-tab,retail,61,rifampin,\n"
    bad = [
        b"B,,retail,60,,\n",
        b"B,imatinib-400mg-tab,bike,60,,\n",
        b"B,imatinib-400mg-tab,retail,-1,,\n",
        b"B,imatinib-400mg-tab,retail,lots,,\n",
    ]
    body = bytearray(HEADER)
    for i in range(250_000):
        body += good * 3 + bad[i % 4]
    frame = read_claims_csv(bytes(body))
    assert len(frame) == 1_000_000
    decided = load_engine("oncology-dqm", exports=str(EXPORTS)).decide(frame)
    counts = decided["decision"].value_counts()
    assert (counts["override"], counts["invalid"]) == (750_000, 250_000)
    assert (
        decided["message"].iloc[3] == "Invalid: product is missing (give product_id, ndc or rxcui)."
    )
    assert decided["message"].iloc[15] == "Invalid: quantity 'lots' is not a number."


def test_windows_line_endings_and_quoted_headers():
    frame = read_claims_csv(
        b'"claim_id","product_id","channel","quantity"\r\n"C1","imatinib-400mg-tab","retail",60\r\n'
    )
    assert frame[["claim_id", "product_id", "channel", "quantity"]].iloc[0].tolist() == [
        "C1",
        "imatinib-400mg-tab",
        "retail",
        "60",
    ]


def test_decisions_csv_reads_back_as_claims(tmp_path):
    import io

    from compiler.decide.writer import write_decisions

    engine = load_engine("oncology-dqm", exports=str(EXPORTS))
    first = engine.decide(read_claims_csv(HEADER + b"C1,imatinib-400mg-tab,retail,120,Rifadin,\n"))
    sink = io.BytesIO()
    write_decisions(first, sink)
    again = engine.decide(read_claims_csv(sink.getvalue()))
    assert again["decision"].tolist() == ["deny"]  # the output has no concomitant_drugs column
    assert again["claim_id"].tolist() == ["C1"] and again["quantity"].tolist() == [120]
