#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up, then pytest (browser tier included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
