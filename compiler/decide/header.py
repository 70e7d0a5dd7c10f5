"""A claims file's header: each column's contract key, and what a claims file (or a history of
fills) must name."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..errors import ClaimsFileError
from ..vocabulary import CLAIM_COLUMNS, PRODUCT_CLAIM_COLUMNS, REQUIRED_CLAIM_COLUMNS
from . import csvtext
from .csvtext import column_key

# What the reader keeps of a file: the claims columns, and a history's `status` (paid or reversed:
# decide/run.py reads it; a claims file's is named as ignored, and deciding never reads it).
READ_COLUMNS = [*CLAIM_COLUMNS, "status"]
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
# Called with a file's header names and their contract keys, once per file read.
OnHeader = Callable[[str, list[str], list[str]], None]


def header_keys(
    name: str,
    headers: list[str],
    header_line: str,
    columns: str = "its header row has",
    mapping: Mapping[str, str] | None = None,
    on_header: OnHeader | None = None,
) -> list[str]:
    """Each header as its contract key; extra columns get a private name so they are ignored.
    `columns` words where the names come from in the message for a missing column; `mapping`
    reads a column of the file's own name as a contract column (csvtext.column_mapping)."""
    keys = [column_key(h) for h in headers]
    history = isinstance(mapping, HistoryColumns)
    mapping = csvtext.column_mapping(mapping)
    for theirs, ours in mapping.items():
        if theirs not in keys:
            raise ClaimsFileError(
                f"{name} has no column {theirs} to read as {ours} (--column {theirs}={ours}); "
                f"its columns are {csvtext.listed(headers) or 'none'}."
            )
    keys = [mapping.get(k, k) for k in keys]
    missing = _missing(keys, history)
    if missing:
        for delimiter, word in _OTHER_DELIMITERS.items():
            if not _missing([column_key(h) for h in header_line.split(delimiter)], history):
                raise ClaimsFileError(
                    f"{name} separates its columns with {word}; dqm reads comma-separated CSV. "
                    "Save it as CSV UTF-8 (Comma delimited)."
                )
        shown = ", ".join(h.strip() for h in headers if h.strip()) or "nothing"
        raise ClaimsFileError(
            f"{name} has no {' column and no '.join(missing)} column ({columns}: {shown}); "
            f"{'the header row' if 'header' in columns else 'it'} must name "
            f"{_needed(HISTORY_REQUIRED if history else REQUIRED_CLAIM_COLUMNS)}."
        )
    seen: set[str] = set()
    out = []
    for i, key in enumerate(keys):
        if key in READ_COLUMNS and key in seen:
            raise ClaimsFileError(f"{name} has two {key} columns; delete one.")
        seen.add(key)
        out.append(key if key in READ_COLUMNS else f"__extra_{i}")
    if on_header is not None:
        on_header(name, list(headers), out)
    return out


class HistoryColumns(dict):
    """The column mapping of a history file (the members' earlier fills), whose rows need no
    channel but a member, a date and a quantity (HISTORY_REQUIRED)."""


HISTORY_REQUIRED = ["member_id", "date_of_service", "quantity"]


def _needed(required: list[str]) -> str:
    return (
        f"{', '.join(required)} and at least one of {', '.join(PRODUCT_CLAIM_COLUMNS[:-1])}"
        f" and {PRODUCT_CLAIM_COLUMNS[-1]}"
    )


def _missing(keys: list[str], history: bool = False) -> list[str]:
    """The columns a claims file needs and `keys` lacks: channel, quantity, and a way to name the
    product (product_id, ndc or rxcui); a history's, a member and a date for the channel."""
    missing = [
        c for c in (HISTORY_REQUIRED if history else REQUIRED_CLAIM_COLUMNS) if c not in keys
    ]
    if not any(c in keys for c in PRODUCT_CLAIM_COLUMNS):
        missing.insert(0, f"{', '.join(PRODUCT_CLAIM_COLUMNS[:-1])} or {PRODUCT_CLAIM_COLUMNS[-1]}")
    return missing
