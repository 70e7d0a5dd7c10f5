"""`dqm decide`: CSV in, CSV or JSON out; hostile files and tampered versions get one line and a
non-zero exit, never a traceback."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json

import pytest

from tests.fixtures.paths import EXPORTS

V3 = EXPORTS / "oncology-dqm" / "v3.json"
# What dqm decide says of claims without dates, decided by a ruleset of more than one version.
LATEST = (
    "dqm: the claims have no date_of_service column, so every claim was decided by the latest "
    "version, v4 (in effect from 2025-12-08).\n"
)
HEADER = "claim_id,product_id,channel,quantity,concomitant_drugs,attested_criteria\n"
EXAMPLES = HEADER + (
    "E1,imatinib-400mg-tab,Retail,60,,\n"
    "E2,imatinib-400mg-tab,retail,61,,\n"
    "E3,imatinib-400mg-tab,retail,75,rifampin,\n"
    "E4,imatinib-400mg-tab,retail,120,Rifadin,\n"
    "E5,imatinib-400mg-tab,Home Delivery,270,carbamazepine,\n"
    "E6,imatinib-100mg-tab,retail,181,rifampin,\n"
    "E7,imatinib-400mg-tab,retail,ten,,\n"
)


@pytest.fixture
def claims_file(tmp_path):
    def write(content: str | bytes, name="claims.csv"):
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


def test_decide_csv_reproduces_the_worked_examples(dqm, claims_file):
    code, out, err = dqm("decide", claims_file(EXAMPLES), "--ruleset", "oncology-dqm")
    assert (code, err) == (0, LATEST)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [
        (
            r["claim_id"],
            r["decision"],
            r["approved_quantity"],
            r["limit"],
            r["reject_code"],
            r["matched_drugs"],
            r["approval_months"],
        )
        for r in rows
    ] == [
        ("E1", "approve", "60", "60", "", "", ""),
        ("E2", "deny", "0", "60", "76", "", ""),
        ("E3", "override", "75", "60", "76", "rifampin", "12"),
        ("E4", "override", "90", "60", "76", "Rifadin", "12"),
        ("E5", "override", "270", "180", "76", "carbamazepine", "12"),
        ("E6", "deny", "0", "180", "76", "", ""),
        ("E7", "invalid", "", "", "", "", ""),
    ]
    assert out.splitlines()[0] == (
        '"claim_id","product_id","policy_id","channel","quantity","date_of_service","decision",'
        '"approved_quantity","member_id","limit","accumulated_quantity","period_days",'
        '"criterion_id","matched_drugs","reject_code","approval_months","message","ruleset_id",'
        '"ruleset_version"'
    )
    assert rows[6]["message"] == "Invalid: quantity 'ten' is not a number."
    # No date of service: the latest version decides.
    assert {(r["ruleset_id"], r["ruleset_version"]) for r in rows} == {("oncology-dqm", "4")}


def test_decide_json_is_a_list_of_objects_with_numbers(dqm, claims_file):
    code, out, _ = dqm("decide", claims_file(EXAMPLES), "--ruleset", str(V3), "--format", "json")
    decided = json.loads(out)
    assert code == 0 and len(decided) == 7
    assert decided[3] == {
        "claim_id": "E4",
        "product_id": "imatinib-400mg-tab",
        "policy_id": "imatinib-per-rx",
        "channel": "retail",
        "quantity": 120,
        "date_of_service": None,
        "decision": "override",
        "approved_quantity": 90,
        "member_id": None,
        "limit": 60,
        "accumulated_quantity": None,
        "period_days": None,
        "criterion_id": "strong-cyp3a4-inducer",
        "matched_drugs": "Rifadin",
        "reject_code": 76,
        "approval_months": 12,
        "message": "Over the Retail limit of 60 tablets per Rx, but patient is taking a strong "
        "cytochrome P450 (CYP)3A4 inducer: rejects with code 76; 90 tablets (the most this "
        "override allows) are approvable on coverage review for 12 months.",
        "ruleset_id": "oncology-dqm",
        "ruleset_version": 3,
    }
    assert decided[0]["reject_code"] is None and decided[6]["quantity"] == "ten"  # as given


def test_decide_with_an_earlier_version(dqm, claims_file):
    code, out, _ = dqm(
        "decide",
        claims_file(EXAMPLES),
        "--ruleset",
        "oncology-dqm",
        "--version",
        "v1",
        "--format",
        "json",
    )
    assert code == 0 and {d["ruleset_version"] for d in json.loads(out)} == {1}


def test_decide_reads_standard_input(dqm):
    code, out, _ = dqm(
        "decide", "-", "--ruleset", "oncology-dqm", "--format", "json", stdin=EXAMPLES.encode()
    )
    assert code == 0 and [d["decision"] for d in json.loads(out)][:2] == ["approve", "deny"]


def test_decide_accepts_bom_and_ignores_extra_columns(dqm, claims_file):
    path = claims_file(
        b"\xef\xbb\xbfmember,product_id,channel,quantity,pharmacy\nM1,imatinib-400mg-tab,retail,61,P\n"
    )
    code, out, _ = dqm("decide", path, "--ruleset", "oncology-dqm", "--format", "json")
    assert code == 0
    assert [(d["claim_id"], d["decision"]) for d in json.loads(out)] == [("1", "deny")]


def test_decide_refuses_a_tampered_version_file(dqm, claims_file, tmp_path):
    doc = json.loads(V3.read_text())
    doc["policies"][0]["products"][1]["retail_max_qty"] = 600
    tampered = tmp_path / "v3.json"
    tampered.write_text(json.dumps(doc, indent=2))
    code, out, err = dqm("decide", claims_file(EXAMPLES), "--ruleset", tampered)
    assert (code, out) == (2, "")
    assert err == (
        f"dqm: {tampered} has been changed since it was published (its sha256 does not "
        "match its content). Restore it from version control; never edit exports by hand.\n"
    )


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"",
            (
                "is empty; it needs a header row (claim_id, member_id, product_id, ndc, rxcui, "
                "channel, quantity, date_of_service, concomitant_drugs, attested_criteria) and one row per "
                "claim."
            ),
        ),
        (
            b"claim_id;product_id;channel;quantity\nC1;imatinib-400mg-tab;retail;60\n",
            (
                "separates its columns with semicolons; dqm reads comma-separated CSV. Save it as CSV UTF-8 "
                "(Comma delimited)."
            ),
        ),
        (
            b"claim_id\tproduct_id\tchannel\tquantity\nC1\timatinib-400mg-tab\tretail\t60\n",
            "separates its columns with tabs; dqm reads comma-separated CSV. Save it as CSV UTF-8 (Comma delimited).",
        ),
        (
            b"claim_id,drug,channel,quantity\nC1,imatinib,retail,60\n",
            (
                "has no product_id, ndc or rxcui column (its header row has: claim_id, drug, "
                "channel, quantity); the header row must name channel, quantity and at least one "
                "of product_id, ndc and rxcui."
            ),
        ),
        (
            b"product_id,channel,quantity\nimatinib-400mg-tab,retail,60\nimatinib-400mg-tab,retail,6\xe9\n",
            (
                "is not UTF-8 text (byte 0xe9 on line 3); save it as CSV UTF-8 (in Excel: File > "
                "Save As > CSV UTF-8), or name the encoding it was saved in with --encoding (such "
                "as --encoding cp1252)."
            ),
        ),
        (
            b"PK\x03\x04\x14\x00\x06\x00",
            (
                "is a spreadsheet or zip file, not CSV text; in Excel use File > "
                "Save As > CSV UTF-8 (Comma delimited)."
            ),
        ),
    ],
)
def test_decide_refuses_a_malformed_file_in_one_line(dqm, claims_file, content, message):
    path = claims_file(content)
    assert dqm("decide", path, "--ruleset", "oncology-dqm") == (2, "", f"dqm: {path} {message}\n")


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope.csv", "--ruleset", "oncology-dqm"], "dqm: nope.csv: no such file.\n"),
        (
            ["CLAIMS", "--ruleset", "no-such"],
            "dqm: No published ruleset 'no-such' in exports/ (published: oncology-dqm).\n",
        ),
        (
            ["CLAIMS", "--ruleset", "oncology-dqm", "--version", "nine"],
            "dqm: 'nine' is not a version number; use 1, 2, … or v1, v2, … (or latest).\n",
        ),
        (
            ["CLAIMS", "--ruleset", "oncology-dqm", "--version", "7"],
            "dqm: Ruleset 'oncology-dqm' has no version 7; published: v1, v2, v3, v4.\n",
        ),
        (
            ["CLAIMS", "--ruleset", "missing.json"],
            "dqm: Cannot read missing.json: No such file or directory.\n",
        ),
    ],
)
def test_decide_bad_arguments_are_one_line(dqm, claims_file, args, message):
    path = claims_file(EXAMPLES)
    args = [str(path) if a == "CLAIMS" else a for a in args]
    assert dqm("decide", *args) == (2, "", message)


def test_decide_a_million_rows_with_bad_ones(dqm, claims_file):
    good = "C,imatinib-400mg-tab,retail,61,St John's wort,\n"
    bad = [
        "B,,retail,60,,\n",
        "B,imatinib-400mg-tab,bike,60,,\n",
        "B,imatinib-400mg-tab,retail,-1,,\n",
        "B,imatinib-400mg-tab,retail,60,,,,extra\n",
    ]
    path = claims_file(HEADER + "".join(good * 3 + bad[i % 4] for i in range(250_000)))
    ran = dqm("decide", path, "--ruleset", "oncology-dqm")
    assert (ran.code, ran.err) == (0, LATEST)
    out = ran.out_bytes  # counted as bytes: a million lines as str objects cost seconds
    assert out.count(b"\n") == 1_000_001
    # Each decision appears once per line (no message quotes one)
    assert out.count(b',"invalid",') == 250_000
    assert out.count(b',"override",') == 750_000
    assert (
        b'"Invalid: line 17 has 8 fields but the header has 6; put double quotes around a value that contains a comma."'
        in out.split(b"\n", 17)[16]
    )


def test_decide_into_a_closed_pipe_stops_quietly(claims_file, dqm_process):
    # A real process: only a real pipe, closed by its reader after one line (`dqm decide … | head -1`),
    # shows that the command stops quietly instead of printing BrokenPipeError.
    path = claims_file(HEADER + "C,imatinib-400mg-tab,retail,61,,\n" * 200_000)
    code, out, err = dqm_process("decide", path, "--ruleset", "oncology-dqm", head=1)
    assert out.startswith('"claim_id","product_id"')
    # The output was cut short: not a success, and not a traceback (nor the notes of a run that
    # did not finish).
    assert (code, err) == (1, "")


# -- by date of service -------------------------------------------------------------------------------

DATED = (
    "claim_id,ndc,product_id,channel,quantity,date_of_service\n"
    "before-v1,47335-475-83,,retail,66,2023-12-12\n"
    "v1,,imatinib-400mg-tab,retail,66,2024-06-01\n"
    "v2,,imatinib-400mg-tab,retail,66,2025-12-07\n"
    "v4,47335-475-83,,retail,66,2025-12-08\n"
    "day-before-v5,47335047583,,retail,66,20261231\n"
    "v5,47335-475-83,,retail,66,2027-01-01\n"
    "after-v5,,imatinib-400mg-tab,retail,66,2027-06-01\n"
    "no-date,,imatinib-400mg-tab,retail,66,\n"
    "bad-date,4733547583,,retail,66,2027-02-30\n"
)


@pytest.fixture
def raised(founding_rows, make_workbook, exports_copy, dqm):
    """Publish into the copied store a version that raises the 400 mg retail limit to `retail`
    (its override's cap 30 above), in effect from `effective`. Each workbook keeps the History
    rows published before it (History is an audit trail). Compile says exactly `said`: its
    warning at the Ruleset's Effective Date (in effect before the review that made it), and
    when the version takes effect."""
    history = copy.deepcopy(founding_rows["History"])

    def publish(
        version: int, retail: int, effective: dt.date, reviewed: dt.date, said: tuple[str, str]
    ) -> None:
        rows = copy.deepcopy(founding_rows)
        rows["Ruleset"][0][3] = effective
        rows["Limits"][1][4], rows["Overrides"][0][2] = retail, retail + 30
        rows["Tests"] = []
        history.append(["imatinib-per-rx", "Revision", f"Retail {retail}.", reviewed])
        rows["History"] = copy.deepcopy(history)
        rows["Policies"][0][3] = reviewed
        path = make_workbook(rows, f"v{version}.xlsx")
        warning, note = said
        out = f"{warning}\n{exports_copy / 'oncology-dqm' / f'v{version}.json'}\n"
        assert dqm("compile", path, "--exports", exports_copy) == (0, out, f"{note}\n")

    return publish


# What compile says of v5, in effect from 2027-01-01, reviewed 2027-01-05.
V5_SAID = (
    "WARNING Ruleset!D2 (found: '01/01/2027'): v5 takes effect on 01/01/2027, before its latest "
    "History Review Date (01/05/2027): it decides claims dated before the review that made it, "
    "from 01/01/2027 on. A correction may apply from an earlier date; if this is not one, clear "
    "this cell (v5 then takes effect on 01/05/2027), or type the date it takes effect.",
    "oncology-dqm v5 takes effect on 01/01/2027: claims dated from then on are decided by it (v4 "
    "decided them before).",
)


def by_date(dqm, claims_file, exports, *args) -> list[tuple[str, ...]]:
    code, out, err = dqm(
        "decide", claims_file(DATED), "--ruleset", "oncology-dqm", "--exports", exports, *args
    )
    assert (code, err) == (0, "")
    return [
        (r["claim_id"], r["product_id"], r["decision"], r["limit"], r["ruleset_version"])
        for r in csv.DictReader(io.StringIO(out))
    ]


def test_each_claim_is_decided_by_the_version_in_effect_on_its_date_of_service(
    dqm, claims_file, exports_copy, raised
):
    raised(5, 70, dt.date(2027, 1, 1), dt.date(2027, 1, 5), V5_SAID)  # in effect from 2027-01-01
    assert by_date(dqm, claims_file, exports_copy) == [
        ("before-v1", "", "not_applicable", "", ""),
        ("v1", "imatinib-400mg-tab", "deny", "60", "1"),
        ("v2", "imatinib-400mg-tab", "deny", "60", "2"),
        # v4 takes effect on v3's date, and is the higher number: v3 decides no date any more.
        ("v4", "imatinib-400mg-tab", "deny", "60", "4"),
        ("day-before-v5", "imatinib-400mg-tab", "deny", "60", "4"),
        ("v5", "imatinib-400mg-tab", "approve", "70", "5"),
        ("after-v5", "imatinib-400mg-tab", "approve", "70", "5"),
        ("no-date", "imatinib-400mg-tab", "approve", "70", "5"),
        ("bad-date", "", "invalid", "", "5"),
    ]


def test_a_correction_published_later_with_an_earlier_effective_date_supersedes(
    dqm, claims_file, exports_copy, raised
):
    raised(5, 70, dt.date(2027, 1, 1), dt.date(2027, 1, 5), V5_SAID)
    v6_said = (
        "WARNING Ruleset!D2 (found: '12/31/2026'): v6 takes effect on 12/31/2026, before its latest "
        "History Review Date (01/06/2027) and on or before v5's effective date (01/01/2027): it "
        "decides every claim dated from 12/31/2026 on, those v5 decided included. A correction "
        "may apply from an earlier date; if this is not one, clear this cell (v6 then takes "
        "effect on 01/06/2027), or type the date it takes effect.",
        "oncology-dqm v6 takes effect on 12/31/2026: claims dated from then on are decided by it "
        "(v4 and v5 decided them before).",
    )
    # v5 was wrong: 65, a day earlier
    raised(6, 65, dt.date(2026, 12, 31), dt.date(2027, 1, 6), v6_said)
    assert by_date(dqm, claims_file, exports_copy)[3:8] == [
        ("v4", "imatinib-400mg-tab", "deny", "60", "4"),
        ("day-before-v5", "imatinib-400mg-tab", "deny", "65", "6"),
        ("v5", "imatinib-400mg-tab", "deny", "65", "6"),
        ("after-v5", "imatinib-400mg-tab", "deny", "65", "6"),
        ("no-date", "imatinib-400mg-tab", "deny", "65", "6"),
    ]


def test_as_of_and_version_decide_every_claim_by_one_version(dqm, claims_file, exports_copy):
    as_of = by_date(dqm, claims_file, exports_copy, "--as-of", "20241217")
    assert {r[4] for r in as_of} == {"2"}
    # v2 lists no codes: a claim's NDC names its product through v4, which does, and v2's limit
    # decides it (codes across versions).
    assert [r[2] for r in as_of] == ["deny"] * 8 + ["invalid"]
    assert {r[4] for r in by_date(dqm, claims_file, exports_copy, "--version", "4")} == {"4"}
    code, out, _ = dqm("decide", claims_file(DATED), "--ruleset", V3)
    assert code == 0 and {r["ruleset_version"] for r in csv.DictReader(io.StringIO(out))} == {"3"}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--as-of", "2020-01-01"],
            "dqm: No version of oncology-dqm is in effect on 2020-01-01: the first, v1, takes "
            "effect on 2023-12-13.\n",
        ),
        (
            ["--as-of", "12/08/2025"],
            "dqm: --as-of '12/08/2025' is not a date; write it as YYYY-MM-DD or YYYYMMDD.\n",
        ),
    ],
)
def test_as_of_refuses_a_bad_date_in_one_line(dqm, claims_file, args, message):
    assert dqm("decide", claims_file(DATED), "--ruleset", "oncology-dqm", *args) == (
        2,
        "",
        message,
    )


def test_as_of_needs_a_ruleset_id_and_excludes_version(dqm, claims_file):
    path = claims_file(DATED)
    assert dqm("decide", path, "--ruleset", V3, "--as-of", "2025-12-08") == (
        2,
        "",
        f"dqm: --as-of chooses among a ruleset's published versions, but {V3} is one version "
        "file; give the ruleset's id (with --exports), or leave out --as-of.\n",
    )
    code, _, err = dqm(
        "decide", path, "--ruleset", "oncology-dqm", "--version", "3", "--as-of", "2025-12-08"
    )
    assert code == 2 and "argument --as-of: not allowed with argument --version" in err


def test_text_cells_that_a_spreadsheet_would_run_as_formulas_start_with_a_quote(dqm, claims_file):
    code, out, err = dqm(
        "decide",
        claims_file(
            HEADER + '"=HYPERLINK(""http://evil.test"",""x"")",imatinib-400mg-tab,retail,120,'
            "-rifampin,\n"
            "+1,@sum,retail,60,,\n"
            "C3,imatinib-400mg-tab,retail,60,,\n"
        ),
        "--ruleset",
        "oncology-dqm",
    )
    assert (code, err) == (0, LATEST)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["claim_id"], r["product_id"], r["matched_drugs"], r["decision"]) for r in rows] == [
        ('\'=HYPERLINK("http://evil.test","x")', "imatinib-400mg-tab", "'-rifampin", "override"),
        ("'+1", "'@sum", "", "not_applicable"),
        ("C3", "imatinib-400mg-tab", "", "approve"),
    ]
    # JSON is read by programs, never by a spreadsheet: values as given.
    code, out, _ = dqm(
        "decide",
        claims_file(HEADER + "=1+1,imatinib-400mg-tab,retail,60,,\n"),
        "--ruleset",
        "oncology-dqm",
        "--format",
        "json",
    )
    assert json.loads(out)[0]["claim_id"] == "=1+1"


NUL_BYTES = (
    "holds NUL bytes, so it is not CSV text (a UTF-16 file or a binary one); save it as CSV "
    "UTF-8 (in Excel: File > Save As > CSV UTF-8).\n"
)


def test_decide_of_an_endless_stream_of_zeros_is_refused_without_reading_it_all(dqm):
    # It read /dev/zero until the kernel killed it at 24 GB.
    assert dqm("decide", "/dev/zero", "--ruleset", "oncology-dqm") == (
        2,
        "",
        f"dqm: /dev/zero {NUL_BYTES}",
    )


def test_a_claims_file_over_the_byte_limit_is_refused_from_its_size(tmp_path):
    # The whole-file reader (the app, the library) holds a file in memory: it has a limit.
    # `dqm decide` streams its input in batches, so it needs none (see the test below).
    from compiler.decide.claims import ClaimsFileError, read_claims_csv

    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:  # sparse: 600 MB on paper, nothing on disk
        f.write(HEADER.encode())
        f.truncate(600_000_000)
    with pytest.raises(ClaimsFileError) as caught:
        read_claims_csv(path)
    assert str(caught.value) == (
        f"{path} is larger than 500 MB, the most dqm reads as claims at once; split it into "
        "smaller files."
    )


def test_a_sparse_file_of_zeros_is_refused_by_the_stream_from_its_first_block(dqm, tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.write(HEADER.encode())
        f.truncate(600_000_000)
    assert dqm("decide", path, "--ruleset", "oncology-dqm") == (2, "", f"dqm: {path} {NUL_BYTES}")


def test_standard_input_is_read_no_further_than_the_byte_limit(monkeypatch):
    from compiler.decide import claims

    monkeypatch.setattr(claims, "MAX_CLAIMS_BYTES", 1_000_000)
    endless = (HEADER + "C1,imatinib-400mg-tab,retail,60,,\n" * 40_000).encode()  # 1.4 MB
    with pytest.raises(claims.ClaimsFileError) as caught:
        claims.read_claims_csv(io.BytesIO(endless))
    assert str(caught.value) == (
        "Standard input is larger than 1 MB, the most dqm reads as claims at once; split it "
        "into smaller files."
    )
