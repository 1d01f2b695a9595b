#!/usr/bin/env bash
# Runs every test project one after another (integration tests start their own brokers and
# processes; running assemblies side by side on two cores only makes them slower and noisier),
# then prints one closing line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
configuration=${1:-Debug}
filter=${2:-}
results=artifacts/test-results
rm -rf "$results" && mkdir -p "$results"
log="$results/dotnet-test.log"

args=(test Anshimi.Iot.sln --no-build -c "$configuration" -m:1 --results-directory "$results" --logger "trx" --logger "console;verbosity=minimal")
[ -n "$filter" ] && args+=(--filter "$filter")

dotnet "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# One "Passed!/Failed! - Failed: N, Passed: N, Skipped: N" line per test assembly.
count() { grep -E "^(Passed|Failed)! " "$log" | grep -Eo "$1: +[0-9]+" | awk '{s+=$2} END {print s+0}'; }
passed=$(count Passed)
failed=$(count Failed)
skipped=$(count Skipped)
echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited with $status (a test host crashed or a project failed to run)" >&2
fi
exit "$status"
