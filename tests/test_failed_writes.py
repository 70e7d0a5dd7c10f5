"""Every write that fails (no permission, a full disk, a folder that is a file) is one line naming
the path and the reason, exit 2, never a traceback, and leaves nothing half-written; nothing dqm
writes replaces staff's work (compiler/atomic.py, the store's publish order).

Permissions are really taken away: as root, `setpriv` drops the capabilities that let root write
anywhere, so the operating system refuses as it refuses staff. The full disk is a real one too:
a small tmpfs mounted in a private mount namespace (`unshare`), gone when the process ends."""

from __future__ import annotations

import copy
import datetime as dt
import errno
import json
import os
import stat
from pathlib import Path

import pytest

from compiler import atomic
from compiler.ruleset.store import Store
from compiler.workbook.effective_dates import unchanged_note
from tests.fixtures.paths import WORKBOOK

RULESET = "oncology-dqm"
# As root, drop the capabilities that bypass file permissions; as anyone else, nothing to drop.
AS_STAFF = (
    [
        "setpriv",
        "--bounding-set=-dac_override,-dac_read_search",
        "--inh-caps=-dac_override,-dac_read_search",
    ]
    if os.geteuid() == 0
    else []
)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def read_only(*folders: Path) -> None:
    for folder in folders:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)


@pytest.fixture
def revised(founding_rows, make_workbook):
    """The founding workbook with an inducer added and the History row saying so: v5 to be."""
    rows = copy.deepcopy(founding_rows)
    rows["Drug Lists"].append(["strong-cyp3a4-inducers", "apalutamide", None, None])
    rows["History"].append(
        ["imatinib-per-rx", "Revision", "Apalutamide added.", dt.date(2027, 1, 27)]
    )
    rows["Policies"][0][3] = dt.date(2027, 1, 27)
    rows["Ruleset"][0][3] = None  # v5 takes effect on its review
    return make_workbook(rows, "revised.xlsx")


@pytest.fixture
def writable_afterwards(tmp_path):
    """Folders made read-only in a test are made writable again, so pytest can clean up."""
    yield
    for folder in [tmp_path, *tmp_path.rglob("*")]:
        if folder.is_dir() and not folder.is_symlink():
            folder.chmod(0o755)


# -- no permission (real processes, permissions really removed) ---------------------------------


def test_compile_into_a_read_only_exports_folder_is_one_line(
    revised, exports_copy, dqm_process, writable_afterwards
):
    before = snapshot(exports_copy)
    folder = exports_copy / RULESET
    read_only(exports_copy, folder)
    ran = dqm_process("compile", revised, "--exports", exports_copy, wrap=AS_STAFF)
    assert ran == (
        2,
        "",
        f"dqm: Cannot write {folder / '.lock'}: permission denied (dqm may not write in "
        f"{folder}).\n",
    )
    assert snapshot(exports_copy) == before


def test_compile_into_a_read_only_folder_with_its_lock_is_one_line_and_writes_nothing(
    revised, exports_copy, dqm_process, writable_afterwards
):
    folder = exports_copy / RULESET
    (folder / ".lock").touch()  # left by an earlier compile: the lock opens, the graph cannot
    before = snapshot(exports_copy)
    read_only(exports_copy, folder)
    ran = dqm_process("compile", revised, "--exports", exports_copy, wrap=AS_STAFF)
    assert ran == (
        2,
        "",
        f"dqm: Cannot write {folder / 'v5.jdm.json'}: permission denied (dqm may not write in "
        f"{folder}).\n",
    )
    assert snapshot(exports_copy) == before
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


def test_template_into_a_read_only_folder_is_one_line(tmp_path, dqm_process, writable_afterwards):
    folder = tmp_path / "shared"
    folder.mkdir()
    read_only(folder)
    out = folder / "new.xlsx"
    assert dqm_process("template", out, wrap=AS_STAFF) == (
        2,
        "",
        f"dqm: Cannot write {out}: permission denied (dqm may not write in {folder}).\n",
    )
    assert list(folder.iterdir()) == []


