"""Limits over time (`Per Days`) in the conformance vectors and in the Node consumer: the demo
store's sumatriptan (Per Rx in v4 from 2025-01-01, Per Days in v5 from 2025-03-01) is decided in
runs with the members' fills; the vectors pin what docs/consumers.md §5 promises, and the Node
consumer (examples/node-consumer) agrees with `dqm decide --history` on 100,000 random claims over
5,000 members with their histories."""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from compiler.decide.versions import Versions
from compiler.ruleset.store import Store
from compiler.vocabulary import CLAIM_COLUMNS, DECISION_COLUMNS
from tests.fixtures.paths import ROOT

CONFORMANCE = ROOT / "conformance"
DEMO_EXPORTS = CONFORMANCE / "exports"
CONSUMER = ROOT / "examples" / "node-consumer" / "dqm-consumer.js"
COMPARED = [c for c in DECISION_COLUMNS if c != "message"]
TAB, SPRAY, ALPHA = "sumatriptan-100mg-tab", "sumatriptan-20mg-spray", "alpha-10mg-tab"


def cases() -> dict[str, dict]:
    data = json.loads((CONFORMANCE / "decisions-conformance-demo.json").read_text())
    return {c["name"]: c for c in data["cases"]}


def got(name: str, *fields: str) -> list[tuple]:
    return [tuple(d[f] for f in fields) for d in cases()[name]["decisions"]]


def test_the_versions_published_before_stay_byte_identical():
    folder = DEMO_EXPORTS / "conformance-demo"
    assert {
        f"v{v}.json": hashlib.sha256((folder / f"v{v}.json").read_bytes()).hexdigest()
        for v in (1, 2, 3)
    } == {
        "v1.json": "0070ab509387f43c14701a81c3d18bb2127b1b6f6f707942ec923fecc99078db",
        "v2.json": "a91daf10e39b1102496ffe7efb42578435b5aeefbef6e754e0c2ae7dd5ba6e4b",
        "v3.json": "590a1ba421cb7cf7ac743937c8caaddd767305b2bc5e1d71429a26dff0bfd9a9",
    }
    v5 = Store(DEMO_EXPORTS).load("conformance-demo", 5)
    product = next(p for pol in v5["policies"] for p in pol["products"] if p["product_id"] == TAB)
    assert (product["retail_days"], product["home_delivery_days"]) == (30, 90)


def test_ties_on_one_date_go_by_input_order_and_a_denial_counts_nothing():
    fields = ("decision", "approved_quantity", "accumulated_quantity", "period_days")
    assert got("per days: one date, input order decides; a denial counts nothing", *fields) == [
        ("approve", 6, 0, 30),
        ("deny", 0, 6, 30),
        ("approve", 3, 6, 30),
        ("deny", 0, 9, 30),
    ]
    assert got("per days: claims out of date order count by date", "decision") == [
        ("deny",), ("approve",), ("approve",), ("deny",)
    ]  # fmt: skip


def test_windows_edge_to_edge_at_30_and_90_days():
    fields = ("member_id", "date_of_service", "decision", "accumulated_quantity")
    assert got("per days: retail window edge to edge (W = 30)", *fields) == [
        ("in", "2025-07-01", "deny", 9),  # a fill on 2025-06-02, day 30 of the window
        ("out", "2025-07-01", "approve", 0),  # on 2025-06-01: out
        ("same day", "2025-07-01", "deny", 9),  # a fill on the claim's own date counts
        ("run", "2025-06-02", "approve", 0),
        ("run", "2025-07-01", "deny", 9),
        ("run", "2025-07-02", "approve", 0),
    ]
    assert [
        d[2:] for d in got("per days: home delivery window edge to edge (W = 90)", *fields)
    ] == [("deny", 27), ("approve", 0), ("approve", 0), ("approve", 0), ("deny", 27),
          ("approve", 0)]  # fmt: skip


def test_overrides_count_what_they_approved_and_channels_share_the_window():
    fields = ("decision", "approved_quantity", "accumulated_quantity", "criterion_id")
    assert got("per days: an override counts what it approved, capped at C - A", *fields) == [
        ("override", 12, 0, "frequent-migraine"),
        ("override", 6, 12, "frequent-migraine"),  # C - A = 18 - 12
        ("deny", 0, 18, None),  # met, but nothing left under its maximum
        ("deny", 0, 18, None),
        ("deny", 0, 18, None),
    ]
    name = "per days: retail and home delivery share one window, each its own W and L"
    assert got(name, "decision", "accumulated_quantity", "period_days", "limit") == [
        ("approve", 8, 90, 27),  # a fill at home delivery or retail: it counts either way
        ("deny", 27, 30, 9),
        ("approve", 0, 30, 9),
        ("deny", 28, 90, 27),
        ("override", 28, 90, 27),
    ]


