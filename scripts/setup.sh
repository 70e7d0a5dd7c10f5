#!/usr/bin/env bash
# Set up a fresh clone: Debian packages the tests use (Chromium, LibreOffice Calc), a virtualenv
# in .venv with dqm and its dev dependencies. Safe to run again. `--app-only` skips the Debian
# packages only the tests need.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
apt_install() {
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-calc-nogui)
if [ "${1:-}" != "--app-only" ] && [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi
if [ ! -x .venv/bin/python ]; then
  # Debian's python3 needs python3-venv for this; install it when it is missing.
  python3 -m venv .venv 2>/dev/null || { rm -rf .venv; apt_install python3-venv; python3 -m venv .venv; }
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev]"
# The package's bytecode, as pip writes it for an installed package (an editable install leaves
# it to the first run, and none is written where PYTHONDONTWRITEBYTECODE is set).
.venv/bin/python -m compileall -q compiler app.py app_pages >/dev/null