def test_annotated_copy_into_a_read_only_folder_is_one_line(
    tmp_path, dqm_process, writable_afterwards, hostile_copy
):
    source = hostile_copy("number_as_word")
    folder = tmp_path / "shared"
    folder.mkdir()
    read_only(folder)
    out = folder / "checked.xlsx"
    ran = dqm_process("validate", source, "--annotate", out, wrap=AS_STAFF)
    assert (ran.code, ran.err) == (
        2,
        f"dqm: Cannot write {out}: permission denied (dqm may not write in {folder}).\n",
    )
    assert list(folder.iterdir()) == []


def test_decisions_into_a_read_only_folder_leave_the_old_file_whole(
    tmp_path, dqm_process, writable_afterwards
):
    claims = tmp_path / "claims.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,61\n")
    folder = tmp_path / "out"
    folder.mkdir()
    old = folder / "decisions.csv"
    old.write_text("yesterday's decisions\n")
    read_only(folder)
    ran = dqm_process("decide", claims, "--ruleset", RULESET, "--output", old, wrap=AS_STAFF)
    assert ran == (
        2,
        "",
        f"dqm: Cannot write {old}: permission denied (dqm may not write in {folder}).\n",
    )
    assert old.read_text() == "yesterday's decisions\n"
    assert sorted(p.name for p in folder.iterdir()) == ["decisions.csv"]


# -- a folder that is a file, an existing file -------------------------------------------------------


@pytest.mark.parametrize("command", ["compile", "validate", "versions"])
def test_exports_that_is_a_file_is_one_line(command, tmp_path, dqm):
    exports = tmp_path / "exports"
    exports.write_text("not a folder")
    args = [WORKBOOK] if command != "versions" else []
    assert dqm(command, *args, "--exports", exports) == (
        2,
        "",
        f"dqm: {exports} is a file, not a folder; --exports names the folder that versions are "
        "published in.\n",
    )
    assert exports.read_text() == "not a folder"


def test_exports_below_a_file_is_one_line(tmp_path, dqm):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file")
    exports = blocker / "exports"
    assert dqm("compile", WORKBOOK, "--exports", exports) == (
        2,
        "",
        f"dqm: Cannot write {exports / RULESET}: {blocker} is a file, not a folder.\n",
    )


def test_annotating_over_another_existing_file_is_refused(tmp_path, dqm, hostile_copy):
    source = hostile_copy("number_as_word")
    other = tmp_path / "colleague.xlsx"
    other.write_bytes(b"someone's workbook")
    assert dqm("validate", source, "--annotate", other) == (
        2,
        "",
        f"dqm: --annotate {other} already exists; dqm never replaces a file (it may be someone's "
        f"work). Give a new name, such as {source.stem}-findings.xlsx, or move that file away.\n",
    )
    assert other.read_bytes() == b"someone's workbook"


