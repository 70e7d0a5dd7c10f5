"""A NUL byte anywhere in a claims CSV (not only in its first bytes) refuses the file in one line
naming its line, on every channel: a file, standard input, the library's reader, and Spark; it was
decided and written raw into the decisions."""

from __future__ import annotations

import pytest

from compiler.decide.claims import ClaimsFileError, read_claims_csv
from tests.fixtures.paths import EXPORTS

V3 = EXPORTS / "oncology-dqm" / "v3.json"
ROWS = "".join(f"C{i},imatinib-400mg-tab,retail,60\n" for i in range(5000))
DATA = b"claim_id,product_id,channel,quantity\n" + ROWS.encode() + b"C5000,x,retail,6\x000\n"


def refusal(name) -> str:
    return (
        f"{name} holds a NUL byte on line 5002, so it is not CSV text (a UTF-16 export, or a "
        "binary file joined to it); save it as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8)."
    )


def test_a_nul_byte_past_the_first_64_kb_is_refused_naming_its_line(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_bytes(DATA)
    assert len(DATA) > 64 * 1024
    out = tmp_path / "decisions.csv"
    assert dqm("decide", claims, "--ruleset", V3, "--output", out) == (
        2,
        "",
        f"dqm: {refusal(claims)} Nothing was written to {out}.\n",
    )
    assert not out.exists()
    assert dqm("decide", "-", "--ruleset", V3, stdin=DATA) == (
        2,
        "",
        f"dqm: {refusal('Standard input')}\n",
    )
    with pytest.raises(ClaimsFileError) as exc:
        read_claims_csv(DATA)
    assert str(exc.value) == refusal("The claims file")


@pytest.mark.spark
def test_spark_refuses_it_in_the_same_words(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_bytes(DATA)
    out = tmp_path / "spark"
    assert dqm("decide", claims, "--ruleset", V3, "--spark", "local[2]", "--output", out) == (
        2,
        "",
        f"dqm: {refusal(claims)}\n",
    )


def test_lines_ended_by_a_carriage_return_alone_are_one_line_not_a_traceback(dqm, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_bytes(b"claim_id,product_id,channel,quantity\rA,imatinib-400mg-tab,retail,60\r")
    said = (
        "ends its lines with a carriage return alone (an old Mac format); dqm reads lines ended "
        "by LF or CRLF. Save it as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8).\n"
    )
    assert dqm("decide", claims, "--ruleset", V3) == (2, "", f"dqm: {claims} {said}")
    assert dqm("decide", "-", "--ruleset", V3, stdin=claims.read_bytes()) == (
        2,
        "",
        f"dqm: Standard input {said}",
    )
