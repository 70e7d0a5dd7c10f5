#!/usr/bin/env bash
# The main job from a fresh clone: set up, compile the bundled workbook, open the reviewer app.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --app-only
.venv/bin/dqm compile workbook/oncology-dqm.xlsx
exec .venv/bin/streamlit run app.py --server.address 127.0.0.1 --server.headless true "$@"
