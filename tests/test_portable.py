"""dqm runs where POSIX-only modules do not exist (policy staff on Windows laptops): every module
of the package imports, and compile, decide and versions run, in a process that cannot import
fcntl, termios, pwd, grp or resource, and whose os has no fchmod, fchown, getuid or getgid."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

from tests.fixtures.paths import ROOT, WORKBOOK

POSIX_ONLY = ["fcntl", "termios", "pwd", "grp", "resource"]

CHILD = r"""
import io, json, sys, warnings

for name in sys.argv[1].split(","):
    sys.modules[name] = None  # `import fcntl` now raises ImportError, as it does on Windows
import os
for name in ("fchmod", "fchown", "getuid", "getgid"):  # and os without what Windows lacks
    delattr(os, name)
# Without flock, filelock says it falls back to its portable lock; that is the point here.
warnings.filterwarnings("ignore", "only soft file lock is available")

import importlib, pkgutil
import compiler

imported = []
for module in pkgutil.walk_packages(compiler.__path__, "compiler."):
    importlib.import_module(module.name)
    imported.append(module.name)

import filelock
from compiler import cli

workbook, exports, claims = sys.argv[2:]
ran = {}
for argv in (["compile", workbook, "--exports", exports],
             ["decide", claims, "--ruleset", "oncology-dqm", "--exports", exports],
             ["versions", "--exports", exports]):
    real, out = sys.stdout, io.BytesIO()
    sys.stdout = captured = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    try:
        code = cli.main(argv)
    finally:
        captured.flush()
        captured.detach()  # keep `out` open once the wrapper is gone
        sys.stdout = real
    ran[argv[0]] = [code, out.getvalue().decode()]
print(json.dumps({"imported": imported, "ran": ran, "lock": filelock.FileLock.__name__,
                  "importable": [n for n in sys.argv[1].split(",") if sys.modules.get(n) is not None]}))
"""


def package_modules() -> list[str]:
    """Every module of compiler/, from its files."""
    names = []
    for path in sorted((ROOT / "compiler").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1:
            names.append(".".join(parts))
    return names


def test_every_module_and_command_runs_without_posix_only_modules(tmp_path):
    # A fresh interpreter: modules this one imported with fcntl in reach cannot be unimported.
    exports, claims = tmp_path / "exports", tmp_path / "claims.csv"
    claims.write_text("claim_id,product_id,channel,quantity\nc1,imatinib-400mg-tab,retail,61\n")
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            ",".join(POSIX_ONLY),
            str(WORKBOOK),
            str(exports),
            str(claims),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert (run.returncode, run.stderr) == (
        0,
        f"first version of oncology-dqm in {exports}: no earlier versions there\n"
        "oncology-dqm v1 takes effect on 12/08/2025: claims dated from then on are decided by it "
        "(no version decided them before).\n",
    )
    result = json.loads(run.stdout)
    assert sorted(result["imported"]) == package_modules()
    assert result["importable"] == []
    assert result["lock"] == "SoftFileLock"  # filelock's lock without flock: what compile held
    # The bundled Effective Date is before its latest review: a v1 of it says so.
    retroactive = (
        "WARNING Ruleset!D2 (found: '12/08/2025'): v1 takes effect on 12/08/2025, before its "
        "latest History Review Date (12/01/2026): it decides claims dated before the review that "
        "made it, from 12/08/2025 on. A correction may apply from an earlier date; if this is "
        "not one, clear this cell (v1 then takes effect on 12/01/2026), or type the date it takes "
        "effect.\n"
    )
    assert result["ran"]["compile"] == [
        0,
        f"{retroactive}{exports / 'oncology-dqm' / 'v1.json'}\n",
    ]
    code, decided = result["ran"]["decide"]
    (decision,) = csv.DictReader(io.StringIO(decided))
    assert (code, decision["claim_id"], decision["decision"], decision["approved_quantity"]) == (
        0,
        "c1",
        "deny",
        "0",
    )
    assert result["ran"]["versions"] == [
        0,
        (
            "oncology-dqm\n"
            "  v1  in effect from 2025-12-08; imatinib-per-rx reviewed 2026-12-01\n"
            "      imatinib-per-rx: History row added: Annual Revision, 2023-12-13: No criteria changes.\n"
            "      imatinib-per-rx: History row added: Annual Revision, 2024-12-17: No criteria changes.\n"
            "      imatinib-per-rx: History row added: Annual Revision, 2025-12-08: No criteria changes.\n"
            "      imatinib-per-rx: History row added: Selected Revision, 2026-12-01: Product codes "
            "added (NDC and RxCUI) so claims can name the products. No criteria changes.\n"
        ),
    ]
