"""Findings: every problem in a workbook as a small record, formatted only at the edge."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, Iterable

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: where it is (sheet, A1 cell, column header), what was there, what to do."""

    sheet: str | None
    cell: str | None
    column: str | None
    value: Any
    message: str
    severity: str = ERROR

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["severity"]
        d["value"] = plain_value(self.value)
        return d

    @property
    def where(self) -> str:
        if self.sheet is None:
            return "Workbook"
        return f"{self.sheet}!{self.cell}" if self.cell else f"Sheet {self.sheet}"


def plain_value(value: Any) -> Any:
    """A JSON-friendly form of a cell value (dates as ISO text, whole floats as ints)."""
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        if value != value:  # NaN: an empty cell
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, (str, int, bool)):
        return value
    return str(value)


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]


def warnings(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == WARNING]


def as_json(findings: list[Finding]) -> dict[str, list[dict[str, Any]]]:
    return {
        "errors": [f.to_dict() for f in errors(findings)],
        "warnings": [f.to_dict() for f in warnings(findings)],
    }


def as_text(findings: list[Finding]) -> str:
    """One line per finding, errors first, as staff read them."""
    lines = []
    for f in errors(findings) + warnings(findings):
        shown = "" if f.value is None else f" (found: {plain_value(f.value)!r})"
        lines.append(f"{f.severity.upper()} {f.where}{shown}: {f.message}")
    return "\n".join(lines)


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
