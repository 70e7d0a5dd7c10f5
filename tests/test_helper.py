"""The `dqm` command's helper process (compiler/helper.py): it reads the workbook while the main
process imports pandas, and makes the JDM graph while the store writes the version. Each case runs
in a fresh interpreter, as the command does."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from compiler import helper, jdm, raw
from compiler.store import Store, canonical_bytes

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "workbook" / "oncology-dqm.xlsx"
DQM = str(ROOT / ".venv" / "bin" / "dqm")


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_helper_reading_is_the_reading_the_main_process_would_make():
    out = run(f"""
import hashlib, sys
from pathlib import Path
from compiler import helper, raw
helper.start({str(BUNDLED)!r})
assert helper._helper is not None, "no helper was started"
assert "pandas" not in sys.modules
data = Path({str(BUNDLED)!r}).read_bytes()
got = helper.take({str(BUNDLED)!r}, hashlib.sha256(data).hexdigest(), data)
limits = got.sheets.get("Limits")  # waits for that sheet only
sheets = dict(got.sheets.items())
expected = raw.read_raw(data, "oncology-dqm.xlsx")
assert (got.container, got.problem, sheets) == (expected.container, expected.problem, expected.sheets)
print(list(sheets), len(limits.rows), limits.rows[2][4])
""")
    assert out == ("['Ruleset', 'Policies', 'Limits', 'Criteria', 'Overrides', 'Drug Lists', "
                   "'History', 'Tests'] 3 60.0")


def test_a_reading_of_other_bytes_is_not_used():
    out = run(f"""
from compiler import helper
helper.start({str(BUNDLED)!r})
print(helper.take({str(BUNDLED)!r}, "0" * 64, b""), helper.take({str(BUNDLED)!r}, "0" * 64, b""))
""")
    assert out == "None None"


def test_no_helper_from_a_process_with_threads():
    # A forked copy of a lock another thread holds can deadlock the child: only a one-thread
    # process (the command before it imports numpy) forks.
    out = run(f"""
import threading
from compiler import helper
stop = threading.Event()
threading.Thread(target=stop.wait).start()
helper.start({str(BUNDLED)!r}, jdm=True)
print(helper._helper, helper.submit_jdm({{}}, None), helper.jdm_file(1, ""))
stop.set()
""")
    assert out == "None None None"


def test_a_helper_that_dies_leaves_the_reading_to_the_main_process():
    out = run(f"""
import os, signal
from compiler import helper
helper.start({str(BUNDLED)!r})
os.kill(helper._helper.pid, signal.SIGKILL)
from compiler.validate import validate_file
r = validate_file({str(BUNDLED)!r})
print(helper._helper.reading, r.ok, r.findings, len(r.frames["Limits"]))
""")
    assert out == "None True [] 2"


def test_a_stream_cut_half_way_is_finished_by_the_main_process(tmp_path):
    # As if the helper died after its second sheet: the rest comes from reading the file here.
    data = BUNDLED.read_bytes()
    whole = raw.read_raw(data, BUNDLED.name)
    pieces = list(raw.stream(data, BUNDLED.name))
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as out:
        for piece in [hashlib.sha256(data).hexdigest(), *pieces[:3]]:
            helper._send(out, piece)
    helper._helper = helper._Helper(pid=0, workbook=str(BUNDLED), reading=read_end, job=-1, result=None)
    try:
        got = helper.take(BUNDLED, hashlib.sha256(data).hexdigest(), data)
        assert got.sheets.get("Policies") == whole.sheets["Policies"]
        assert got.sheets.get("Tests") == whole.sheets["Tests"]
        assert dict(got.sheets.items()) == whole.sheets
    finally:
        helper._helper = None


def test_helper_makes_the_jdm_graph_the_store_would_make(tmp_path):
    v3 = Store(ROOT / "exports").load("oncology-dqm", 3)
    out = run(f"""
