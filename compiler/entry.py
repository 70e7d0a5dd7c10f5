"""The `dqm` console script.

A `dqm` command is a short-lived process that builds hundreds of thousands of small objects and
exits, so it skips two costs that buy it nothing (benchmarks/README.md has the figures):
- Python's cyclic garbage collector, which walks those objects again and again (a third of
  `dqm compile`'s time on the 20,000-row benchmark) and frees almost nothing: reference counting
  frees the rest;
- freeing them one by one at exit (a quarter of a second): once its output is flushed and its
  files closed, the command leaves with os._exit and the system takes the memory back whole;
- handing freed memory back to the system only to ask for it again: each fresh page costs a
  fault (~5 µs in this VM, 130,000 of them in a compile), so glibc's malloc is told to keep what
  it frees and to serve buffers of up to 32 MB (a 25 MB version's bytes) from that memory.
The library, the app and the tests keep all three.

pandera imports hypothesis (0.1 s) whenever it is installed, only to offer data generation, which
no command uses; the command hides it from pandera.
"""

from __future__ import annotations

import gc
import os
import sys


def main() -> int:
    gc.disable()
    _keep_freed_memory()
    sys.modules.setdefault("hypothesis", None)  # `import hypothesis` now raises ImportError
    from .cli import main as run

    code = run()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # as Python's own exit would report a lost write
            code = code or 120
    os._exit(code)


def _keep_freed_memory() -> None:
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError, ImportError):  # not glibc: nothing to tune
        return
    trim_threshold, top_pad, mmap_threshold = -1, -2, -3  # glibc's M_* parameters
    mallopt(mmap_threshold, 32 << 20)  # glibc's largest; larger buffers are still mapped
    mallopt(trim_threshold, 1 << 30)
    mallopt(top_pad, 64 << 20)


if __name__ == "__main__":
    sys.exit(main())
