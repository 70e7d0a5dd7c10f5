"""The one base of every error dqm raises on purpose. Its text is one line for the person who
asked (never a traceback); `code` is what a program branches on. The command line prints the
text and exits 2; the app shows it; a library caller catches `DqmError` or one kind below it."""

from __future__ import annotations


class DqmError(Exception):
    """A problem dqm can name: bad input, a refused store, a write that failed."""

    code = "dqm"


class UsageError(DqmError):
    """An argument that cannot be acted on: a missing file, a version that is not a number, two
    choices that exclude each other."""

    code = "usage"


class StoreError(DqmError):
    """A problem with the exports store (a version refused, none published), worded for the person
    who asked."""

    code = "store"


class WriteError(DqmError):
    """A file dqm could not write: `Cannot write PATH: REASON.`"""

    code = "write"

    def __init__(self, path, reason: str):
        from pathlib import Path

        self.path, self.reason = Path(path), reason
        super().__init__(f"Cannot write {path}: {reason}.")


class ClaimsFileError(DqmError):
    """A claims file that cannot be read as claims at all."""

    code = "claims_file"


class NoVersionInEffect(DqmError):
    """No version of the ruleset is in effect on the date asked for; the message says which
    version takes effect first."""

    code = "no_version_in_effect"


class AnnotateError(DqmError):
    """An annotated copy of a workbook that cannot be written as asked."""

    code = "annotate"


class ConformanceError(DqmError):
    """The conformance vectors cannot be made, or are stale."""

    code = "conformance"


class OverBudget(DqmError):
    """A job in a child process stopped: out of time or memory, or it died."""

    code = "over_budget"