import hashlib
from pathlib import Path
from compiler import helper
helper.start({str(BUNDLED)!r}, jdm=True)
from compiler import store
data = Path({str(BUNDLED)!r}).read_bytes()
assert helper.take({str(BUNDLED)!r}, hashlib.sha256(data).hexdigest(), data).sheets.items()
v3 = store.Store({str(ROOT / "exports")!r}).load("oncology-dqm", 3)
helper.submit_jdm(v3, Path({str(tmp_path / "v3.jdm.json")!r}))
assert helper.jdm_file(3, "another ruleset") is None
print(helper.jdm_file(3, v3["content_sha256"]))
""")
    made = Path(out)
    assert made.parent == tmp_path and made.name.startswith(".v3.jdm.json.helper-") and made.suffix == ".part"
    assert made.read_bytes() == canonical_bytes(jdm.graph(v3))
    assert oct(made.stat().st_mode & 0o777) == "0o644"


def test_sweep_removes_a_gone_helpers_file_and_keeps_a_running_ones(exports_copy):
    folder = exports_copy / "oncology-dqm"
    gone = folder / ".v4.jdm.json.helper-999999999.x1.part"  # no such process
    running = folder / f".v4.jdm.json.helper-{os.getpid()}.x2.part"
    for p in (gone, running):
        p.write_bytes(b"{}")
    Store(exports_copy)._sweep(folder)
    assert (gone.exists(), running.exists()) == (False, True)


def test_a_helper_killed_before_the_graph_leaves_it_to_the_store(tmp_path):
    out = run(f"""
import hashlib, os, signal
from pathlib import Path
from compiler import helper
helper.start({str(BUNDLED)!r}, jdm=True)
from compiler.publish import compile_workbook
os.kill(helper._helper.pid, signal.SIGKILL)
r = compile_workbook({str(BUNDLED)!r}, {str(tmp_path / "exports")!r})
print(r.outcome.version, helper._helper.reading, helper._helper.result)
""")
    assert out == "1 None None"
    published = Store(tmp_path / "exports")
    assert (tmp_path / "exports/oncology-dqm/v1.jdm.json").read_bytes() == canonical_bytes(
        jdm.graph(published.load("oncology-dqm", 1)))


def test_dqm_compile_writes_the_version_and_graph_the_library_writes(tmp_path):
    for exports in ("cli", "library"):
        (tmp_path / exports).mkdir()
    done = subprocess.run([DQM, "compile", str(BUNDLED), "--exports", str(tmp_path / "cli")],
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, f"{tmp_path / 'cli/oncology-dqm/v1.json'}\n")
    run(f"from compiler.publish import compile_workbook; compile_workbook({str(BUNDLED)!r}, "
        f"{str(tmp_path / 'library')!r})")
    for name in ("v1.json", "v1.jdm.json", "index.json"):
        assert (tmp_path / "cli/oncology-dqm" / name).read_bytes() == \
            (tmp_path / "library/oncology-dqm" / name).read_bytes(), name


def test_dqm_validate_reads_through_the_helper_and_reports_cells(founding_rows, make_workbook):
    founding_rows["Limits"][1][4] = "sixty"
    path = make_workbook(founding_rows)
    done = subprocess.run([DQM, "validate", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stdout.startswith("ERROR Limits!E3 (found: 'sixty'): 'Retail Max Qty per Rx' must be a "
                                  "number. Type a number such as 60, in digits.")


def test_a_stream_leaves_its_last_sheets_and_the_reader_reads_the_same_ones():
    data = BUNDLED.read_bytes()
    whole = raw.read_raw(data, BUNDLED.name)
    pieces = raw.stream(data, BUNDLED.name, leave=0.7)
    head = next(pieces)
    sent = {s.name: s for s in pieces}
    # Cells by the sheets' extents: Tests 207 and History 16 of 359 are within 70%; with Drug
    # Lists' 36 they would not be.
    assert head.left == ("History", "Tests")
    assert list(sent) == ["Ruleset", "Policies", "Limits", "Criteria", "Overrides", "Drug Lists"]
    assert {**sent, **{s.name: s for s in raw.read_left(data, head.container, head.left)}} == whole.sheets
    assert next(raw.stream(data, BUNDLED.name)).left == ()


def test_dqm_compile_leaves_no_temporary_files_when_it_publishes_nothing(founding_rows, make_workbook,
                                                                          exports_copy):
    # Unchanged: no graph is asked for. Refused (rules changed, no new History row): the graph the
    # helper made for v4 is removed.
    founding_rows["Limits"][1][4] = 90
    founding_rows["Overrides"][0][2] = 120
    founding_rows["Tests"] = [t for t in founding_rows["Tests"]
                              if t[1] != "imatinib-400mg-tab" or t[2] != "Retail"]
    for workbook, code in ((BUNDLED, 0), (make_workbook(founding_rows), 1)):
        done = subprocess.run([DQM, "compile", str(workbook), "--exports", str(exports_copy)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == code, done.stderr
        assert sorted(p.name for p in (exports_copy / "oncology-dqm").iterdir()) == [
            ".lock", "index.json", "v1.jdm.json", "v1.json", "v2.jdm.json", "v2.json", "v3.jdm.json",
            "v3.json"]
