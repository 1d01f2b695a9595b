#!/usr/bin/env bash
# Runs afl-fuzz over each target of fuzz/Anshimi.Fuzz for FUZZ_SECONDS (default 60) and prints what it found.
# FUZZ_TARGETS="device-frame envelope" chooses targets (default: every folder under fuzz/corpus).
# Findings stay in artifacts/fuzz/findings/<target>/default/{crashes,hangs}; see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-$(ls fuzz/corpus)}
out=$PWD/artifacts/fuzz
publish=$out/bin

dotnet tool restore >/dev/null
rm -rf "$publish"
dotnet publish fuzz/Anshimi.Fuzz/Anshimi.Fuzz.csproj -c Release -o "$publish" -v quiet -nologo

# Instrument the project's own assemblies and the CSV reader they use; the fuzz driver itself stays as it is.
for dll in "$publish"/Anshimi.*.dll "$publish"/CsvHelper.dll; do
  [ "$(basename "$dll")" = Anshimi.Fuzz.dll ] && continue
  dotnet tool run sharpfuzz "$dll" >/dev/null
done

export ANSHIMI_DISTRICTS_FILE=${ANSHIMI_DISTRICTS_FILE:-$(realpath ../shared/data/seoul-municipalities.geojson)}
# dotnet itself carries no afl instrumentation (SharpFuzz reports coverage), and containers have no CPU governor.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_UI=1 AFL_FORKSRV_INIT_TMOUT=60000

summary=()
for target in $targets; do
  seeds=$out/seeds/$target findings=$out/findings/$target
  rm -rf "$seeds" "$findings" && mkdir -p "$seeds" "$out/findings"
  cp fuzz/corpus/"$target"/* "$seeds"/
  [ -d fuzz/regressions/"$target" ] && cp fuzz/regressions/"$target"/* "$seeds"/
  echo "== $target: ${seconds}s"
  afl-fuzz -i "$seeds" -o "$findings" -t 10000 -V "$seconds" -- "$(command -v dotnet)" "$publish"/Anshimi.Fuzz.dll "$target" \
    >"$out/$target.log" 2>&1 || { tail -20 "$out/$target.log"; summary+=("$target: afl-fuzz failed, see $out/$target.log"); continue; }
  stat() { sed -n "s/^$1 *: //p" "$findings/default/fuzzer_stats"; }
  line="$target: $(stat execs_done) execs, $(stat corpus_count) paths, $(stat saved_crashes) crashes, $(stat saved_hangs) hangs"
  for kind in crashes hangs; do
    found=$(find "$findings/default/$kind" -name 'id:*' 2>/dev/null | wc -l)
    [ "$found" -gt 0 ] && line+=$'\n'"    $kind: $findings/default/$kind/"
  done
  summary+=("$line")
done

echo
echo "fuzzing results (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
