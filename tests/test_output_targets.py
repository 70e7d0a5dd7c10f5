"""--output replaces only a regular file: a named pipe, a device or a symbolic link given as the
output is refused in one line; an open descriptor's name (/dev/stdout, bash's `>(gzip)`) is written
through; the temporary files of a writer that was killed are removed by the next write."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from tests.fixtures.paths import EXPORTS

CLAIMS = "claim_id,product_id,channel,quantity\nA,imatinib-400mg-tab,retail,60\n"
# What dqm decide says of CLAIMS (no dates), decided by a ruleset of more than one version.
LATEST = (
    "dqm: the claims have no date_of_service column, so every claim was decided by the latest "
    "version, v4 (in effect from 2025-12-08).\n"
)


@pytest.fixture
def claims(tmp_path):
    path = tmp_path / "claims.csv"
    path.write_text(CLAIMS)
    return path


def decide(dqm, claims, output):
    return dqm(
        "decide", claims, "--ruleset", "oncology-dqm", "--exports", EXPORTS, "--output", output
    )


def test_a_named_pipe_is_refused_not_replaced(dqm, claims, tmp_path):
    fifo = tmp_path / "decisions.csv"
    os.mkfifo(fifo)
    assert decide(dqm, claims, fifo) == (
        2,
        "",
        f"dqm: --output {fifo} is a named pipe (FIFO); dqm writes its decisions into a regular "
        f"file, which it replaces whole. To write into it, leave out --output and redirect "
        f"standard output (> {fifo}).\n",
    )
    assert os.path.exists(fifo) and not os.path.isfile(fifo)


def test_a_device_is_refused_not_replaced(dqm, claims, tmp_path):
    device = tmp_path / "full"
    os.mknod(device, 0o666 | 0o020000, os.makedev(1, 7))  # a copy of /dev/full
    code, _, err = decide(dqm, claims, device)
    assert (code, err.split(";")[0]) == (2, f"dqm: --output {device} is a device")
    assert not os.path.isfile(device)


def test_a_symbolic_link_is_refused_naming_what_it_points_to(dqm, claims, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("kept\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert decide(dqm, claims, link) == (
        2,
        "",
        f"dqm: --output {link} is a symbolic link; dqm replaces only a regular file. Give the path "
        f"it points to ({target}), or another name.\n",
    )
    assert (link.is_symlink(), target.read_text()) == (True, "kept\n")


def test_a_pipe_given_by_name_is_written_through(claims, tmp_path):
    # bash's `dqm decide … --output >(wc -l)`: the output is /dev/fd/N, a pipe the process holds.
    read, write = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read())"],
        stdin=read,
        stdout=subprocess.PIPE,
    )
    os.close(read)
    run = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "dqm"),
            "decide",
            str(claims),
            "--ruleset",
            "oncology-dqm",
            "--exports",
            str(EXPORTS),
            "--output",
            f"/dev/fd/{write}",
        ],
        pass_fds=(write,),
        capture_output=True,
        text=True,
    )
    os.close(write)
    through = proc.communicate(timeout=60)[0].decode()
    assert (run.returncode, run.stderr) == (0, LATEST)
    assert through.splitlines()[1] == (
        '"A","imatinib-400mg-tab","imatinib-per-rx","retail","60",,"approve",60,,60,,,,,,,'
        '"Within the Retail limit of 60 tablets per Rx.","oncology-dqm",4'
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]


def test_a_killed_writers_temporary_files_are_removed_by_the_next_write(dqm, claims, tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    left = tmp_path / f".out.csv.dqm-{dead}.k2j3h4.tmp"
    left.write_bytes(b"half a file")
    live = tmp_path / f".out.csv.dqm-{os.getpid()}.a1b2c3.tmp"  # a writer still running
    live.write_bytes(b"being written")
    other = tmp_path / f".other.csv.dqm-{dead}.k2j3h4.tmp"  # another output's
    other.write_bytes(b"not ours")
    assert decide(dqm, claims, tmp_path / "out.csv").code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["claims.csv", "out.csv", live.name, other.name]
    )


def test_an_output_inside_the_claims_folder_is_refused(dqm, tmp_path):
    folder = tmp_path / "claims"
    folder.mkdir()
    (folder / "part-0.csv").write_text(CLAIMS)
    pq.write_table(pacsv.read_csv(folder / "part-0.csv"), folder / "part-0.parquet")
    (folder / "part-0.csv").unlink()
    output = folder / "decisions.parquet"
    assert decide(dqm, folder, output) == (
        2,
        "",
        f"dqm: --output {output} is inside the claims folder {folder}, so the next run would "
        "read these decisions as claims; write them outside it.\n",
    )
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]


def test_an_output_named_for_another_format_is_refused(dqm, claims, tmp_path):
    xlsx, parquet = tmp_path / "out.xlsx", tmp_path / "out.parquet"
    assert decide(dqm, claims, xlsx) == (
        2,
        "",
        f"dqm: --output {xlsx} names a .xlsx file, but dqm writes csv there; it writes csv, "
        "json, jsonl or parquet: name it .csv or .parquet.\n",
    )
    assert dqm(
        "decide",
        claims,
        "--ruleset",
        "oncology-dqm",
        "--exports",
        EXPORTS,
        "--output",
        parquet,
        "--format",
        "csv",
    ) == (
        2,
        "",
        f"dqm: --output {parquet} names a .parquet file, but dqm writes csv there (--format csv); "
        "name it .csv, or leave out --format.\n",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.csv"]
    assert decide(dqm, claims, tmp_path / "decisions").code == 0  # no suffix: csv
    assert (tmp_path / "decisions").read_text().startswith('"claim_id",')


def test_a_large_output_is_handed_to_the_disk_as_it_is_written(tmp_path, monkeypatch):
    """Every WRITE_BEHIND bytes the file is flushed and the system told to write its pages (and
    keep no copy): the final fsync waits on the last few only."""
    from compiler import atomic

    assert atomic._ADVISE is os.posix_fadvise  # Linux has it: the real call, not a stand-in
    advised = []

    def advise(fd, offset, length, advice):
        advised.append((os.fstat(fd).st_size, offset, length, advice))  # flushed before

    monkeypatch.setattr(atomic, "_ADVISE", advise)
    piece = bytes(range(256)) * 4096  # 1 MiB
    out = tmp_path / "big.csv"
    with atomic.writing(out) as sink:
        sink.writelines([piece] * 20)
        sink.write(b"end\n")
    assert advised == [(size << 20, 0, 0, os.POSIX_FADV_DONTNEED) for size in (8, 16)]
    assert out.read_bytes() == piece * 20 + b"end\n"
