"""The `dqm` console script.

A `dqm` command is a short-lived process that builds hundreds of thousands of small objects and
exits: Python's cyclic garbage collector, walking them again and again, cost a third of
`dqm compile`'s time on the 20,000-row benchmark and freed almost nothing (reference counting
frees the acyclic rest; see benchmarks/README.md). So the command runs with it off; the library,
the app and the tests keep it on.

pandera imports hypothesis (0.1 s) whenever it is installed, only to offer data generation, which
no command uses; the command hides it from pandera.
"""

from __future__ import annotations

import gc
import sys


def main() -> int:
    gc.disable()
    sys.modules.setdefault("hypothesis", None)  # `import hypothesis` now raises ImportError
    from .cli import main as run

    return run()


if __name__ == "__main__":
    sys.exit(main())
