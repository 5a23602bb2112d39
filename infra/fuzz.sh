#!/usr/bin/env bash
# Runs the cargo-fuzz targets (shared/fuzz-targets/fuzz/, README "Fuzzing") one after the other, at low priority.
#
#   infra/fuzz.sh                      every target, 10,000,000 executions each
#   infra/fuzz.sh --runs N [TARGET..]  N executions of each named target (default: all)
#   infra/fuzz.sh --seconds S [TARGET..]     S seconds of each; with --runs, whichever ends first
#   infra/fuzz.sh --merge [TARGET..]   add to shared/fuzz-targets/fuzz/corpus/<target>/ the fewest inputs found by
#                                      earlier runs that reach new edges (libFuzzer
#                                      -set_cover_merge=1); commit them
#
# Needs the nightly toolchain and cargo-fuzz (`rustup toolchain install nightly`,
# `cargo install cargo-fuzz`). Built without a sanitizer (the code forbids `unsafe`) but with
# debug assertions and overflow checks. Everything written goes under target/fuzz/: the build,
# the working corpus (target/fuzz/corpus/<target>/, seeded from shared/fuzz-targets/fuzz/corpus/<target>/, which is
# only read), crashing inputs (target/fuzz/artifacts/<target>/) and logs. A crash stops the
# script with the input's path; keep the input in shared/fuzz-targets/fuzz/corpus/<target>/ with the fix (the test
# suite replays that directory). Ends with executions and executions/s per target.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

all=(stripe_webhook stripe_signature chargebee_webhook chargebee_auth events_body program_file queue_message)
mode=fuzz
runs=
seconds=
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --merge) mode=merge; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
[ -n "$runs$seconds" ] || runs=10000000
limit=()
[ -z "$runs" ] || limit+=(-runs="$runs")
[ -z "$seconds" ] || limit+=(-max_total_time="$seconds")
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "the nightly toolchain is missing: rustup toolchain install nightly" >&2; exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 1
fi

work="$root/target/fuzz"
build=(cargo +nightly fuzz build --fuzz-dir shared/fuzz-targets/fuzz -s none -a --target-dir "$work")
echo "==> building the fuzz targets (target/fuzz)"
nice "${build[@]}"
bin="$work/x86_64-unknown-linux-gnu/release"

summary=()
for t in "${targets[@]}"; do
  seeds="$root/shared/fuzz-targets/fuzz/corpus/$t"
  found="$work/corpus/$t"
  artifacts="$work/artifacts/$t"
  log="$work/logs/$t.log"
  [ -x "$bin/$t" ] || { echo "no fuzz target $t (known: ${all[*]})" >&2; exit 1; }
  mkdir -p "$seeds" "$found" "$artifacts" "$(dirname "$log")"
  if [ "$mode" = merge ]; then
    before=$(ls "$seeds" | wc -l)
    # The smallest set of found inputs that reaches every edge the seeds do not (hit counts
    # ignored), each cut to 1 KiB (what is kept is what was run), so the corpus stays small.
    nice "$bin/$t" -set_cover_merge=1 -use_counters=0 -max_len=1024 "$seeds" "$found" >"$log" 2>&1
    echo "$t: $before → $(ls "$seeds" | wc -l) files in shared/fuzz-targets/fuzz/corpus/$t"
    continue
  fi
  echo "==> $t (${limit[*]}; log target/fuzz/logs/$t.log)"
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb: a run growing past 2 GiB is an OOM.
  if ! nice "$bin/$t" "$found" "$seeds" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "$t: CRASH; input(s) in target/fuzz/artifacts/$t/:" >&2
    ls "$artifacts" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  line=$(printf '%-18s %12s executions  %8s exec/s  %6s s  %s' "$t" "$runs" "$speed" "$secs" "$cov")
  echo "$line"
  summary+=("$line")
done
if [ "$mode" != merge ]; then
  echo "==> no crash"
  printf '%s\n' "${summary[@]}"
fi