def test_reversed_fills_and_others_count_nothing_and_a_version_change_counts_per_rx():
    name = "per days: reversed fills and other members' and products' count nothing"
    assert got(name, "decision", "accumulated_quantity") == [
        ("approve", 6), ("deny", 9), ("approve", 0), ("deny", 9)
    ]  # fmt: skip
    name = "per days: a version change inside the window (Per Rx decisions count)"
    fields = ("ruleset_version", "decision", "approved_quantity", "accumulated_quantity")
    assert got(name, *fields) == [
        (5, "deny", 0, 25),  # 4 (a fill v4 resolved) + 3 + 18 (v4's override) + 0 (v4's denial)
        (4, "approve", 3, None),
        (4, "override", 18, None),
        (4, "deny", 0, None),
        (5, "approve", 1, 25),  # the fill of 2024-12-31, no version's product, counts nothing
        (5, "deny", 0, 26),
    ]


def test_millionths_and_the_invalid_and_the_stopped():
    name = "per days: whole millionths (0.1 + 0.2 is 0.3), rounded half to even"
    assert got(name, "decision", "accumulated_quantity")[:5] == [
        ("approve", 0), ("approve", 0.1), ("approve", 0.3), ("deny", 0.3), ("deny", 0.3)
    ]  # fmt: skip
    assert [d[0] for d in got("per days: no member or no date is invalid", "decision")] == [
        "invalid", "invalid", "invalid", "invalid", "invalid", "approve", "approve", "approve",
        "invalid",
    ]  # fmt: skip
    stopped = [n for n, c in cases().items() if c["decisions"] is None]
    assert len(stopped) == 4 and all(cases()[n]["history"] for n in stopped)
    assert all("history" in cases()[n] for n in cases() if n.startswith("per days: "))


# -- the Node consumer ---------------------------------------------------------------------------


