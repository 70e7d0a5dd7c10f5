#!/usr/bin/env bash
# Set up a fresh clone: Debian packages the tests use (Chromium, LibreOffice Calc, Node.js, HAProxy,
# Java 17+ for Spark), a virtualenv in .venv with dqm, its dev dependencies and the spark extra.
# Safe to run again. `--app-only` skips the Debian packages only the tests need.
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
command -v node >/dev/null 2>&1 || need+=(nodejs)  # the second, independent consumer's tests
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)  # several app processes: scripts/serve.sh
# Spark 4 (the spark extra's tests) needs Java 17 or later: install it where java is missing or older.
java_major=$( (java -version 2>&1 || true) | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
if [ "${1:-}" != "--app-only" ] && [ "${java_major:-0}" -lt 17 ]; then
  $sudo apt-get update -qq
  if apt-cache show openjdk-17-jre-headless >/dev/null 2>&1; then
    need+=(openjdk-17-jre-headless)
  else
    need+=(openjdk-21-jre-headless)  # Debian 13 has no Java 17
  fi
fi
if [ "${1:-}" != "--app-only" ] && [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi
if [ ! -x .venv/bin/python ]; then
  # Debian's python3 needs python3-venv for this; install it when it is missing.
  python3 -m venv .venv 2>/dev/null || { rm -rf .venv; apt_install python3-venv; python3 -m venv .venv; }
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev,spark]"
# The package's bytecode, as pip writes it for an installed package (an editable install leaves
# it to the first run, and none is written where PYTHONDONTWRITEBYTECODE is set).
.venv/bin/python -m compileall -q compiler app.py app_pages >/dev/null
