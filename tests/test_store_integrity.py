"""Integrity of the exports store under hand edits, concurrent compiles and SIGKILL, with real
`dqm` processes where it matters: a version edited by hand or schema-invalid is refused on load;
index.json agrees with the files after any publish and is repaired after a crash; two compiles at
once publish two versions, never one clobbering the other. Each kill is made in a window the
compile announced (tests/fixtures/windowed_compile.py), so a test knows where it landed."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compiler.ruleset import jdm
from compiler.ruleset.sealing import canonical_bytes, seal
from compiler.ruleset.store import Store, StoreError
from compiler.workbook.effective_dates import unchanged_note
from compiler.workbook.template import write_workbook
from tests.fixtures.paths import EXPORTS

WINDOWED = str(Path(__file__).parent / "fixtures" / "windowed_compile.py")
RULESET = "oncology-dqm"
COMMITTED = {p.name: p.read_bytes() for p in (EXPORTS / RULESET).glob("v[1234].*json")}


@pytest.fixture
def revised(founding_rows, tmp_path):
    """A writer of founding workbooks with more inducers on the list, each review a new History
    row, and the 400 mg retail limit raised when `retail_400mg` is given (the JDM graph shows it)."""

    def write(
        name: str, drugs: list[str], reviews: list[dt.date], retail_400mg: int | None = None
    ) -> Path:
        rows = copy.deepcopy(founding_rows)
        for drug in drugs:
            rows["Drug Lists"].append(
                ["strong-cyp3a4-inducers", drug, None, "Added in a test revision."]
            )
        for day in reviews:
            rows["History"].append(
                ["imatinib-per-rx", "Ad Hoc Revision", f"Inducers added on {day}.", day]
            )
        rows["Policies"][0][3] = reviews[-1]
        rows["Ruleset"][0][3] = None  # the version takes effect on its latest review
        if retail_400mg:
            rows["Limits"][1][4] = retail_400mg
            rows["Overrides"][0][2] = retail_400mg + 30
            rows["Tests"] = [
                t for t in rows["Tests"] if t[1] != "imatinib-400mg-tab" or t[2] != "Retail"
            ]
        return write_workbook(tmp_path / name, rows)

    return write


def windowed_process(
    workbook: Path, exports: Path, hold_at: str = "", hold: float = 0, pause: float = 0
) -> subprocess.Popen:
    """`dqm compile` announcing its windows on stdout, holding `hold` seconds after `hold_at`: a
    real process, for only a process can be killed part-way through publishing."""
    return subprocess.Popen(
        [
            sys.executable,
            WINDOWED,
            hold_at,
            str(hold),
            str(pause),
            str(workbook),
            "--exports",
            str(exports),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def windows_until(proc: subprocess.Popen, window: str) -> list[str]:
    """The windows the compile announced, read as they come, up to and including `window`."""
    seen = []
    for line in proc.stdout:
        if line.startswith("WINDOW "):
            seen.append(line.removeprefix("WINDOW ").rstrip("\n"))
            if seen[-1] == window:
                return seen
    pytest.fail(f"the compile ended before {window!r}; it announced {seen}: {proc.communicate()}")


def kill(proc: subprocess.Popen) -> list[str]:
    """SIGKILL the compile; the windows it announced after what was already read."""
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return [
        line.removeprefix("WINDOW ") for line in rest.splitlines() if line.startswith("WINDOW ")
    ]


def assert_consistent(store: Store) -> list[int]:
    """Every version file verifies and has its JDM graph, the numbers run 1..N, and v1-v4 are the
    committed bytes."""
    versions = store.versions(RULESET)
    assert versions == list(range(1, len(versions) + 1))
    for v in versions:
        assert store.load(RULESET, v)["version"] == v
        assert store.path(RULESET, v, "jdm.json").exists(), f"v{v} has no graph"
    folder = store.root / RULESET
    assert {name: (folder / name).read_bytes() for name in COMMITTED} == COMMITTED
    return versions


def temporary_files(exports: Path) -> list[str]:
    return sorted(p.name for p in (exports / RULESET).glob(".*.tmp"))


def hand_edit(exports: Path, version: int, change) -> Path:
    path = exports / RULESET / f"v{version}.json"
    doc = json.loads(path.read_bytes())
    change(doc)
    path.write_bytes(canonical_bytes(doc))
    return path


# -- hand edits ------------------------------------------------------------------------------------


def test_version_edited_by_hand_is_refused_on_load(exports_copy):
    path = hand_edit(exports_copy, 3, lambda d: d["policies"][0].update(title="Edited by hand"))
    with pytest.raises(StoreError) as refused:
        Store(exports_copy).load(RULESET, 3)
    assert str(refused.value) == (
        f"{path} has been changed since it was published (its sha256 does "
        "not match its content). Restore it from version control; never "
        "edit exports by hand."
    )


def test_schema_invalid_version_is_refused_even_with_a_matching_hash(exports_copy):
    path = hand_edit(exports_copy, 3, lambda d: (d.pop("policies"), d.update(seal(d))))
    with pytest.raises(StoreError) as refused:
        Store(exports_copy).load(RULESET, 3)
    assert str(refused.value) == (
        f'{path} does not match the ruleset schema at (top): "policies" '
        "is a required property. It was not written by dqm compile; use a "
        "published version."
    )


@pytest.mark.parametrize(
    "command",
    [
        ["versions", RULESET],
        ["diff", RULESET, "2", "3"],
        ["decide", "CLAIMS", "--ruleset", RULESET],
    ],
)
def test_commands_reading_an_edited_version_return_2_with_one_line(
    command, exports_copy, tmp_path, dqm
):
    claims = tmp_path / "claims.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    path = hand_edit(exports_copy, 3, lambda d: d["policies"][0].update(title="Edited by hand"))
    args = [str(claims) if a == "CLAIMS" else a for a in command]
    run = dqm(*args, "--exports", exports_copy)
    assert run.code == 2
    assert run.err.splitlines() == [
        f"dqm: {path} has been changed since it was published (its "
        "sha256 does not match its content). Restore it from version "
        "control; never edit exports by hand."
    ]
    assert run.out == "" or "v3" not in run.out.splitlines()[-1]


def test_compile_refuses_to_publish_over_an_edited_latest_version(revised, exports_copy, dqm):
    hand_edit(exports_copy, 4, lambda d: d["policies"][0].update(title="Edited by hand"))
    workbook = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    assert dqm("compile", workbook, "--exports", exports_copy).code == 2
    assert Store(exports_copy).versions(RULESET) == [1, 2, 3, 4]


# -- the index ---------------------------------------------------------------------------------------


def test_index_agrees_with_the_files_after_each_publish(revised, exports_copy, dqm):
    store = Store(exports_copy)
    assert store.index_problems(RULESET) == []
    first = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    second = revised(
        "b.xlsx", ["apalutamide", "enzalutamide"], [dt.date(2027, 1, 15), dt.date(2027, 2, 1)]
    )
    for workbook, expected in ((first, 5), (second, 6), (second, 6)):
        assert dqm("compile", workbook, "--exports", exports_copy).code == 0
        index = json.loads((exports_copy / RULESET / "index.json").read_bytes())
        assert [e["version"] for e in index["versions"]] == list(range(1, expected + 1))
        assert store.index_problems(RULESET) == []


def test_leftover_temporary_file_is_never_a_version_and_is_swept(revised, exports_copy, dqm):
    folder = exports_copy / RULESET
    leftover = folder / ".v5.json.abc123.tmp"
    leftover.write_bytes(b'{"half": ')  # what a writer killed mid-write leaves
    store = Store(exports_copy)
    assert store.versions(RULESET) == [1, 2, 3, 4]
    workbook = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    assert dqm("compile", workbook, "--exports", exports_copy).code == 0
    assert not leftover.exists()
    assert assert_consistent(store) == [1, 2, 3, 4, 5]


# -- real processes: SIGKILL in each window, and concurrency --------------------------------------------


def test_compile_killed_after_the_graph_before_the_version_publishes_nothing(
    revised, exports_copy, dqm
):
    store = Store(exports_copy)
    orphan = exports_copy / RULESET / "v5.jdm.json"
    proc = windowed_process(
        revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)]),
        exports_copy,
        hold_at="v5.jdm.json written",
        hold=600,
    )
    assert windows_until(proc, "v5.jdm.json written") == ["locked", "v5.jdm.json written"]
    assert kill(proc) == []
    # The graph is there, whole; its version is not: no reader lists it, the index still says v1-v4.
    assert orphan.exists() and temporary_files(exports_copy) == []
    assert assert_consistent(store) == [1, 2, 3, 4]
    assert store.index_problems(RULESET) == []
    # The next compile, of other rules, sweeps the orphan and publishes v5 with its own graph.
    other = revised("b.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)], retail_400mg=90)
    assert dqm("compile", other, "--exports", exports_copy) == (
        0,
        f"{exports_copy / RULESET / 'v5.json'}\n",
        f"dqm: Removed 1 file(s) a cut-short compile left in {exports_copy / RULESET}.\n"
        "oncology-dqm v5 takes effect on 01/15/2027: claims dated from then on are decided by it "
        "(v4 decided them before).\n",
    )
    assert assert_consistent(store) == [1, 2, 3, 4, 5]
    v5 = store.load(RULESET, 5)
    assert v5["policies"][0]["products"][1]["retail_max_qty"] == 90
    assert orphan.read_bytes() == canonical_bytes(jdm.graph(v5))
    assert store.index_problems(RULESET) == []
    assert temporary_files(exports_copy) == []


def test_compile_killed_after_the_version_before_the_index_is_repaired_by_the_next(
    revised, exports_copy, dqm
):
    store = Store(exports_copy)
    workbook = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    proc = windowed_process(workbook, exports_copy, hold_at="v5.json written", hold=600)
    assert windows_until(proc, "v5.json written") == [
        "locked",
        "v5.jdm.json written",
        "v5.json written",
    ]
    assert kill(proc) == []
    # The version is whole, verifies and has its graph; the index, written after it, is stale.
    assert assert_consistent(store) == [1, 2, 3, 4, 5]
    assert temporary_files(exports_copy) == []
    index = exports_copy / RULESET / "index.json"
    assert store.index_problems(RULESET) == [f"{index} does not list the version files."]
    # The next compile of the same workbook finds nothing new and repairs the index.
    assert dqm("compile", workbook, "--exports", exports_copy) == (
        0,
        f"Nothing changed: v5 is current ({exports_copy / RULESET / 'v5.json'}).\n",
        f"dqm: {index} now lists v5, published whole by a compile that was cut short before it "
        f"listed it.\n{unchanged_note(store.load(RULESET, 5))}\n",
    )
    assert store.index_problems(RULESET) == []
    assert temporary_files(exports_copy) == []


# Timing: whether a kill drawn in a window lands there depends on the compile keeping pace
# with the clock, which a busy machine does not (the fixed windows above are tested by holds).
@pytest.mark.timing
def test_compiles_killed_at_random_moments_land_in_every_window_and_leave_the_store_consistent(
    revised, exports_copy, dqm
):
    # Each compile pauses PAUSE seconds after each announcement, and is killed at a random moment
    # after it took the lock: one drawn in each half of each window's pause (seeded), so that
    # every window is hit, and its edges, where a write may be under way.
    pause, stages = 0.5, ["locked", "graph written", "version written", "index written"]
    store = Store(exports_copy)
    rng = random.Random(20261127)
    drugs, reviews, landed = [], [], []
    for i in range(2 * len(stages)):
        drugs.append(f"test-inducer-{i}")
        reviews.append(dt.date(2027, 1, 1) + dt.timedelta(days=i))
        n = store.versions(RULESET)[-1] + 1
        proc = windowed_process(
            revised(f"w{i}.xlsx", drugs, reviews),
            exports_copy,
            hold_at="index.json written",
            hold=2,
            pause=pause,
        )
        windows_until(proc, "locked")
        delay = rng.uniform(i, i + 1) * pause / 2
        time.sleep(delay)
        announced = ["locked", *kill(proc)][-1]
        stage = {
            "locked": 0,
            f"v{n}.jdm.json written": 1,
            f"v{n}.json written": 2,
            "index.json written": 3,
        }[announced]
        landed.append((round(delay, 2), stages[stage]))
        # On disk: what the last announcement said, or the next write, done before it was said.
        versions = assert_consistent(store)
        on_disk = (
            3
            if n in versions and store.index_problems(RULESET) == []
            else 2
            if n in versions
            else 1
            if store.path(RULESET, n, "jdm.json").exists()
            else 0
        )
        assert on_disk in (stage, min(stage + 1, 3)), landed
    print("killed at (seconds after the lock, window):", landed)
    assert {window for _, window in landed} == set(stages), landed
    # Whatever the kills left, the next compile publishes or finds nothing new, and all agrees.
    final = revised("final.xlsx", drugs, reviews)
    assert dqm("compile", final, "--exports", exports_copy).code == 0, landed
    assert_consistent(store)
    assert store.index_problems(RULESET) == []
    assert temporary_files(exports_copy) == []
    assert set(drugs) <= {d["drug"] for d in store.load(RULESET)["drug_lists"][0]["drugs"]}


def test_two_compiles_at_once_publish_two_versions_never_one(revised, exports_copy, dqm_process):
    # Real processes: the ruleset's lock is held across processes, so only two processes show it.
    # The second workbook was made from the first (History is an audit trail: it keeps its row).
    first = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    second = revised("b.xlsx", ["enzalutamide"], [dt.date(2027, 1, 15), dt.date(2027, 2, 1)])
    # The first holds the lock for 3 s after writing its version; the second must wait for it.
    a = windowed_process(first, exports_copy, hold_at="v5.json written", hold=3)
    windows_until(a, "v5.json written")
    b = dqm_process.start("compile", second, "--exports", exports_copy)
    out_a, out_b = a.communicate(timeout=60), b.communicate(timeout=60)
    assert (a.returncode, b.returncode) == (0, 0), (out_a, out_b)
    assert out_a[0].splitlines() == [
        "WINDOW index.json written",
        str(exports_copy / RULESET / "v5.json"),
    ]
    assert out_b[0].strip() == str(exports_copy / RULESET / "v6.json")
    store = Store(exports_copy)
    v5, v6 = store.load(RULESET, 5), store.load(RULESET, 6)
    assert v5["content_sha256"] != v6["content_sha256"]

    def drugs(doc):
        return {d["drug"] for d in doc["drug_lists"][0]["drugs"]}

    assert ("apalutamide" in drugs(v5), "enzalutamide" in drugs(v5)) == (True, False)
    assert ("apalutamide" in drugs(v6), "enzalutamide" in drugs(v6)) == (False, True)
    assert v6["changes"]["since_version"] == 5
    assert store.index_problems(RULESET) == []


def test_two_compiles_started_together_never_clobber_each_other(revised, exports_copy, dqm_process):
    # Real processes, started together: only separate processes race for the lock as staff's would.
    # The second workbook was made from the first. Whichever takes the lock first is v5; after it
    # the second is v6 (it keeps the first's History row), or the first is refused, its History
    # lacking the row v5 published: never one version over the other.
    first = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    second = revised("b.xlsx", ["enzalutamide"], [dt.date(2027, 1, 15), dt.date(2027, 2, 1)])
    procs = [
        dqm_process.start("compile", workbook, "--exports", exports_copy)
        for workbook in (first, second)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    store = Store(exports_copy)
    v5, v6 = exports_copy / RULESET / "v5.json", exports_copy / RULESET / "v6.json"
    if [p.returncode for p in procs] == [0, 0]:  # the first took the lock first
        assert [o[0].strip() for o in outs] == [str(v5), str(v6)]
        assert assert_consistent(store) == [1, 2, 3, 4, 5, 6]
    else:  # the second did
        assert [p.returncode for p in procs] == [1, 0], outs
        assert outs[1][0].strip() == str(v5)
        assert (
            outs[0][1]
            .splitlines()[0]
            .startswith(
                "ERROR History!A1: The History row of 'imatinib-per-rx' dated 02/01/2027 "
                "(Ad Hoc Revision: Inducers added on 2027-02-01.) is published in v5 but is missing "
                "here."
            )
        ), outs
        assert assert_consistent(store) == [1, 2, 3, 4, 5]
    assert store.index_problems(RULESET) == []


# -- what a reader verifies, and where a publisher never writes --------------------------------------


def test_the_index_lists_each_version_s_graph_with_its_sha256(exports_copy):
    store = Store(exports_copy)
    index = store.read_index(RULESET)
    graph = (exports_copy / RULESET / "v3.jdm.json").read_bytes()
    assert index["versions"][2]["files"] == {
        "jdm": {"file": "v3.jdm.json", "sha256": hashlib.sha256(graph).hexdigest()}
    }
    assert store.load_derived(RULESET, 3, "jdm.json") == graph


def test_a_graph_edited_by_hand_is_refused_by_readers_and_by_the_next_publish(
    revised, exports_copy, dqm
):
    graph = exports_copy / RULESET / "v3.jdm.json"
    graph.write_bytes(graph.read_bytes().replace(b'"60"', b'"600"', 1))
    refusal = (
        f"{graph} has been changed since it was published (its sha256 does not match index.json). "
        "Restore it from version control; never edit exports by hand."
    )
    store = Store(exports_copy)
    with pytest.raises(StoreError) as exc:
        store.load_derived(RULESET, 3, "jdm.json")
    assert str(exc.value) == refusal
    assert dqm("versions", "--exports", exports_copy) == (2, "", f"dqm: {refusal}\n")
    # A publish would list the changed graph as published: it stops before writing anything.
    workbook = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    assert dqm("compile", workbook, "--exports", exports_copy) == (2, "", f"dqm: {refusal}\n")
    assert store.versions(RULESET) == [1, 2, 3, 4]


def test_an_index_edited_by_hand_is_refused_by_readers(exports_copy, dqm):
    path = exports_copy / RULESET / "index.json"
    index = json.loads(path.read_bytes())
    index["versions"][0]["history_added"][0]["summary_of_changes"] = "Limits doubled."
    path.write_bytes(canonical_bytes(index))
    assert dqm("versions", "--exports", exports_copy) == (
        2,
        "",
        f"dqm: {path} does not list the version files as they are (edited by hand, or a publish "
        "was cut short); `dqm compile` of the workbook writes it again.\n",
    )


@pytest.mark.parametrize("link", ["folder", "lock"])
def test_a_publish_never_writes_through_a_symbolic_link(link, revised, exports_copy, tmp_path, dqm):
    elsewhere = tmp_path / "elsewhere"
    folder = exports_copy / RULESET
    if link == "folder":  # the ruleset's folder linked to another place
        folder.rename(elsewhere)
        folder.symlink_to(elsewhere, target_is_directory=True)
        place = folder
    else:  # the lock file linked to a file filelock would open for writing (and truncate)
        elsewhere.write_text("precious")
        (folder / ".lock").unlink(missing_ok=True)
        (folder / ".lock").symlink_to(elsewhere)
        place = folder / ".lock"
    before = sorted(p.name for p in (elsewhere.iterdir() if link == "folder" else []))
    workbook = revised("a.xlsx", ["apalutamide"], [dt.date(2027, 1, 15)])
    assert dqm("compile", workbook, "--exports", exports_copy) == (
        2,
        "",
        f"dqm: {place} is a symbolic link; dqm writes only into real folders and files inside "
        f"{exports_copy}/. Replace the link with the folder itself.\n",
    )
    if link == "folder":
        assert sorted(p.name for p in elsewhere.iterdir()) == before
    else:
        assert elsewhere.read_text() == "precious"
