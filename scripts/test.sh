#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up, lint (ruff check, ruff format --check), then
# pytest (browser tier included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"
