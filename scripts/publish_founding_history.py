"""Publish the founding policy's four reviews as v1 to v4 into exports/ (run once, on an empty
store): v1 to v3 are the bundled workbook with History cut back to that review (their Review Date
with it, and without the Product Codes and Effective Date that came with v4); v4 is
workbook/oncology-dqm.xlsx itself. (v1-v3 were published by the code of their day, in schema 1;
this script publishes them in the current schema, with the same content hashes.)"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from founding_workbook import HISTORY, rows  # noqa: E402

from compiler.ruleset.compile import compile_workbook  # noqa: E402
from compiler.workbook.template import write_workbook  # noqa: E402


def main(exports: Path = ROOT / "exports") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for reviews in range(1, len(HISTORY) + 1):
            path = write_workbook(Path(tmp) / "oncology-dqm.xlsx", rows(reviews))
            if reviews == len(HISTORY):  # the current review is the bundled workbook itself
                path = ROOT / "workbook" / "oncology-dqm.xlsx"
            result = compile_workbook(path, exports)
            if not result.ok:
                raise SystemExit(f"review {reviews} did not publish: {result.findings}")
            print(result.outcome.path)


if __name__ == "__main__":
    main()
