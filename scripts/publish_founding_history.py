"""Publish the founding policy's three reviews as v1, v2 and v3 into exports/ (run once, on an
empty store): v1 and v2 are the bundled workbook with History cut back to that review (their Review
Date with it); v3 is workbook/oncology-dqm.xlsx itself."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from founding_workbook import rows  # noqa: E402

from compiler.ruleset.compile import compile_workbook  # noqa: E402
from compiler.workbook.template import write_workbook  # noqa: E402


def main(exports: Path = ROOT / "exports") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for reviews in (1, 2, 3):
            path = write_workbook(Path(tmp) / "oncology-dqm.xlsx", rows(reviews))
            if reviews == 3:  # the current review is the bundled workbook itself
                path = ROOT / "workbook" / "oncology-dqm.xlsx"
            result = compile_workbook(path, exports)
            if not result.ok:
                raise SystemExit(f"review {reviews} did not publish: {result.findings}")
            print(result.outcome.path)


if __name__ == "__main__":
    main()
