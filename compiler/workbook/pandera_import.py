"""pandera, imported without pandas-on-Spark.

pandera imports `pyspark.pandas` whenever pyspark is installed (on import, and again when a
schema is first built) (dqm's `spark` extra), only to undo
a patch pandas-on-Spark makes to pandas' typing, which dqm never uses: that import costs ~0.7 s and
prints a FutureWarning under pandas 3 on every `dqm validate`. It is blocked while pandera loads,
unless the process has already imported it; afterwards `import pyspark.pandas` works as usual.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


def pandera_pandas() -> ModuleType:
    """The `pandera.pandas` module."""
    if "pandera.pandas" in sys.modules:
        return sys.modules["pandera.pandas"]
    block = "pyspark.pandas" not in sys.modules
    if block:
        sys.modules["pyspark.pandas"] = None  # `import pyspark.pandas` raises ImportError
    try:
        module = importlib.import_module("pandera.pandas")
        # Imported when a schema is first built, and it too tries pyspark.pandas: load it now.
        importlib.import_module("pandera.typing.pyspark")
        return module
    finally:
        if block and sys.modules.get("pyspark.pandas", 0) is None:
            del sys.modules["pyspark.pandas"]
