#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up, lint (ruff check, ruff format --check), then
# pytest with every tier: the fast tier, browser, spark, node, libreoffice and timing
# (tests/fixtures/tiers.py). DQM_ALL_TIERS=1 selects them all and makes a missing tool a failure,
# never a skip; every tier has tests (a tier with none is refused), so the run is never empty.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
export DQM_ALL_TIERS=1
exec .venv/bin/python -m pytest "$@"
