#!/usr/bin/env bash
# The reviewer app as N processes behind HAProxy, which keeps each browser on the process that
# holds its session (docs/operations.md, "Several app processes"). Run after bash scripts/setup.sh:
#   bash scripts/serve.sh [N] [streamlit options...]    # N: 2 by default
# The proxy listens on 127.0.0.1:$DQM_PORT (8501), the app processes on 127.0.0.1 from
# $DQM_APP_PORT (8511) up; $DQM_EXPORTS is passed on. Ctrl-C or TERM stops them all, and so does
# any one of them ending.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
[ $# -eq 0 ] || shift
if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
  echo "dqm: serve.sh N: N is the number of app processes (1 or more), not '$n'" >&2
  exit 2
fi
if ! command -v haproxy >/dev/null 2>&1; then
  echo "dqm: haproxy is not installed: apt-get install haproxy (bash scripts/setup.sh does)" >&2
  exit 2
fi
port=${DQM_PORT:-8501}
first=${DQM_APP_PORT:-8511}
run=$(mktemp -d "${TMPDIR:-/tmp}/dqm-serve.XXXXXX")
pids=()

stop() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # Streamlit shuts its sessions down first; whatever is left after 10 s is killed.
    for _ in $(seq 100); do
      kill -0 "${pids[@]}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  rm -rf "$run"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

servers=""
for i in $(seq "$n"); do
  p=$((first + i - 1))
  .venv/bin/python -m streamlit run app.py --server.address 127.0.0.1 --server.port "$p" \
    --server.headless true "$@" &
  pids+=($!)
  servers+="    server app$i 127.0.0.1:$p cookie app$i"$'\n'
done

# The proxy starts once every process answers, so none is marked down at the start.
.venv/bin/python - "$first" "$n" "${pids[@]}" <<'PY' &
import os, sys, time, urllib.request
first, n, pids = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
waiting, deadline = set(range(first, first + n)), time.monotonic() + 120
while waiting and time.monotonic() < deadline:
    for pid in pids:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            sys.exit(f"dqm: an app process (pid {pid}) ended before it answered")
    for port in sorted(waiting):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                waiting.discard(port)
        except OSError:
            pass
    time.sleep(0.3)
if waiting:
    sys.exit(f"dqm: no answer from the app on port(s) {sorted(waiting)} in 120 s")
PY
wait $!  # in the background, so that Ctrl-C or TERM stops everything at once

awk -v port="$port" -v servers="$servers" \
  '{ gsub(/@PORT@/, port) } /^@SERVERS@$/ { printf "%s", servers; next } { print }' \
  scripts/haproxy.cfg.in >"$run/haproxy.cfg"
haproxy -db -f "$run/haproxy.cfg" &
pids+=($!)
echo "dqm: http://127.0.0.1:$port serves $n app processes (127.0.0.1:$first-$((first + n - 1))); Ctrl-C stops them all" >&2
status=0
wait -n || status=$?
echo "dqm: a process ended (status $status): stopping the others" >&2
exit $((status == 0 ? 1 : status))
