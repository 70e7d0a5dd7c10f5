"""The `dqm` command's head start: a forked child reads the workbook while the parent imports
pandas (compiler/raw.py). Each case runs in a fresh interpreter, as the command does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "workbook" / "oncology-dqm.xlsx"


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_prefetched_reading_is_the_reading_the_parent_would_make():
    out = run(f"""
import hashlib, sys
from pathlib import Path
from compiler import raw
raw.prefetch({str(BUNDLED)!r})
assert len(raw._pending) == 1, "no child was started"
assert "pandas" not in sys.modules
data = Path({str(BUNDLED)!r}).read_bytes()
got = raw.take({str(BUNDLED)!r}, hashlib.sha256(data).hexdigest())
assert got == raw.read_raw(data, "oncology-dqm.xlsx")
print(sorted(got.sheets), len(got.sheets["Limits"].rows), got.sheets["Limits"].rows[2][4])
""")
    assert out == ("['Criteria', 'Drug Lists', 'History', 'Limits', 'Overrides', 'Policies', "
                   "'Ruleset', 'Tests'] 3 60.0")


def test_prefetch_of_other_bytes_is_not_used():
    out = run(f"""
from compiler import raw
raw.prefetch({str(BUNDLED)!r})
print(raw.take({str(BUNDLED)!r}, "0" * 64), raw._pending)
""")
    assert out == "None {}"


def test_no_child_from_a_process_with_threads():
    # A forked copy of a lock another thread holds can deadlock the child: only a one-thread
    # process (the command before it imports numpy) forks.
    out = run(f"""
import threading
from compiler import raw
stop = threading.Event()
threading.Thread(target=stop.wait).start()
raw.prefetch({str(BUNDLED)!r})
print(raw._pending)
stop.set()
""")
    assert out == "{}"


def test_a_child_that_sends_nothing_leaves_the_reading_to_the_parent(tmp_path):
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"PK" + b"\0" * 50_000_001)  # over the size limit: the child sends nothing
    out = run(f"""
import hashlib
from pathlib import Path
from compiler import raw
from compiler.validate import validate_file
raw.prefetch({str(big)!r})
r = validate_file({str(big)!r})
print(raw._pending, r.findings[0].message)
""")
    assert out == ("{} The file is 50.0 MB; the most dqm reads is 50 MB. Remove unused sheets, images "
                   "and formatting and save it again.")


def test_dqm_validate_reads_through_the_child_and_reports_cells(founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = "sixty"
    path = make_workbook(founding_rows)
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "dqm"), "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stdout.startswith("ERROR Limits!E3 (found: 'sixty'): 'Retail Max Qty per Rx' must be a "
                                  "number. Type a number such as 60, in digits.")
