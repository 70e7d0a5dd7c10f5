"""The Node.js consumer (examples/node-consumer), written from docs/consumers.md alone, agrees with
dqm: on every conformance vector, on the hashes of every published file, and with `dqm decide` on
100,000 seeded random claims full of edge cases. The node tier: without Node these are skipped,
and fail under scripts/test.sh (DQM_ALL_TIERS=1)."""

from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess

import pytest

from compiler.ruleset.integrity import content_sha256
from compiler.ruleset.sealing import canonical_bytes, seal
from compiler.vocabulary import CLAIM_COLUMNS, DECISION_COLUMNS
from tests.conftest import DQM
from tests.fixtures.paths import EXPORTS, ROOT, WORKBOOK

CONSUMER = ROOT / "examples" / "node-consumer" / "dqm-consumer.js"
DEMO_EXPORTS = ROOT / "conformance" / "exports"
COMPARED = [c for c in DECISION_COLUMNS if c != "message"]

pytestmark = pytest.mark.node


def node(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("node")
    assert exe is not None, "node is not installed: the Node consumer cannot be checked"
    return subprocess.run(
        [exe, str(CONSUMER), *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_node_agrees_on_every_conformance_vector():
    ran = node("conformance", "conformance")
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout.startswith("All ") and ran.stdout.endswith(" conformance checks agree.\n")


def test_node_finds_a_difference_in_the_vectors(tmp_path):
    out = tmp_path / "conformance"
    out.mkdir()
    for name in ("normalisation.json", "hashes.json"):
        data = json.loads((ROOT / "conformance" / name).read_text())
        if name == "hashes.json":  # only the worked examples: the published files are elsewhere
            data["files"] = []
        else:
            data["drug_words"][0]["words"] = "rifampicin"
        (out / name).write_text(json.dumps(data, ensure_ascii=False))
    shutil.copy(ROOT / "conformance" / "drug-words.json", out / "drug-words.json")
    ran = node("conformance", str(out))
    assert ran.returncode == 1
    assert ran.stderr.splitlines()[1] == '  words "rifampin": got "rifampin", expected "rifampicin"'


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_node_verifies_each_published_version_and_its_graph(version):
    folder = EXPORTS / "oncology-dqm"
    ran = node("verify", str(folder / f"v{version}.json"), str(folder / "index.json"))
    assert (ran.returncode, ran.stderr) == (0, "")
    assert ran.stdout == (
        f"{folder}/v{version}.json: oncology-dqm v{version}, sha256 and content_sha256 hold, "
        "as the index says.\n"
    )


def test_node_refuses_a_changed_version(tmp_path):
    text = (
        (EXPORTS / "oncology-dqm" / "v4.json")
        .read_text()
        .replace('"retail_max_qty": 60', '"retail_max_qty": 61')
    )
    (tmp_path / "v4.json").write_text(text)
    ran = node("verify", str(tmp_path / "v4.json"))
    assert ran.returncode == 1
    assert "sha256 does not match the file's bytes" in ran.stderr
    assert "content_sha256 is " in ran.stderr


# -- the guide's edges: both read and write them alike ----------------------------------------


UNDATED = "dqm: the claims have no date_of_service column, so every claim was decided by "


def both_decide(tmp_path, text: str, *more: str) -> tuple[list[dict], list[dict]]:
    """dqm's and the Node consumer's decisions on a claims CSV (oncology-dqm, by date)."""
    claims = tmp_path / "claims.csv"
    claims.write_bytes(text.encode())
    ours = subprocess.run(
        [DQM, "decide", str(claims), "--ruleset", "oncology-dqm", "--format", "jsonl", *more],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    theirs = node("decide", "--exports", str(EXPORTS), "--ruleset", "oncology-dqm", str(claims))
    # dqm notes claims without a date_of_service column (the latest version decides them all)
    notes = [n for n in ours.stderr.splitlines() if not n.startswith(UNDATED)]
    assert (ours.returncode, notes, theirs.returncode, theirs.stderr) == (0, [], 0, "")
    return [json.loads(x) for x in ours.stdout.splitlines()], [
        json.loads(x) for x in theirs.stdout.splitlines()
    ]


def same(ours: list[dict], theirs: list[dict]) -> list:
    """The fields that differ, in value or in kind (an int is not a float)."""
    return [
        (i, c, a[c], b[c])
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
        for c in COMPARED
        if a[c] != b[c] or type(a[c]) is not type(b[c])
    ]


def test_node_reads_blank_lines_blank_product_ids_and_commas_as_dqm_does(tmp_path):
    text = (
        "product_id,ndc,channel,quantity\n"
        '\n  \n""\n'  # blank: skipped, no position
        "  ,47335-475-83,retail,60\n"  # a product_id of only spaces: the NDC's product
        "\t,,retail,60\n"  # nothing names a product
        ",\n"  # a claim, every field missing
        '" ",\t\n'
        "imatinib-400mg-tab,,retail,60\n"
    )
    ours, theirs = both_decide(tmp_path, text)
    assert [(d["claim_id"], d["product_id"], d["decision"]) for d in ours] == [
        ("1", "imatinib-400mg-tab", "approve"),
        ("2", None, "invalid"),
        ("3", None, "invalid"),
        ("4", None, "invalid"),
        ("5", "imatinib-400mg-tab", "approve"),
    ]
    assert same(ours, theirs) == []


def test_node_writes_whole_quantities_from_2_53_up_as_integers_as_dqm_does(tmp_path):
    quantities = ["9007199254740993", "100000000000000000000", "1" + "0" * 25, "9" * 400]
    text = "product_id,channel,quantity\n" + "".join(
        f"imatinib-400mg-tab,retail,{q}\n" for q in quantities
    )
    ours, theirs = both_decide(tmp_path, text)
    assert [d["quantity"] for d in theirs] == [2**53, 10**20, 10000000000000000905969664, None]
    assert same(ours, theirs) == []


def test_node_refuses_the_claims_files_dqm_refuses(tmp_path):
    vectors = json.loads((ROOT / "conformance" / "normalisation.json").read_text())["claims_csv"]
    for entry in [e for e in vectors if e["claims"] is None]:
        claims = tmp_path / "claims.csv"
        claims.write_bytes(entry["csv"].encode())
        ran = node("decide", "--exports", str(EXPORTS), "--ruleset", "oncology-dqm", str(claims))
        assert (ran.returncode, ran.stdout) == (2, ""), entry["name"]
        assert ran.stderr.startswith("dqm-consumer: refused the claims file: "), entry["name"]


def test_node_finds_drug_words_by_the_table_not_its_own_unicode(tmp_path):
    # Characters Unicode 14.0 did not assign (dqm's) are letters to a newer runtime: by the table
    # they are breaks, so `rifampin` is still a word of the drug and the override is met.
    later = ["\U00031350", "\U0001e030", "\U00011f04"]  # assigned in Unicode 15.0
    text = "claim_id,product_id,channel,quantity,concomitant_drugs\n" + "".join(
        f"{i},imatinib-400mg-tab,retail,75,rifampin{ch}\n" for i, ch in enumerate(later)
    )
    ours, theirs = both_decide(tmp_path, text)
    assert {d["decision"] for d in ours} == {"override"}
    assert same(ours, theirs) == []


# -- 100,000 random claims ---------------------------------------------------------------------

ONCOLOGY = {
    "products": ["imatinib-400mg-tab", "imatinib-100mg-tab"],
    "limits": [60, 61, 90, 91, 120, 180, 181, 270, 271, 540, 541],
    "ndc": ["47335-475-83", "47335047583", "47335-0475-88", "47335-472-13", "47335047281"],
    "rxcui": ["403879", "0404589", "403878", "404588"],
    "criteria": ["strong-cyp3a4-inducer", "STRONG-CYP3A4-INDUCER"],
    "drugs": ["rifampin", "Rifadin", "rifampicin", "carbamazepine", "Tegretol", "Dilantin",
              "phenytoin", "St. John's Wort", "hypericum", "Decadron", "Mycobutin", "Priftin"],
    "dates": ["2023-12-12", "2023-12-13", "2024-12-16", "2024-12-17", "2025-12-07",
              "2025-12-08", "2026-12-01"],
}  # fmt: skip
DEMO = {
    "products": ["alpha-10mg-tab", "alpha-oral-solution", "beta-5mg-cap"],
    "limits": [7.5, 7.6, 10, 10.5, 11, 20, 22.5, 30, 31, 40, 45, 60, 90, 120, 121],
    "ndc": ["1234-5678-90", "01234567890", "12345-678-90", "12345-6789-1", "12345-6789-02"],
    "rxcui": ["1001", "0002002", "3003"],
    "criteria": ["attested-dose", "Attested-Dose", "inducer", "z-interacting"],
    "drugs": ["rifampin", "Ριφαμπικίνη", "Tegretol", "Phénobarbital", "Luminal", "hypericum",
              "St. John's Wort", "ketoconazole", "Nizoral"],
    "dates": ["2023-12-31", "2024-01-01", "2024-02-29", "2024-03-01", "2024-05-31", "2024-06-01",
              "2024-09-01"],
}  # fmt: skip
ODD_TEXT = ["", " ", "  \t", "x", "-", "=1+1", "a,b", 'say "hi"', "two\nlines", "é", "日本"]


def spelled(rng: random.Random, text: str) -> str:
    """An id or channel as a person might type it: other case, spaces around."""
    return rng.choice(
        [text, text.upper(), text.title(), f" {text} ", f"\t{text}", text.replace("-", "_")]
    )


def drug_text(rng: random.Random, names: list[str]) -> str:
    name = rng.choice([*names, "lisinopril", "metformin", "rifaximin", "rifampinx"])
    return rng.choice(
        [
            name,
            name.upper(),
            f"{name} 300 mg capsule",
            f"{name}–isoniazid",
            f"{name}®XR",
            f"{name}™",
            f"{name}→phenytoin",
            name.replace("'", "’"),
            name.replace("'", "ʼ"),
            name.replace("'", "‘"),
            name.replace("i", "í", 1),
            f"{name[:3]}\u00ad{name[3:]}",  # a soft hyphen inside the name: dropped
            f"{name[:2]}\u200b{name[2:]}",  # a zero-width space: dropped too
            f"ｘ{name}",
            f"{name}/{rng.choice(names)}",
        ]
    )


def random_claim(rng: random.Random, spec: dict) -> dict[str, str]:
    claim: dict[str, str] = {}
    if rng.random() < 0.3:
        claim["claim_id"] = rng.choice(["c1", "  ", "=HYPERLINK(1)", str(rng.randint(1, 99))])
    r = rng.random()
    if r < 0.6:
        claim["product_id"] = spelled(rng, rng.choice(spec["products"]))
    elif r < 0.7:
        claim["product_id"] = rng.choice(["unknown-product", "  ", "\t\u3000", "imatinib"])
    if rng.random() < 0.25:
        claim["ndc"] = rng.choice(
            [*spec["ndc"], "4733547583", "00000-0000-00", "12345-67-890", " 47335047583 ", "x"]
        )
    if rng.random() < 0.2:
        claim["rxcui"] = rng.choice([*spec["rxcui"], "999999", "12a", " 403879", "٤٠٣"])
    channel = rng.choice(["retail", "home_delivery", "Home Delivery", "home-delivery", "mail"])
    if rng.random() < 0.95:
        claim["channel"] = spelled(rng, channel)
    limit = rng.choice(spec["limits"])
    claim["quantity"] = rng.choice(
        [
            str(limit),
            str(limit + rng.choice([-1, 1, 0.5, 0.01])),
            f" {limit} ",
            f"{limit}.0",
            rng.choice(["0", "-5", "+5", "1e3", "1,000", ".5", "5.", "６０", "abc", "", "1000000",
                        "1000000.01", "0.001", "\t7\t"]),
        ]
    )  # fmt: skip
    if rng.random() < 0.7:
        day = rng.choice(spec["dates"])
        claim["date_of_service"] = rng.choice(
            [day, day.replace("-", ""), f" {day} ", "2024-02-30", "06/01/2024", "   "]
        )
    if rng.random() < 0.6:
        drugs = [drug_text(rng, spec["drugs"]) for _ in range(rng.randint(1, 3))]
        claim["concomitant_drugs"] = rng.choice(["; ", ";", " ;\t"]).join(drugs)
    if rng.random() < 0.25:
        picks = rng.sample([*spec["criteria"], "no-such-criterion"], rng.randint(1, 2))
        claim["attested_criteria"] = rng.choice([";", " ; "]).join(picks)
    if rng.random() < 0.02:
        claim[rng.choice(CLAIM_COLUMNS)] = rng.choice(ODD_TEXT)
    return {k: v for k, v in claim.items() if v != ""}


@pytest.mark.parametrize(
    ("ruleset", "exports", "spec", "count", "seed"),
    [
        ("oncology-dqm", EXPORTS, ONCOLOGY, 60_000, 11),
        ("conformance-demo", DEMO_EXPORTS, DEMO, 40_000, 12),
    ],
)
def test_node_agrees_with_dqm_decide_on_random_claims(
    tmp_path, ruleset, exports, spec, count, seed
):
    rng = random.Random(seed)
    claims = tmp_path / "claims.csv"
    with open(claims, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CLAIM_COLUMNS)
        for _ in range(count):
            if rng.random() < 0.01:  # a blank record: no claim, no position (§3)
                f.write(rng.choice(["\r\n", "  \r\n", '""\r\n', '" "\r\n', "\t\r\n"]))
            claim = random_claim(rng, spec)
            writer.writerow([claim.get(c, "") for c in CLAIM_COLUMNS])
    decide = [DQM, "decide", str(claims), "--ruleset", ruleset, "--exports", str(exports)]
    ran = subprocess.run(
        [*decide, "--format", "jsonl"], capture_output=True, text=True, timeout=300
    )
    assert (ran.returncode, ran.stderr) == (0, "")
    consumer = node("decide", "--exports", str(exports), "--ruleset", ruleset, str(claims))
    assert (consumer.returncode, consumer.stderr) == (0, "")
    ours, theirs = ran.stdout.splitlines(), consumer.stdout.splitlines()
    assert len(ours) == len(theirs) == count
    differences = []
    for line, (a, b) in enumerate(zip(ours, theirs, strict=True), start=2):
        a, b = json.loads(a), json.loads(b)
        if any(a[c] != b[c] or type(a[c]) is not type(b[c]) for c in COMPARED):
            differences.append((line, {c: (a[c], b[c]) for c in COMPARED if a[c] != b[c]}))
    assert differences[:5] == []
    decisions = {json.loads(line)["decision"] for line in ours}
    assert decisions == {"approve", "override", "deny", "not_applicable", "invalid"}


def test_node_verifies_a_signature_as_dqm_does_and_refuses_a_resealed_version(tmp_path, dqm):
    exports = tmp_path / "exports"
    shutil.copytree(EXPORTS, exports, ignore=shutil.ignore_patterns(".lock"))
    assert dqm("keygen", tmp_path / "owner.pem").code == 0
    key = tmp_path / "owner.pub.pem"
    assert (
        dqm("compile", WORKBOOK, "--exports", exports, "--sign", tmp_path / "owner.pem").code == 0
    )
    v4 = exports / "oncology-dqm" / "v4.json"
    ran = node("verify", str(v4), "--public-key", str(key))
    assert (ran.returncode, ran.stdout) == (
        0,
        f"{v4}: oncology-dqm v4, sha256 and content_sha256 hold; signed by the key's owner.\n",
    )
    unsigned = EXPORTS / "oncology-dqm" / "v4.json"
    ran = node("verify", str(unsigned), "--public-key", str(key))
    assert (ran.returncode, ran.stderr) == (1, f"{unsigned}: not signed (no v4.sig beside it)\n")
    doc = json.loads(v4.read_text())
    doc["policies"][0]["products"][1]["retail_max_qty"] = 80
    doc["content_sha256"] = content_sha256(doc)
    v4.write_bytes(canonical_bytes(seal(doc)))  # whole again by its own hashes, but not theirs
    assert node("verify", str(v4)).returncode == 0
    ran = node("verify", str(v4), "--public-key", str(key))
    assert (ran.returncode, ran.stderr) == (
        1,
        f"{v4}: its signature does not verify with the public key\n",
    )