def test_annotated_copy_and_template_must_be_xlsx(tmp_path, dqm, hostile_copy):
    source = hostile_copy("number_as_word")
    assert dqm("validate", source, "--annotate", tmp_path / "checked.csv") == (
        2,
        "",
        f"dqm: --annotate {tmp_path / 'checked.csv'}: the annotated copy is an Excel workbook; "
        f"give a name ending in .xlsx, such as {source.stem}-findings.xlsx.\n",
    )
    assert dqm("template", tmp_path / "x.csv") == (
        2,
        "",
        f"dqm: {tmp_path / 'x.csv'}: a template is an Excel workbook; give a name ending in "
        ".xlsx, such as x.xlsx.\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [source.name]


# -- a full disk ------------------------------------------------------------------------------------

# In a private mount namespace: a 256 KiB tmpfs, the store copied onto it, the rest filled; then
# the command ("$@"), then the store copied back out for the test to read, then the filler removed
# and the command run again.
FULL_DISK = """
set -e
mount -t tmpfs -o size=256k tmpfs "$DISK"
cp -a "$STORE" "$DISK/exports"
dd if=/dev/zero of="$DISK/filler" bs=4k 2>/dev/null || true
set +e
"$@"
code=$?
cp -a "$DISK/exports" "$AFTER/full"
rm "$DISK/filler"
"$@" > "$AFTER/again.out" 2> "$AFTER/again.err"
echo $? > "$AFTER/again.code"
cp -a "$DISK/exports" "$AFTER/freed"
exit $code
"""


def own_mounts(script: str) -> list[str]:
    """dqm_process's `wrap` for `script`, run by sh in a private mount namespace ("$@" is dqm)."""
    unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
    return [*unshare, "sh", "-c", script, "sh"]


def test_compile_on_a_full_disk_is_one_line_and_leaves_the_store_as_it_was(
    revised, exports_copy, tmp_path, dqm_process
):
    disk, after = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    after.mkdir()
    ran = dqm_process(
        "compile",
        revised,
        "--exports",
        disk / "exports",
        wrap=own_mounts(FULL_DISK),
        env={"DISK": str(disk), "STORE": str(exports_copy), "AFTER": str(after)},
    )
    folder = disk / "exports" / RULESET
    assert ran == (2, "", f"dqm: Cannot write {folder / 'v5.jdm.json'}: the disk is full.\n")
    # Nothing half-written: the store exactly as it was, no temporary file, no orphan graph.
    assert snapshot(after / "full") == snapshot(exports_copy)
    # With room again, the same compile publishes v5 with its graph and a true index.
    assert (after / "again.code").read_text() == "0\n"
    assert (after / "again.out").read_text() == f"{folder / 'v5.json'}\n"
    store = Store(after / "freed")
    assert store.versions(RULESET) == [1, 2, 3, 4, 5]
    assert store.path(RULESET, 4, "jdm.json").exists()
    assert store.index_problems(RULESET) == []


# Standard output on a 256 KiB tmpfs: the decisions (~700 KB) cannot all fit.
STDOUT_ON_A_FULL_DISK = """
set -e
mount -t tmpfs -o size=256k tmpfs "$DISK"
set +e
"$@" > "$DISK/decisions"
"""


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("unbuffered", ["1", ""])
def test_decide_onto_a_full_disk_through_stdout_is_one_line_never_a_silent_cut(
    fmt, unbuffered, tmp_path, dqm_process
):
    # With PYTHONUNBUFFERED (as in many containers) standard output is Python's raw file, whose
    # write may take part of what it is given without an error: the CSV was cut at 256 KiB and
    # the command said nothing and exited 0. Without it, the error came twice, the second time
    # as Python exited ("Exception ignored in: <_io.TextIOWrapper name='<stdout>'…", exit 120).
    claims = tmp_path / "claims.csv"
    rows = "".join(f"C{i},imatinib-400mg-tab,retail,61,,\n" for i in range(5_000))
    claims.write_text(
        "claim_id,product_id,channel,quantity,concomitant_drugs,attested_criteria\n" + rows
    )
    disk = tmp_path / "disk"
    disk.mkdir()
    ran = dqm_process(
        "decide",
        claims,
        "--ruleset",
        RULESET,
        "--format",
        fmt,
        wrap=own_mounts(STDOUT_ON_A_FULL_DISK),
        env={"DISK": str(disk), "PYTHONUNBUFFERED": unbuffered},
    )
    assert ran == (
        2,
        "",
        "dqm: Cannot write the decisions to standard output: No space left on device.\n",
    )


def full_at(monkeypatch, name: str) -> None:
    """The disk fills up while the file `name` is being written (in this process)."""
    real = atomic._temp_beside

    def temp_beside(path, data, *args, **kwargs):
        if Path(path).name == name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data, *args, **kwargs)

    monkeypatch.setattr(atomic, "_temp_beside", temp_beside)


