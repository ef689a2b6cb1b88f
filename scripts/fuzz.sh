#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 30s).
set -euo pipefail
fuzztime=${FUZZTIME:-30s}
targets=()
go test -list 'Fuzz.*' ./... | awk '/^Fuzz/ {names = names " " $1} /^(ok|\?)/ {if (names != "") print $2 names; names = ""}' > /tmp/wardline-fuzz-targets.$$
while read -r pkg names; do
  for name in $names; do
    echo "== $pkg $name ($fuzztime)"
    if ! out=$(go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" 2>&1); then
      echo "$out"
      # Go's fuzzing engine can end a busy run with "context deadline
      # exceeded" and no failing input; that is its own timeout, not a find.
      if grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input' <<<"$out"; then
        echo "(the fuzzing engine timed out at the end of the run; no failing input)"
        continue
      fi
      exit 1
    fi
    echo "$out" | tail -n 1
  done
done < /tmp/wardline-fuzz-targets.$$
rm -f /tmp/wardline-fuzz-targets.$$
