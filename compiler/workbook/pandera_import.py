"""pandera, imported without pandas-on-Spark.

pandera imports `pyspark.pandas` whenever pyspark is installed (on import, and again when a
schema is first built) (dqm's `spark` extra), only to undo
a patch pandas-on-Spark makes to pandas' typing, which dqm never uses: that import costs ~0.7 s and
prints a FutureWarning under pandas 3 on every `dqm validate`. It is blocked while pandera loads,
unless the process has already imported it; afterwards `import pyspark.pandas` works as usual.

pandera's check of a text column's type answers cell by cell (an array of True) even when the
column's dtype is the string dtype itself, and pandera then builds, prints and drops a table of
failure cases for every such column of every sheet: a third of validating the founding workbook.
That answer is given once for the column instead (`_string_dtype_answers_once`): the same
outcome, since a check that passes reports nothing.
"""

from __future__ import annotations

import functools
import importlib
import sys
from types import ModuleType

import numpy as np


def pandera_pandas() -> ModuleType:
    """The `pandera.pandas` module."""
    if "pandera.pandas" in sys.modules:
        _string_dtype_answers_once()
        return sys.modules["pandera.pandas"]
    block = "pyspark.pandas" not in sys.modules
    if block:
        sys.modules["pyspark.pandas"] = None  # `import pyspark.pandas` raises ImportError
    try:
        module = importlib.import_module("pandera.pandas")
        # Imported when a schema is first built, and it too tries pyspark.pandas: load it now.
        importlib.import_module("pandera.typing.pyspark")
        _string_dtype_answers_once()
        return module
    finally:
        if block and sys.modules.get("pyspark.pandas", 0) is None:
            del sys.modules["pyspark.pandas"]


def _string_dtype_answers_once() -> None:
    """pandera's string dtype check, answering True for the whole column where it would answer
    True for each cell; any other answer (a cell that is not text) is left as pandera gives it."""
    from pandera.engines import pandas_engine

    string = getattr(pandas_engine, "STRING", None)
    check = getattr(string, "check", None)
    if check is None or getattr(check, "_answers_once", False):
        return

    @functools.wraps(check)
    def answer_once(self, pandera_dtype, data_container=None):
        answer = check(self, pandera_dtype, data_container)
        if isinstance(answer, np.ndarray) and answer.dtype == bool and answer.all():
            return True
        return answer

    answer_once._answers_once = True
    string.check = answer_once
