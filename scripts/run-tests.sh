#!/usr/bin/env bash
# Runs the test projects in two lanes side by side, each lane one project after another (integration tests start
# their own brokers, databases and processes, so more lanes on two cores only make them slower and noisier): the
# cloud bridge's suite, the longest, then the gateway's and the MQTT layer's in one lane — by then the other lane,
# end-to-end first, has finished, so the timing-sensitive broker tests run alone. Then prints one closing line
# "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
configuration=${1:-Debug}
filter=${2:-}
results=artifacts/test-results
rm -rf "$results" && mkdir -p "$results"
log="$results/dotnet-test.log"

lane_a=(tests/Anshimi.CloudBridge.Tests tests/Anshimi.Gateway.Tests tests/Anshimi.Mqtt.Tests)
lane_b=()
for project in tests/Anshimi.EndToEnd.Tests tests/*.Tests; do
  case " ${lane_a[*]} ${lane_b[*]} " in *" $project "*) ;; *) lane_b+=("$project") ;; esac
done

# Runs the projects given one after another into the lane's own log; fails if any of them failed.
run_lane() {
  local lane_log=$1 status=0
  shift
  for project in "$@"; do
    args=(test "$project" --no-build -c "$configuration" --results-directory "$results" --logger "trx;LogFileName=$(basename "$project").trx" --logger "console;verbosity=minimal")
    [ -n "$filter" ] && args+=(--filter "$filter")
    dotnet "${args[@]}" >>"$lane_log" 2>&1 || status=1
  done
  return $status
}

run_lane "$results/lane-a.log" "${lane_a[@]}" &
lane_a_pid=$!
run_lane "$results/lane-b.log" "${lane_b[@]}" &
lane_b_pid=$!
status=0
wait "$lane_a_pid" || status=1
wait "$lane_b_pid" || status=1
cat "$results/lane-a.log" "$results/lane-b.log" | tee "$log"

# One "Passed!/Failed! - Failed: N, Passed: N, Skipped: N" line per test assembly.
count() { grep -E "^(Passed|Failed)! " "$log" | grep -Eo "$1: +[0-9]+" | awk '{s+=$2} END {print s+0}'; }
passed=$(count Passed)
failed=$(count Failed)
skipped=$(count Skipped)
# Name each failed test with the first line of its message, so a short log tail says what broke.
if [ "$failed" -gt 0 ]; then
  echo
  echo "failed tests:"
  python3 - "$results" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for trx in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for r in ET.parse(trx).getroot().iterfind(".//t:UnitTestResult", ns):
        if r.get("outcome") != "Failed":
            continue
        msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
        first = (msg.text or "").strip().splitlines()[0][:300] if msg is not None and msg.text else ""
        print(f"  {r.get('testName')}: {first}")
        # The first frame in the repository's tests says which assertion it was.
        stack = r.find("t:Output/t:ErrorInfo/t:StackTrace", ns)
        frames = [l.strip() for l in (stack.text or "").splitlines() if "/tests/" in l] if stack is not None else []
        if frames:
            print(f"    {frames[0][:300]}")
PY
fi
echo
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "dotnet test exited with $status (a test host crashed or a project failed to run)" >&2
fi
exit "$status"
