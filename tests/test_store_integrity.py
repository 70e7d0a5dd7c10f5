"""Integrity of the exports store under hand edits, concurrent compiles and SIGKILL, with real
`dqm` processes where it matters: a version edited by hand or schema-invalid is refused on load;
index.json agrees with the files after any publish and is repaired after a crash; two compiles at
once publish two versions, never one clobbering the other."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import founding_workbook
import pytest

from compiler import cli
from compiler.ruleset.store import Store, StoreError, canonical_bytes, seal
from compiler.workbook.template import write_workbook

DQM = str(Path(sys.executable).with_name("dqm"))
RULESET = "oncology-dqm"


def revised(folder: Path, name: str, drugs: list[str], reviews: list[dt.date]) -> Path:
    """The founding workbook with more inducers on the list, each review a new History row."""
    rows = copy.deepcopy(founding_workbook.rows())
    for drug in drugs:
        rows["Drug Lists"].append(["strong-cyp3a4-inducers", drug, None, "Added in a test revision."])
    for day in reviews:
        rows["History"].append(["imatinib-per-rx", "Ad Hoc Revision", f"Inducers added on {day}.", day])
    rows["Policies"][0][3] = reviews[-1]
    return write_workbook(folder / name, rows)


def compile_process(workbook: Path, exports: Path, pause: float | None = None) -> subprocess.Popen:
    env = {**os.environ}
    if pause:
        env["DQM_TEST_PAUSE_AFTER_VERSION_FILE"] = str(pause)
    return subprocess.Popen([DQM, "compile", str(workbook), "--exports", str(exports)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_consistent(store: Store) -> list[int]:
    """Every version file verifies, the numbers run 1..N, and no temporary file is a version."""
    versions = store.versions(RULESET)
    assert versions == list(range(1, len(versions) + 1))
    for v in versions:
        assert store.load(RULESET, v)["version"] == v
    return versions


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
    assert str(refused.value) == (f"{path} has been changed since it was published (its sha256 does "
                                  "not match its content). Restore it from version control; never "
                                  "edit exports by hand.")


def test_schema_invalid_version_is_refused_even_with_a_matching_hash(exports_copy):
    path = hand_edit(exports_copy, 3, lambda d: (d.pop("policies"), d.update(seal(d))))
    with pytest.raises(StoreError) as refused:
        Store(exports_copy).load(RULESET, 3)
    assert str(refused.value) == (f"{path} does not match the ruleset schema at (top): \"policies\" "
                                  "is a required property. It was not written by dqm compile; use a "
                                  "published version.")


@pytest.mark.parametrize("command", [
    ["versions", RULESET], ["diff", RULESET, "2", "3"], ["decide", "CLAIMS", "--ruleset", RULESET]])
def test_commands_reading_an_edited_version_exit_2_with_one_line(command, exports_copy, tmp_path):
    claims = tmp_path / "claims.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,60\n")
    path = hand_edit(exports_copy, 3, lambda d: d["policies"][0].update(title="Edited by hand"))
    args = [str(claims) if a == "CLAIMS" else a for a in command]
    run = subprocess.run([DQM, *args, "--exports", str(exports_copy)], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [f"dqm: {path} has been changed since it was published (its "
                                       "sha256 does not match its content). Restore it from version "
                                       "control; never edit exports by hand."]
    assert run.stdout == "" or "v3" not in run.stdout.splitlines()[-1]


def test_compile_refuses_to_publish_over_an_edited_latest_version(exports_copy, tmp_path):
    hand_edit(exports_copy, 3, lambda d: d["policies"][0].update(title="Edited by hand"))
    workbook = revised(tmp_path, "a.xlsx", ["apalutamide"], [dt.date(2026, 1, 15)])
    assert cli.main(["compile", str(workbook), "--exports", str(exports_copy)]) == 2
    assert Store(exports_copy).versions(RULESET) == [1, 2, 3]


# -- the index ---------------------------------------------------------------------------------------

def test_index_agrees_with_the_files_after_each_publish(exports_copy, tmp_path):
    store = Store(exports_copy)
    assert store.index_problems(RULESET) == []
    first = revised(tmp_path, "a.xlsx", ["apalutamide"], [dt.date(2026, 1, 15)])
    second = revised(tmp_path, "b.xlsx", ["apalutamide", "enzalutamide"],
                     [dt.date(2026, 1, 15), dt.date(2026, 2, 1)])
    for workbook, expected in ((first, 4), (second, 5), (second, 5)):
        assert cli.main(["compile", str(workbook), "--exports", str(exports_copy)]) == 0
        index = json.loads((exports_copy / RULESET / "index.json").read_bytes())
        assert [e["version"] for e in index["versions"]] == list(range(1, expected + 1))
        assert store.index_problems(RULESET) == []


def test_leftover_temporary_file_is_never_a_version_and_is_swept(exports_copy, tmp_path):
    folder = exports_copy / RULESET
    leftover = folder / ".v4.json.abc123.tmp"
    leftover.write_bytes(b'{"half": ')  # what a writer killed mid-write leaves
    store = Store(exports_copy)
    assert store.versions(RULESET) == [1, 2, 3]
    workbook = revised(tmp_path, "a.xlsx", ["apalutamide"], [dt.date(2026, 1, 15)])
    assert cli.main(["compile", str(workbook), "--exports", str(exports_copy)]) == 0
    assert not leftover.exists()
    assert assert_consistent(store) == [1, 2, 3, 4]


# -- real processes: SIGKILL and concurrency ----------------------------------------------------------

def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_compile_killed_between_version_file_and_index_is_repaired_by_the_next(exports_copy, tmp_path):
    store = Store(exports_copy)
    workbook = revised(tmp_path, "a.xlsx", ["apalutamide"], [dt.date(2026, 1, 15)])
    proc = compile_process(workbook, exports_copy, pause=60)
    wait_for(exports_copy / RULESET / "v4.json", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    # The version is whole and verifies; the index, written after it, is stale.
    assert assert_consistent(store) == [1, 2, 3, 4]
    assert store.index_problems(RULESET) == [f"{exports_copy / RULESET / 'index.json'} does not list the version files."]
    # The next compile of the same workbook finds nothing new and repairs the index.
    run = subprocess.run([DQM, "compile", str(workbook), "--exports", str(exports_copy)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert (run.returncode, run.stdout.strip()) == (0, f"Nothing changed: v4 is current ({exports_copy / RULESET / 'v4.json'}).")
    assert store.index_problems(RULESET) == []


def test_compiles_killed_at_random_moments_leave_the_store_consistent(exports_copy, tmp_path):
    store = Store(exports_copy)
    rng = random.Random(20261127)
    drugs, reviews, killed_at = [], [], []
    for i in range(6):
        drugs.append(f"test-inducer-{i}")
        reviews.append(dt.date(2026, 1, 1) + dt.timedelta(days=i))
        workbook = revised(tmp_path, f"w{i}.xlsx", drugs, reviews)
        proc = compile_process(workbook, exports_copy)
        delay = rng.uniform(1.0, 2.6)  # a compile takes about 2 s here: aim near its publish
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed_at.append((round(delay, 2), proc.returncode))
        assert_consistent(store)
    # Whatever the kills left, the next compile publishes or finds nothing new, and the index agrees.
    final = revised(tmp_path, "final.xlsx", drugs, reviews)
    print("killed at (seconds, return code):", killed_at, "versions:", store.versions(RULESET))
    assert cli.main(["compile", str(final), "--exports", str(exports_copy)]) == 0, killed_at
    versions = assert_consistent(store)
    assert store.index_problems(RULESET) == []
    assert store.load(RULESET)["content_sha256"] == store.load(RULESET, versions[-1])["content_sha256"]
    assert not list((exports_copy / RULESET).glob(".*.tmp"))


def test_two_compiles_at_once_publish_two_versions_never_one(exports_copy, tmp_path):
    first = revised(tmp_path, "a.xlsx", ["apalutamide"], [dt.date(2026, 1, 15)])
    second = revised(tmp_path, "b.xlsx", ["enzalutamide"], [dt.date(2026, 2, 1)])
    # The first holds the lock for 3 s after writing its version; the second must wait for it.
    a = compile_process(first, exports_copy, pause=3)
    wait_for(exports_copy / RULESET / "v4.json", a)
    b = compile_process(second, exports_copy)
    out_a, out_b = a.communicate(timeout=60), b.communicate(timeout=60)
    assert (a.returncode, b.returncode) == (0, 0), (out_a, out_b)
    assert out_a[0].strip() == str(exports_copy / RULESET / "v4.json")
    assert out_b[0].strip() == str(exports_copy / RULESET / "v5.json")
    store = Store(exports_copy)
    v4, v5 = store.load(RULESET, 4), store.load(RULESET, 5)
    assert v4["content_sha256"] != v5["content_sha256"]
    def drugs(doc):
        return {d["drug"] for d in doc["drug_lists"][0]["drugs"]}
    assert ("apalutamide" in drugs(v4), "enzalutamide" in drugs(v4)) == (True, False)
    assert ("apalutamide" in drugs(v5), "enzalutamide" in drugs(v5)) == (False, True)
    assert v5["changes"]["since_version"] == 4
    assert store.index_problems(RULESET) == []


def test_two_compiles_started_together_get_v4_and_v5(exports_copy, tmp_path):
    first = revised(tmp_path, "a.xlsx", ["apalutamide"], [dt.date(2026, 1, 15)])
    second = revised(tmp_path, "b.xlsx", ["enzalutamide"], [dt.date(2026, 2, 1)])
    procs = [compile_process(first, exports_copy), compile_process(second, exports_copy)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    published = sorted(o[0].strip() for o in outs)
    assert published == [str(exports_copy / RULESET / "v4.json"), str(exports_copy / RULESET / "v5.json")]
    store = Store(exports_copy)
    assert assert_consistent(store) == [1, 2, 3, 4, 5]
    assert store.load(RULESET, 4)["content_sha256"] != store.load(RULESET, 5)["content_sha256"]
    assert store.index_problems(RULESET) == []