def node(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("node")
    assert exe is not None, "node is not installed: the Node consumer cannot be checked"
    return subprocess.run(
        [exe, str(CONSUMER), *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


@pytest.mark.node
def test_node_stops_on_a_history_row_that_cannot_be_counted(tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text(
        f"member_id,product_id,channel,quantity,date_of_service\nM1,{TAB},retail,1,2025-06-10\n"
    )
    for row in [f",{TAB},1,2025-06-01,", f"M1,{TAB},1,,", f"M1,{TAB},0,2025-06-01,",
                f"M1,{TAB},1,2025-06-01,refunded"]:  # fmt: skip
        history = tmp_path / "history.csv"
        history.write_text(f"member_id,product_id,quantity,date_of_service,status\n{row}\n")
        ran = node("decide", "--exports", str(DEMO_EXPORTS), "--ruleset", "conformance-demo",
                   "--history", str(history), str(claims))  # fmt: skip
        assert (ran.returncode, ran.stdout) == (2, ""), row
        assert ran.stderr.startswith("dqm-consumer: nothing decided: history row 1"), row
    history.write_text(f"member_id,product_id,quantity,date_of_service,status\n,{TAB},9,2025-06-01,reversed\nM1,{TAB},8,2025-06-01,\n")  # fmt: skip
    ran = node("decide", "--exports", str(DEMO_EXPORTS), "--ruleset", "conformance-demo",
               "--history", str(history), str(claims))  # fmt: skip
    assert ran.returncode == 0
    decided = json.loads(ran.stdout)
    assert (decided["decision"], decided["accumulated_quantity"], decided["period_days"]) == (
        "approve", 8, 30
    )  # fmt: skip


MEMBERS = [f"M{i:04d}" for i in range(5000)]
DAYS = pd.date_range("2024-12-01", "2025-12-31").strftime("%Y-%m-%d").tolist()


def member_text(rng: random.Random) -> str:
    m = rng.choice(MEMBERS)
    r = rng.random()
    if r < 0.01:
        return rng.choice(["", "  ", "\t"])  # none: a Per Days claim is invalid
    return rng.choice([f" {m} ", f"{m}\t", m.lower()]) if r < 0.05 else m


def product_fields(rng: random.Random) -> dict[str, str]:
    r = rng.random()
    if r < 0.55:
        return {"product_id": rng.choice([TAB, TAB.upper(), f" {TAB} "])}
    if r < 0.65:
        return {"ndc": rng.choice(["55111-0291-09", "55111029109"])}
    if r < 0.85:
        return {"product_id": rng.choice([SPRAY, SPRAY.title()])}
    return {"product_id": rng.choice([ALPHA, "no-such-product"])}


def day_text(rng: random.Random) -> str:
    day = rng.choice(DAYS)
    r = rng.random()
    if r < 0.01:
        return rng.choice(["", "  ", "2025-02-30"])
    return day.replace("-", "") if r < 0.05 else day


def quantity_text(rng: random.Random, spray: bool, fill: bool = False) -> str:
    if rng.random() < 0.01 and not fill:
        return rng.choice(["0", "abc", "-1", "", "1e3"])
    if spray:
        # 0.0000015 is 2 millionths (half to even); 0.0000005 none, only as a fill (below)
        tiny = "0.0000005" if fill else "0.0000015"
        return rng.choice(["0.05", "0.1", "0.2", "0.25", "0.3", "0.15", tiny, "0.9"])
    return str(rng.choice([1, 2, 3, 4, 5, 6, 9, 10, 12, 18, 27, 30, 2.5, 0.5]))


def random_claim(rng: random.Random) -> dict[str, str]:
    product = product_fields(rng)
    claim = {"member_id": member_text(rng), **product}
    claim["channel"] = rng.choice(["retail", "retail", "home_delivery", "Home Delivery", "mail"])
    claim["quantity"] = quantity_text(rng, product.get("product_id", "").lower() == SPRAY)
    claim["date_of_service"] = day_text(rng)
    if rng.random() < 0.2:
        claim["attested_criteria"] = rng.choice(["frequent-migraine", "Frequent-Migraine"])
    if rng.random() < 0.3:
        claim["claim_id"] = str(rng.randint(1, 10**6))
    return {k: v for k, v in claim.items() if v != ""}


def random_fill(rng: random.Random, member: str) -> dict[str, str]:
    """A fill that can be counted (a row that cannot stops the run), paid or reversed."""
    product = product_fields(rng)
    fill = {"member_id": rng.choice([member, f" {member}"]), **product}
    fill["quantity"] = quantity_text(rng, product.get("product_id", "").lower() == SPRAY, True)
    fill["date_of_service"] = rng.choice(DAYS[:-30])
    if rng.random() < 0.3:
        fill["status"] = rng.choice(["paid", "reversed", "PAID", " Reversed "])
    if rng.random() < 0.2:
        fill["channel"] = rng.choice(["home_delivery", "mail"])  # not read
    return fill


def write_csv(path, rows: list[dict[str, str]], columns: list[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])


@pytest.mark.node
def test_node_agrees_with_dqm_decide_on_100000_random_claims_with_histories(tmp_path):
    rng = random.Random(31)
    claims = [random_claim(rng) for _ in range(100_000)]
    fills = [random_fill(rng, m) for m in MEMBERS for _ in range(rng.randint(0, 4))]
    claims_csv, history_csv = tmp_path / "claims.csv", tmp_path / "history.csv"
    write_csv(claims_csv, claims, CLAIM_COLUMNS)
    history_columns = [*CLAIM_COLUMNS, "status"]
    write_csv(history_csv, fills, history_columns)

    # dqm's own command, as a claims processor would run it: the run worked out in buckets.
    dqm = Path(sys.executable).parent / "dqm"
    ours_ran = subprocess.run(
        [str(dqm), "decide", str(claims_csv), "--ruleset", "conformance-demo", "--exports",
         str(DEMO_EXPORTS), "--history", str(history_csv), "--format", "jsonl"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (ours_ran.returncode, ours_ran.stderr) == (0, "")
    ours = [json.loads(line) for line in ours_ran.stdout.splitlines()]
    ran = node("decide", "--exports", str(DEMO_EXPORTS), "--ruleset", "conformance-demo",
               "--history", str(history_csv), str(claims_csv))  # fmt: skip
    assert (ran.returncode, ran.stderr) == (0, "")
    theirs = [json.loads(line) for line in ran.stdout.splitlines()]

    assert len(ours) == len(theirs) == len(claims)
    differences = [
        (i, {c: (a[c], b[c]) for c in COMPARED if a[c] != b[c] or type(a[c]) is not type(b[c])})
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
        if any(a[c] != b[c] or type(a[c]) is not type(b[c]) for c in COMPARED)
    ]
    assert differences[:5] == []
    # The random claims reach every branch of a run: each decision over a window, both windows,
    # claims v4 decided Per Rx, fractional A, and those without a member or a date.
    window = [d for d in ours if d["period_days"] is not None]
    assert {d["decision"] for d in window} == {"approve", "override", "deny"}
    assert {d["period_days"] for d in window} == {30, 90}
    assert any(d["accumulated_quantity"] > 0 and d["decision"] == "approve" for d in window)
    assert any(isinstance(d["accumulated_quantity"], float) for d in window)
    assert any(d["ruleset_version"] == 4 and d["product_id"] == TAB for d in ours)
    assert {d["decision"] for d in ours} == {
        "approve", "override", "deny", "not_applicable", "invalid"
    }  # fmt: skip


def test_a_denial_approves_nothing_even_a_quantity_below_one_millionth():
    # §5: A + Q > L and no room under the override (or none) -> deny, approved 0. Q = 0.0000005
    # is 0 millionths (half to even), so A + Q > L only where A > L, as after an override.
    store = Store(DEMO_EXPORTS)
    versions = Versions.of({5: store.load("conformance-demo", 5)})
    claim = {"member_id": "M1", "product_id": TAB, "channel": "retail",
             "date_of_service": "2025-06-10", "attested_criteria": "frequent-migraine"}  # fmt: skip
    claims = pd.DataFrame([{**claim, "quantity": "18"}, {**claim, "quantity": "0.0000005"}])
    decided = versions.decide(claims.astype("str"))
    assert decided["decision"].tolist() == ["override", "deny"]
    assert decided["approved_quantity"].tolist() == [18, 0]
