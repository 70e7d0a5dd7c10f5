"""The decision echoes the claim's quantity (contract, Decision: "quantity as given where it is not
a number"): a number where it is one, even out of range; the text exactly as given (untrimmed)
where it is not; null when missing. CSV, JSON and JSON lines carry the text; Parquet (typed, a
double) has null for it."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest

from compiler.api import load_engine, load_versions
from compiler.decide.claims import read_claims_csv
from compiler.decide.decisions import shown_decisions
from compiler.decide.engine import Engine
from compiler.decide.impact import changed_decisions
from compiler.decide.writer import write_decisions
from compiler.ruleset.store import load_file
from tests.fixtures.paths import EXPORTS

V3 = EXPORTS / "oncology-dqm" / "v3.json"
CLAIMS = (
    "claim_id,product_id,channel,quantity\n"
    "A,imatinib-400mg-tab,retail,1e20\n"
    "B,imatinib-400mg-tab,retail,ten\n"
    "C,imatinib-400mg-tab,retail, 60 \n"
    "D,imatinib-400mg-tab,retail,\n"
    "E,imatinib-400mg-tab,retail,0\n"
    "F,imatinib-400mg-tab,retail,2000000\n"
    "G,imatinib-400mg-tab,retail,+60\n"
    'H,imatinib-400mg-tab,retail," ten "\n'
    'I,imatinib-400mg-tab,retail,"  "\n'
    "J,imatinib-400mg-tab,retail,2.5\n"
)
# claim -> (quantity in JSON, decision, approved_quantity)
JSON_EXPECTED = {
    "A": ("1e20", "invalid", None),
    "B": ("ten", "invalid", None),
    "C": (60, "approve", 60),
    "D": (None, "invalid", None),
    "E": (0, "invalid", None),
    "F": (2000000, "invalid", None),
    "G": ("+60", "invalid", None),
    "H": (" ten ", "invalid", None),
    "I": (None, "invalid", None),
    "J": (2.5, "approve", 2.5),
}


@pytest.fixture
def claims(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(CLAIMS)
    return path


def decide(dqm, claims, fmt: str, *more) -> str:
    code, out, err = dqm("decide", claims, "--ruleset", str(V3), "--format", fmt, *more)
    assert (code, err) == (0, "")
    return out


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_json_echoes_a_quantity_that_is_not_a_number_as_a_string(dqm, claims, fmt):
    out = decide(dqm, claims, fmt)
    rows = json.loads(out) if fmt == "json" else [json.loads(line) for line in out.splitlines()]
    assert {
        r["claim_id"]: (r["quantity"], r["decision"], r["approved_quantity"]) for r in rows
    } == (JSON_EXPECTED)
    assert [type(r["quantity"]).__name__ for r in rows] == [
        "str", "str", "int", "NoneType", "int", "int", "str", "str", "NoneType", "float",
    ]  # fmt: skip
    assert '"quantity":"1e20",' in out and '"quantity":60,' in out and '"quantity":0,' in out


def test_csv_echoes_the_text_formula_safe(dqm, claims):
    out = decide(dqm, claims, "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["claim_id"], r["quantity"], r["decision"]) for r in rows] == [
        ("A", "1e20", "invalid"),
        ("B", "ten", "invalid"),
        ("C", "60", "approve"),
        ("D", "", "invalid"),
        ("E", "0", "invalid"),
        ("F", "2000000", "invalid"),
        ("G", "'+60", "invalid"),  # a spreadsheet would take +60 for a formula
        ("H", " ten ", "invalid"),
        ("I", "", "invalid"),
        ("J", "2.5", "approve"),
    ]
    # The quantity is always a text cell, so that a row is written alike whatever its neighbours
    # (a stream of batches writes one file's bytes); none is an empty cell.
    cells = [line.split(",")[4] for line in out.splitlines()[1:]]
    assert cells == [
        '"1e20"', '"ten"', '"60"', "", '"0"', '"2000000"', "\"'+60\"", '" ten "', "", '"2.5"',
    ]  # fmt: skip


def test_parquet_keeps_a_double_with_null_for_a_quantity_that_is_not_a_number(
    dqm, claims, tmp_path
):
    decide(dqm, claims, "parquet", "--output", tmp_path / "out.parquet")
    table = pq.read_table(tmp_path / "out.parquet")
    assert str(table.schema.field("quantity").type) == "double"
    assert dict(
        zip(table.column("claim_id").to_pylist(), table.column("quantity").to_pylist(), strict=True)
    ) == {
        "A": None,
        "B": None,
        "C": 60.0,
        "D": None,
        "E": 0.0,
        "F": 2000000.0,
        "G": None,
        "H": None,
        "I": None,
        "J": 2.5,
    }


def test_claims_decided_by_different_versions_echo_their_quantities_alike():
    versions = load_versions("oncology-dqm", EXPORTS)
    claims = read_claims_csv(
        b"claim_id,product_id,channel,quantity,date_of_service\n"
        b"v1,imatinib-400mg-tab,retail,ten,2024-01-02\n"
        b"v2,imatinib-400mg-tab,retail,60,2025-01-02\n"
        b"none,imatinib-400mg-tab,retail,+5,1999-01-01\n"
        b"v4,imatinib-400mg-tab,retail,2.5,2026-01-02\n"
    )
    out = io.BytesIO()
    write_decisions(versions.decide(claims), out, "jsonl")
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["claim_id"], r["quantity"], r["ruleset_version"]) for r in rows] == [
        ("v1", "ten", 1),
        ("v2", 60, 2),
        ("none", "+5", None),
        ("v4", 2.5, 4),
    ]


def test_one_claim_explained_echoes_its_quantity_as_given():
    row, steps = load_engine(str(V3)).explain(
        {"product_id": "imatinib-400mg-tab", "channel": "retail", "quantity": "ten"}
    )
    assert (row["quantity"], row["decision"]) == ("ten", "invalid")
    assert steps[-1] == "The claim is invalid: quantity 'ten' is not a number."


def test_a_page_shows_the_quantity_column_as_text_and_impact_as_numbers():
    engine = load_engine(str(V3))
    decided = engine.decide(read_claims_csv(CLAIMS.encode()))
    assert shown_decisions(decided)["quantity"].tolist() == [
        "1e20", "ten", "60", None, "0", "2000000", "+60", " ten ", None, "2.5",
    ]  # fmt: skip
    # A claim whose quantity is not a number is invalid under every ruleset, so never a change:
    # the changed claims keep a numeric quantity column (Parquet, Spark).
    lower = load_file(V3)
    for policy in lower["policies"]:
        for product in policy["products"]:
            product["retail_max_qty"] = 30
    changed = changed_decisions(decided, Engine(lower).decide(read_claims_csv(CLAIMS.encode())))
    assert changed[["claim_id", "quantity", "change"]].to_dict("records") == [
        {"claim_id": "C", "quantity": 60, "change": "approve → deny; approved 60 → 0"},
    ]
    assert str(changed["quantity"].dtype) == "Int64"
