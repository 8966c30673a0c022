#!/usr/bin/env bash
# Runs every fuzz target of the repository (every func FuzzXxx in a
# _test.go file), one after the other, each for FUZZTIME (default 20s) on
# one worker (-parallel 1), and prints a Markdown table of the executions
# each reached, for docs/fuzzing.md. A target that finds a failure stops
# the script with its output (the crashing input is kept under the
# package's testdata/fuzz/, to be committed as a regression seed).
#
#   tools/fuzzall.sh                 # every target, 20 s each
#   FUZZTIME=60s tools/fuzzall.sh ./badges/...   # only under these packages
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-20s}"
patterns=("${@:-./...}")

targets=$(grep -rl --include='*_test.go' '^func Fuzz' $(go list -f '{{.Dir}}' "${patterns[@]}") |
  xargs grep -H '^func Fuzz' | sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)\(.*#\1 \2#' | sort -u)

echo "| package | target | executions in $fuzztime | new inputs kept |"
echo "| --- | --- | --- | --- |"
total=0
while read -r dir name; do
  pkg="./$(realpath --relative-to=. "$dir")"
  log=$(mktemp)
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg" >"$log" 2>&1; then
    cat "$log"
    echo "fuzz target $pkg $name failed" >&2
    exit 1
  fi
  last=$(grep -E 'fuzz: elapsed: .*execs: ' "$log" | tail -n 1 || true)
  if [ -z "$last" ]; then
    # The time ran out while the seed corpus was being replayed.
    base=$(grep -oE 'baseline coverage: [0-9]+/[0-9]+' "$log" | tail -n 1 || true)
    echo "| \`$pkg\` | $name | 0 (time spent replaying the corpus: ${base#baseline coverage: }) | - |"
    rm -f "$log"
    continue
  fi
  execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
  kept=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
  total=$((total + ${execs:-0}))
  echo "| \`$pkg\` | $name | ${execs:-?} | ${kept:-?} |"
  rm -f "$log"
done <<<"$targets"
echo
echo "total executions: $total"
