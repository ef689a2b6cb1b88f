#!/usr/bin/env bash
# Runs the figures of docs/bench.md: starts an appliance on a fresh data
# directory, runs one `wardline bench` load RUNS times against it (default 3)
# and stops it. The appliance and the bench client share this machine.
#
#   scripts/bench.sh NAME [bench flags...]
#   WARDLINE=bin/wardline RUNS=3 OUT=/tmp/wardline-bench scripts/bench.sh max --rate 0 --duration 30s --baseline
#
# Each run's report goes to $OUT/NAME-N.txt; a summary line per run is printed.
set -euo pipefail
name=${1:?usage: scripts/bench.sh NAME [bench flags...]}
shift
bin=${WARDLINE:-bin/wardline}
runs=${RUNS:-3}
out=${OUT:-/tmp/wardline-bench}
dir=$(mktemp -d /tmp/wardline-bench-XXXXXX)
mkdir -p "$out"
"$bin" serve --data "$dir/data" --mqtt-addr 127.0.0.1:0 --https-addr 127.0.0.1:0 --mqtt-plain-addr 127.0.0.1:0 >"$dir/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
	[ -S "$dir/data/wardline.sock" ] && "$bin" status --data "$dir/data" >/dev/null 2>&1 && break
	sleep 0.1
done
for i in $(seq 1 "$runs"); do
	"$bin" bench --data "$dir/data" "$@" >"$out/$name-$i.txt" 2>&1 || true
	echo "== $name run $i: $*"
	grep -E 'sends acked/s|e2e latency|all recipients|lost|appliance CPU|CPU per message|RSS connected|RSS peak|appliance / baseline|appliance / protocol|protocol / baseline' "$out/$name-$i.txt" || tail -3 "$out/$name-$i.txt"
done