@pytest.mark.parametrize("name", ["v5.jdm.json", "v5.json"])
def test_disk_full_before_the_version_is_in_place_publishes_nothing(
    name, revised, exports_copy, dqm, monkeypatch
):
    before = snapshot(exports_copy)
    full_at(monkeypatch, name)
    path = exports_copy / RULESET / name
    assert dqm("compile", revised, "--exports", exports_copy) == (
        2,
        "",
        f"dqm: Cannot write {path}: the disk is full.\n",
    )
    # A graph written before its version failed is taken back: no orphan for a reader to meet.
    assert snapshot(exports_copy) == before


def test_disk_full_at_the_index_leaves_a_whole_version_and_says_so(
    revised, exports_copy, dqm, monkeypatch
):
    store = Store(exports_copy)
    folder = exports_copy / RULESET
    with monkeypatch.context() as patch:
        full_at(patch, "index.json")
        assert dqm("compile", revised, "--exports", exports_copy) == (
            2,
            "",
            f"dqm: Cannot write {folder / 'index.json'}: the disk is full. v5 itself is "
            f"published whole ({folder / 'v5.json'}, with its graph); the next dqm compile "
            "brings index.json up to date.\n",
        )
    assert store.versions(RULESET) == [1, 2, 3, 4, 5]
    assert store.path(RULESET, 4, "jdm.json").exists()
    assert store.index_problems(RULESET) == [
        f"{folder / 'index.json'} does not list the version files."
    ]
    assert dqm("compile", revised, "--exports", exports_copy) == (
        0,
        f"Nothing changed: v5 is current ({folder / 'v5.json'}).\n",
        f"dqm: {folder / 'index.json'} now lists v5, published whole by a compile that was cut "
        f"short before it listed it.\n{unchanged_note(store.load(RULESET, 5))}\n",
    )
    assert store.index_problems(RULESET) == []


def test_decisions_output_is_replaced_whole_or_not_at_all(tmp_path, dqm, monkeypatch):
    claims = tmp_path / "claims.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,61\n")
    out = tmp_path / "decisions.json"
    out.write_text("[]\n")
    real_fsync = atomic.os.fsync

    def fsync_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", fsync_full)
    ran = dqm("decide", claims, "--ruleset", RULESET, "--format", "json", "--output", out)
    assert ran == (2, "", f"dqm: Cannot write {out}: the disk is full.\n")
    assert out.read_text() == "[]\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv", "decisions.json"]
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    assert dqm("decide", claims, "--ruleset", RULESET, "--format", "json", "--output", out) == (
        0,
        "",
        "dqm: the claims have no date_of_service column, so every claim was decided by the "
        "latest version, v4 (in effect from 2025-12-08).\n",
    )
    (decision,) = json.loads(out.read_text())
    assert (decision["decision"], decision["approved_quantity"]) == ("deny", 0)


def test_decisions_output_may_not_be_the_claims_file(tmp_path, dqm):
    claims = tmp_path / "claims.csv"
    claims.write_text("product_id,channel,quantity\nimatinib-400mg-tab,retail,61\n")
    assert dqm(
        "decide", claims, "--ruleset", RULESET, "--output", tmp_path / "." / "claims.csv"
    ) == (
        2,
        "",
        f"dqm: --output {tmp_path / '.' / 'claims.csv'} is the claims file itself; give another "
        "file name for the decisions.\n",
    )
    assert claims.read_text().startswith("product_id")


def test_no_temporary_file_is_left_when_a_write_fails(tmp_path, monkeypatch):
    def fsync_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", fsync_full)
    for write in (atomic.replace_file, atomic.create_file):
        with pytest.raises(atomic.WriteError, match="the disk is full"):
            write(tmp_path / "x.json", b"{}")
    assert list(tmp_path.iterdir()) == []
