"""Findings: every problem in a workbook as a small record, formatted only at the edge."""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..text import cell_text
from ..vocabulary import format_date, json_number, plain_text
from . import catalogue

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)  # slots: a hostile sheet makes half a million of them
class Finding:
    """One problem: what it is (a stable code), where it is (sheet, A1 cell, column header), what
    was there, and the parameters its message needs; the message itself is the catalogue's.
    Findings are compared, never hashed (params is a dict)."""

    code: str  # kebab-case and stable: what tools and tests match on, never the message
    sheet: str | None
    cell: str | None  # A1 reference
    column: str | None  # the header
    value: Any = None  # what was in the cell
    params: Mapping[str, Any] = field(default_factory=dict)  # what the message template needs
    severity: str = ERROR

    def __post_init__(self) -> None:
        if self.code not in catalogue.MESSAGES:  # a typo fails where it is made, not when shown
            raise ValueError(f"no message in the catalogue for finding code {self.code!r}")

    @property
    def message(self) -> str:
        return catalogue.render(self.code, self.params)

    @property
    def where(self) -> str:
        if self.sheet is None:
            return "Workbook"
        return f"{self.sheet}!{self.cell}" if self.cell else f"Sheet {self.sheet}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-friendly values (`dqm validate --json`)."""
        return {
            "code": self.code,
            "sheet": self.sheet,
            "cell": self.cell,
            "column": self.column,
            "value": plain_value(self.value),
            "message": self.message,
            "params": {k: _plain(v) for k, v in self.params.items()},
        }


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    return plain_value(value)


def plain_value(value: Any) -> Any:
    """A JSON-friendly form of a cell value (dates as ISO text, whole floats as ints)."""
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return cell_text(value)
    if isinstance(value, float):  # NaN (an empty cell) is None
        return json_number(value)
    if isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, numbers.Integral):  # numpy's integers
        return int(value)
    return str(value)


def shown_value(value: Any) -> Any:
    """A cell value as people read it beside a message: dates as the messages write them
    (12/01/2026), whatever the cell held; the rest as `plain_value`."""
    if isinstance(value, (dt.date, dt.datetime)):
        return format_date(value)
    return plain_value(value)


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
    """One line per finding, errors first, as staff read them (as plain text: a line break or an
    escape sequence in a cell stays in the cell)."""
    lines = []
    for f in errors(findings) + warnings(findings):
        shown = "" if f.value is None else f" (found: {shown_value(f.value)!r})"
        lines.append(plain_text(f"{f.severity.upper()} {f.where}{shown}: {f.message}"))
    return "\n".join(lines)


def column_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
