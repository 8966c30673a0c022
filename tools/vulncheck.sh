#!/usr/bin/env bash
# govulncheck without the vulnerability database host (not reachable from
# this workplace): the Go vulnerability database is built offline from the
# OSV entries shipped in the golang.org/x/vulndb module (data/osv), taken
# from the Go module proxy like any module, with vulndb's own indexdb
# command; govulncheck then reads it with -db file://.
#
# Exit status: 1 when the code calls a vulnerable function of a required
# module. Vulnerabilities of the standard library are fixed by a newer Go
# toolchain, a project-wide decision: they are printed, and fail the run
# only with INSIGNE_VULNCHECK_STDLIB=fail, which .ci/run sets along with
# GOTOOLCHAIN=go1.27.3 (run it so: GOTOOLCHAIN=go1.27.3 bash tools/vulncheck.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

VULNDB=golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018
VULN=golang.org/x/vuln/cmd/govulncheck@v1.9.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/insigne/vulndb-${VULNDB##*@}"

if [ ! -f "$cache/index/db.json" ]; then
  dir=$(cd /tmp && go mod download -json "$VULNDB" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$cache.tmp"
  (cd /tmp && go run "golang.org/x/vulndb/cmd/indexdb@${VULNDB##*@}" -vulns "$dir/data/osv" -out "$cache.tmp")
  mv "$cache.tmp" "$cache"
fi
if [ ! -x "$cache/bin/govulncheck" ]; then
  (cd /tmp && GOBIN="$cache/bin" go install "$VULN")
fi
echo "vulnerability database: $VULNDB ($(ls "$cache/ID" | grep -c '\.json$') entries, the newest $(ls "$cache/ID" | grep '\.json$' | sort -V | tail -n 1 | sed 's/\.json$//'))"

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
"$cache/bin/govulncheck" -db "file://$cache" ./... >"$out" 2>&1
rc=$?
set -e
cat "$out"
# 0: nothing called; 3: something called; anything else: the tool failed.
if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
  echo "govulncheck failed (exit $rc)"
  exit "$rc"
fi
modules=$(grep -E '^\s+Found in: ' "$out" | grep -vE '@go[0-9]' || true)
stdlib=$(grep -E '^\s+Found in: ' "$out" | grep -cE '@go[0-9]' || true)
if [ -n "$modules" ]; then
  echo "vulnerable code of required modules is called:"
  echo "$modules"
  exit 1
fi
if [ "$stdlib" -gt 0 ]; then
  echo "warning: $stdlib called vulnerabilities are in the standard library of $(go env GOVERSION); a newer toolchain fixes them (see the 'Fixed in' lines)"
  if [ "${INSIGNE_VULNCHECK_STDLIB:-warn}" = fail ]; then
    exit 1
  fi
fi
