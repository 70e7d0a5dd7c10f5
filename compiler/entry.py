"""The `dqm` console script.

A `dqm` command is a short-lived process that builds hundreds of thousands of small objects and
exits, so it skips two costs that buy it nothing (benchmarks/README.md has the figures):
- Python's cyclic garbage collector, which walks those objects again and again (a third of
  `dqm compile`'s time on the 20,000-row benchmark) and frees almost nothing: reference counting
  frees the rest;
- freeing them one by one at exit (a quarter of a second): once its output is flushed and its
  files closed, the command leaves with os._exit and the system takes the memory back whole.
The library, the app and the tests keep both.

pandera imports hypothesis (0.1 s) whenever it is installed, only to offer data generation, which
no command uses; the command hides it from pandera.
"""

from __future__ import annotations

import gc
import os
import sys


def main() -> int:
    gc.disable()
    sys.modules.setdefault("hypothesis", None)  # `import hypothesis` now raises ImportError
    from .cli import main as run

    code = run()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # as Python's own exit would report a lost write
            code = code or 120
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
