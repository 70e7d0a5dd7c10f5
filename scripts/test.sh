#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up, lint (ruff check, ruff format --check), then
# pytest with every tier: the fast tier, browser, spark, node, libreoffice and timing
# (tests/fixtures/tiers.py). DQM_ALL_TIERS=1 selects them all and makes a missing tool a failure,
# never a skip; every tier has tests (a tier with none is refused), so no run is ever empty.
# Arguments (paths, -k, -x…) run that selection instead, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
export DQM_ALL_TIERS=1
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi
# Every tier but timing in two workers; then the timing tier alone in one process, so that its
# wall-time and memory measurements see no other test. Both run; either failing fails this.
status=0
.venv/bin/python -m pytest -m "not timing" || status=$?
.venv/bin/python -m pytest -m timing -n 0 || status=$?
exit "$status"
