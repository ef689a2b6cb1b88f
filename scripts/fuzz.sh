#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (default 30s).
set -euo pipefail
fuzztime=${FUZZTIME:-30s}
targets=()
go test -list 'Fuzz.*' ./... | awk '/^Fuzz/ {names = names " " $1} /^(ok|\?)/ {if (names != "") print $2 names; names = ""}' > /tmp/wardline-fuzz-targets.$$
while read -r pkg names; do
  for name in $names; do
    echo "== $pkg $name ($fuzztime)"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
  done
done < /tmp/wardline-fuzz-targets.$$
rm -f /tmp/wardline-fuzz-targets.$$
