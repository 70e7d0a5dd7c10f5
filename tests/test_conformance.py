"""The conformance vectors (compiler/conformance.py, `dqm conformance`): the checked-in files are
exactly what the engine gives now, and they cover what docs/consumers.md promises."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
import shutil
import unicodedata

import pytest

from compiler import conformance_words, names
from compiler.ruleset.store import Store
from tests.fixtures.paths import EXPORTS, ROOT

CONFORMANCE = ROOT / "conformance"
STORES = [EXPORTS, CONFORMANCE / "exports"]


def vectors(name: str) -> dict:
    return json.loads((CONFORMANCE / name).read_text())


def test_check_says_current_and_exits_0(dqm):
    # The checked-in vectors are a fresh regeneration, byte for byte, with no file left over
    # (conformance.check; the test below shows it names what is stale).
    assert dqm("conformance", "--check") == (
        0,
        "The conformance vectors in conformance/ are current.\n",
        "",
    )


def test_check_names_the_first_stale_value_and_exits_1(dqm, tmp_path):
    out = tmp_path / "conformance"
    out.mkdir()
    for name in ("normalisation.json", "hashes.json", "decisions-oncology-dqm.json"):
        shutil.copy(CONFORMANCE / name, out / name)
    data = json.loads((out / "normalisation.json").read_text())
    data["ndc"][0]["ndc"] = "47335047584"
    (out / "normalisation.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    code, stdout, err = dqm("conformance", "--exports", str(EXPORTS), "--out", str(out), "--check")
    assert (code, stdout) == (1, "")
    assert err == (
        f'dqm: {out}/normalisation.json is stale: .ndc[0].ndc is "47335047584", '
        '"47335047583" now; run dqm conformance to write them.\n'
    )


def test_writes_the_vectors_and_check_then_passes(dqm, tmp_path):
    out = tmp_path / "vectors"
    code, stdout, err = dqm("conformance", "--exports", str(EXPORTS), "--out", str(out))
    assert (code, err) == (0, "")
    assert stdout.splitlines() == [
        f"{out}/normalisation.json",
        f"{out}/drug-words.json",
        f"{out}/hashes.json",
        f"{out}/decisions-oncology-dqm.json",
    ]
    assert dqm("conformance", "--exports", str(EXPORTS), "--out", str(out), "--check").code == 0
    versions = json.loads((out / "decisions-oncology-dqm.json").read_text())["versions"]
    # Version files are named relative to the vectors' folder, wherever it is.
    assert (out / versions[0]["file"]).resolve() == EXPORTS / "oncology-dqm" / "v1.json"


def test_a_missing_exports_folder_is_one_line(dqm, tmp_path):
    code, _, err = dqm("conformance", "--exports", str(tmp_path / "nope"), "--check")
    assert (code, err) == (
        2,
        f"dqm: {tmp_path}/nope: no such folder (--exports names the exports folder).\n",
    )


def test_every_published_version_of_every_ruleset_has_cases():
    for root in STORES:
        store = Store(root)
        for ruleset_id in store.ruleset_ids():
            data = vectors(f"decisions-{ruleset_id}.json")
            decided_by = {d["ruleset_version"] for c in data["cases"] for d in c["decisions"] or []}
            assert set(store.versions(ruleset_id)) <= decided_by
            assert [v["version"] for v in data["versions"]] == store.versions(ruleset_id)
            assert data["compare"] == [
                c for c in data["cases"][0]["decisions"][0] if c != "message"
            ]


def all_decisions() -> list[tuple[dict, dict]]:
    return [
        (claim, decision)
        for name in ("decisions-oncology-dqm.json", "decisions-conformance-demo.json")
        for case in vectors(name)["cases"]
        if case["decisions"] is not None  # None: the case's history stops the run
        for claim, decision in zip(case["claims"], case["decisions"], strict=True)
    ]


def test_vectors_cover_every_decision_and_branch():
    pairs = all_decisions()
    decided = {d["decision"] for _, d in pairs}
    assert decided == {"approve", "override", "deny", "not_applicable", "invalid"}
    overrides = [d for _, d in pairs if d["decision"] == "override"]
    assert any(d["approved_quantity"] < d["quantity"] for d in overrides)  # capped
    assert any(d["approved_quantity"] == d["quantity"] for d in overrides)  # below the maximum
    assert any(d["matched_drugs"] is None for d in overrides)  # an attested criterion won
    approvals = [d for _, d in pairs if d["decision"] == "approve"]
    assert any(d["quantity"] == d["limit"] for d in approvals)  # exactly at the limit
    assert {d["channel"] for _, d in pairs} >= {"retail", "home_delivery", "mail", None}
    assert any(d["ruleset_version"] is None for _, d in pairs)  # no version in effect
    assert any(isinstance(d["limit"], float) for _, d in pairs)  # fractional limits
    assert {d["claim_id"] for _, d in pairs} >= {"1", "2", "3", "given-id"}


def test_the_tie_goes_to_the_criterion_id_that_sorts_first():
    case = next(
        c
        for c in vectors("decisions-conformance-demo.json")["cases"]
        if c["name"].startswith("tie at home delivery")
    )
    assert [
        (d["approved_quantity"], d["criterion_id"], d["approval_months"], d["matched_drugs"])
        for d in case["decisions"]
    ] == [
        (100, "attested-dose", 6, None),
        (120, "attested-dose", 6, None),
        (120, "attested-dose", 6, None),
    ]


def test_the_founding_policys_worked_examples():
    case = next(
        c
        for c in vectors("decisions-oncology-dqm.json")["cases"]
        if c["name"] == "the founding policy's worked examples"
    )
    assert [
        (d["decision"], d["approved_quantity"], d["reject_code"]) for d in case["decisions"]
    ] == [
        ("approve", 60, None),
        ("deny", 0, 76),
        ("override", 75, 76),
        ("override", 90, 76),
        ("override", 270, 76),
        ("deny", 0, 76),
    ]


def test_normalisation_vectors_hold_the_contracts_examples():
    data = vectors("normalisation.json")
    words = {c["text"]: c["words"] for c in data["drug_words"]}
    assert words["rifampin–isoniazid"] == "rifampin isoniazid"
    assert words["Tegretol®XR"] == "tegretol xr"
    assert words["Dilantin™"] == "dilantin"
    assert words["St John’s wort"] == words["St. John's Wort"] == "st johns wort"
    ndc = {c["text"]: c["ndc"] for c in data["ndc"]}
    assert (ndc["1234-5678-90"], ndc["12345-678-90"], ndc["12345-6789-1"]) == (
        "01234567890",
        "12345067890",
        "12345678901",
    )
    assert ndc["4733547583"] is None  # ten digits without hyphens: ambiguous
    quantity = {c["text"]: (c["quantity"], c["valid"]) for c in data["quantity"]}
    assert quantity["1000000"] == (1000000, True)
    assert quantity["1000000.5"] == (1000000.5, False)
    assert quantity["1e3"] == quantity["+5"] == quantity["６０"] == (None, False)


@pytest.mark.parametrize("document", ["tiny", "tiny-effective-on-latest-review"])
def test_the_guides_worked_hash_example_is_the_vectors(document):
    guide = (ROOT / "docs" / "consumers.md").read_text()
    entry = next(d for d in vectors("hashes.json")["documents"] if d["name"] == document)
    assert entry["content_sha256"] in guide
    if document == "tiny":
        assert entry["sha256"] in guide


# -- the guide's edges, each pinned by a vector (issue 21, item 9) --------------------------------


def case(ruleset_id: str, name: str) -> dict:
    return next(c for c in vectors(f"decisions-{ruleset_id}.json")["cases"] if c["name"] == name)


@pytest.mark.parametrize("ruleset_id", ["oncology-dqm", "conformance-demo"])
def test_a_product_id_of_only_whitespace_is_not_given(ruleset_id):
    # §3: its key is empty, so the codes alone name the product and the decision echoes theirs.
    found = case(ruleset_id, "product_id of only whitespace: not given")
    got = [(c.get("product_id"), d["product_id"], d["decision"]) for c, d in
           zip(found["claims"], found["decisions"], strict=True)]  # fmt: skip
    coded = {"oncology-dqm": "imatinib-100mg-tab", "conformance-demo": "alpha-10mg-tab"}
    assert got == [
        ("  ", None, "invalid"),  # nothing else names a product
        ("\t\u3000", None, "not_applicable"),  # an NDC no product has
        ("   ", coded[ruleset_id], "approve"),  # the code's product, its id echoed
    ]
    keys = {c["text"]: c["key"] for c in vectors("normalisation.json")["product_id"]}
    assert keys["  "] == keys["\t\u3000"] == ""


def test_whole_quantities_from_2_53_up_are_exact_integers_in_the_normalisation_vectors():
    text = (CONFORMANCE / "normalisation.json").read_text()
    quantity = {c["text"]: c["quantity"] for c in json.loads(text)["quantity"]}
    assert quantity["9007199254740993"] == 2**53  # the double it reads as
    assert quantity["100000000000000000000"] == 10**20
    assert quantity["1" + "0" * 25] == 10000000000000000905969664
    assert quantity["12345678901234567.5"] == 12345678901234568
    assert quantity["9" * 400] is None  # infinite: JSON has none
    assert all(
        type(q) is int
        for t, q in quantity.items()
        if re.fullmatch("[0-9]+", t.strip()) and len(t) < 400
    )
    assert "1e+20" not in text and "9007199254740992.0" not in text


def whole_floats(value) -> list:
    if isinstance(value, dict):
        return [f for v in value.values() for f in whole_floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in whole_floats(v)]
    return [value] if isinstance(value, float) and value.is_integer() else []


@pytest.mark.parametrize("ruleset_id", ["oncology-dqm", "conformance-demo"])
def test_whole_numbers_in_decisions_are_integers_however_large(ruleset_id):
    found = case(ruleset_id, "whole quantities from 2**53 up: exact integers")
    assert [d["quantity"] for d in found["decisions"]] == [
        2**53, 10**20, 10000000000000000905969664, 12345678901234568, None
    ]  # fmt: skip
    assert whole_floats(vectors(f"decisions-{ruleset_id}.json")) == []


def claims_csv(name: str) -> list | None:
    return next(c for c in vectors("normalisation.json")["claims_csv"] if c["name"] == name)[
        "claims"
    ]


def test_blank_records_are_skipped_and_take_no_position():
    # An empty line, spaces, a tab, "" and " " are blank; the default claim ids count claims only.
    claims = claims_csv("blank lines are skipped and take no position")
    assert [(c["claim_id"], c["quantity"]) for c in claims] == [
        ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4")
    ]  # fmt: skip
    # A line of commas (or of quoted empty fields) is a claim, every field missing; one with
    # fewer fields than the header is marked as one with more is (the reader has it invalid).
    claims = claims_csv("a line of commas is a claim")
    assert claims == [
        {"claim_id": "1", "product_id": "x", "channel": "retail", "quantity": "1"},
        {"claim_id": "2", "more_fields": True},
        {"claim_id": "3"},
        {"claim_id": "4", "more_fields": True},
        {"claim_id": "5", "product_id": "x", "channel": "retail", "quantity": "2"},
    ]


def test_two_columns_that_fold_to_one_field_refuse_the_file():
    assert claims_csv("refused: two columns fold to product_id") is None
    assert claims_csv("refused: two columns fold to channel") is None
    # Two ignored columns may share a name.
    assert claims_csv("header names folded; other columns ignored")[0]["product_id"] == "x"
    refused = [
        c["name"] for c in vectors("normalisation.json")["claims_csv"] if c["claims"] is None
    ]
    assert all(name.startswith("refused: ") for name in refused) and len(refused) == 10


CLAIMS_FILES = vectors("normalisation.json")["claims_csv"]


@pytest.mark.parametrize(
    "entry",
    [pytest.param(e, id=e["name"]) for e in CLAIMS_FILES],
)
def test_the_vectors_claims_files_are_read_as_dqm_decide_reads_them(entry, dqm, tmp_path):
    # Each file decided by the command: one decision per claim read, the same claim ids; a
    # refused file exits 2 with one line.
    path = tmp_path / "claims.csv"
    path.write_bytes(entry["csv"].encode())
    ran = dqm("decide", path, "--ruleset", "oncology-dqm", "--format", "jsonl")
    if entry["claims"] is None:
        assert (ran.code, ran.out, len(ran.err.splitlines())) == (2, "", 1)
    else:
        ids = [json.loads(line)["claim_id"] for line in ran.out.splitlines()]
        assert (ran.code, ids) == (0, [c["claim_id"] for c in entry["claims"]])


def test_hashes_say_what_each_text_is_the_hash_of():
    for entry in vectors("hashes.json")["documents"]:
        sha = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
        # canonical: the document without its sha256 member, which is what sha256 hashes.
        assert '"sha256": "' + entry["sha256"] not in entry["canonical"]
        assert sha(entry["canonical"]) == entry["sha256"] == entry["document"]["sha256"]
        # stored: the file as published; less its one sha256 line, the same bytes.
        line = f'  "sha256": "{entry["sha256"]}",\n'
        assert entry["stored"].replace(line, "") == entry["canonical"] != entry["stored"]
        assert sha(entry["content"]) == entry["content_sha256"]
    tiny = vectors("hashes.json")["documents"][0]
    guide = (ROOT / "docs" / "consumers.md").read_text()
    assert f"these {len(tiny['content'].encode())} bytes" in guide and tiny["content"] in guide
    assert "*without its `sha256` member*" in guide


def table() -> dict:
    return vectors("drug-words.json")


def test_the_drug_word_table_covers_every_code_point_once_in_order():
    data = table()
    assert data["unicode_version"] == unicodedata.unidata_version
    spans = [
        re.fullmatch(r"([0-9A-F]{4,6})(?:\.\.([0-9A-F]{4,6}))? (.+)", e) for e in data["entries"]
    ]
    assert all(spans)
    following = 0
    for m in spans:
        first, last = int(m[1], 16), int(m[2] or m[1], 16)
        assert first == following <= last
        assert m[3] in ("keep", "drop", "break", "hangul") or re.fullmatch(
            r"map( [0-9A-F]{4,6})+", m[3]
        )
        following = last + 1
    assert following == 0x110000
    assert "AC00..D7A3 hangul" in data["entries"] and "00BD map 0031 0020 0032" in data["entries"]


def test_the_table_gives_the_words_dqm_gives():
    words = conformance_words.table_words(table())
    rng = random.Random(21)
    assigned = [cp for cp in range(0x30000) if unicodedata.category(chr(cp)) not in ("Cn", "Co")]
    texts = [chr(cp) + "x" + chr(cp) for cp in range(0, 0x30000, 7)]
    texts += [
        "".join(chr(rng.choice(assigned)) for _ in range(rng.randint(1, 12))) for _ in range(4000)
    ]
    texts += [c["text"] for c in vectors("normalisation.json")["drug_words"]]
    assert [t for t in texts if words(t) != names.normalize(t)] == []


def test_the_guide_is_self_contained():
    # A downstream team has this repository only: every link in the guide stays inside it.
    guide = (ROOT / "docs" / "consumers.md").read_text()
    assert "WORKBOOK" not in guide and "shared/" not in guide
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", guide):
        assert not re.match(r"[a-z]+:", target), target
        path = (ROOT / "docs" / target).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), target


def test_whole_quantities_from_2_53_up_are_integers_in_csv_too(dqm, tmp_path):
    # §7: "in every output": the CSV quantity cell holds the same digits as JSON.
    quantities = ["9007199254740993", "100000000000000000000", "12345678901234567.5"]
    path = tmp_path / "claims.csv"
    path.write_text(
        "product_id,channel,quantity\n"
        + "".join(f"imatinib-400mg-tab,retail,{q}\n" for q in quantities)
    )
    ran = dqm("decide", path, "--ruleset", "oncology-dqm", "--format", "csv")
    cells = [row["quantity"] for row in csv.DictReader(io.StringIO(ran.out))]
    assert (ran.code, cells) == (
        0,
        ["9007199254740992", "100000000000000000000", "12345678901234568"],
    )
