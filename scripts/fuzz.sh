#!/usr/bin/env bash
# \file scripts/fuzz.sh  Build the libFuzzer targets with clang and run each
# for a bounded time.  Exit status non-zero on any crash, sanitizer report,
# contract violation, timeout or leak.
#
#   bash scripts/fuzz.sh [SECONDS [BUILD_DIR [TARGET...]]]
#
# SECONDS per target (default 60; 0: build only); BUILD_DIR default
# build-test/fuzz.
# Targets: csv, config, checkpoint (default: all three).  The working
# corpus of each target is kept in BUILD_DIR/corpus/<target> (seeded from
# tests/fuzz/corpus/<target>) and grows from run to run; crash inputs go to
# BUILD_DIR/artifacts/.  Longer campaigns: docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${1:-60}
build=${2:-build-test/fuzz}
shift $(( $# > 2 ? 2 : $# ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(csv config checkpoint)
case $secs in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 2;; esac
command -v clang > /dev/null || { echo "fuzz.sh: clang not found (bash scripts/install-deps.sh --test)" >&2; exit 1; }

echo "== fuzz: build with clang -fsanitize=fuzzer,address,undefined into $build"
mkdir -p "$build"
# CC=clang for the whole configure (FindMPI then takes its flags from the
# mpicc wrapper); only the fuzz targets get the fuzzing flags
if ! CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRISKGRID_FUZZ=ON -DBUILD_TESTING=ON \
      > "$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  exit 1
fi
cmake --build "$build" --target fuzz -j "$(nproc)" > "$build/build.log" 2>&1 || { cat "$build/build.log" >&2; exit 1; }

if [ "$secs" = 0 ]; then echo "== fuzz: built $build/tests/fuzz/fuzz_{csv,config,checkpoint} (0 s: not run)"; exit 0; fi

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  seeds=$root/tests/fuzz/corpus/$t
  [ -x "$bin" ] && [ -d "$seeds" ] || { echo "fuzz.sh: unknown target '$t'" >&2; exit 2; }
  work=$build/corpus/$t
  mkdir -p "$work" "$build/artifacts"
  log=$build/fuzz_$t.log
  opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$build/artifacts/$t-")
  envs=()
  [ -f "$root/tests/fuzz/$t.dict" ] && opts+=(-dict="$root/tests/fuzz/$t.dict")
  case $t in
    csv|config) opts+=(-max_len=4096);;
    # libhdf5 leaks on some of its own error paths: no leak checks while
    # fuzzing (LeakSanitizer would stop at the first input), then a replay
    # of the corpus with the libhdf5-only suppressions below
    # libhdf5 also trusts sizes read from the file: a 9 KB file can make
    # H5Fopen allocate (and zero) 1.6 GB.  Allocations over 256 MB return
    # NULL here, as they would under a memory limit; riskgrid and HDF5
    # must handle that (ERR_NOMEM / an HDF5 error), not crash.
    checkpoint) opts+=(-detect_leaks=0 -max_len=16384)
                envs=(ASAN_OPTIONS=abort_on_error=1:detect_leaks=0:allocator_may_return_null=1:max_allocation_size_mb=256);;
  esac
  echo "== fuzz $t for ${secs}s (corpus $work, seeds $seeds)"
  touch "$build/.start_$t"
  set +e
  env ${envs[@]+"${envs[@]}"} "$bin" "${opts[@]}" "$work" "$seeds" > "$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$' || echo '?')
  if [ "$rc" != 0 ]; then
    echo "FAIL: fuzz_$t exited with $rc after $runs executions; log $log:" >&2
    grep -E -A25 'ERROR:|contract broken|runtime error|SUMMARY' "$log" | head -60 >&2 || tail -40 "$log" >&2
    find "$build/artifacts" -name "$t-*" -newer "$build/.start_$t" | sed 's/^/  crash input: /' >&2
    failed=1
    continue
  fi
  if [ "$t" = checkpoint ]; then
    # leak replay: every corpus file once, LeakSanitizer on at exit; only
    # allocations made inside libhdf5 are suppressed (tests/fuzz/lsan.supp)
    set +e
    find "$work" "$seeds" -type f -print0 | xargs -0 env LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp" \
      ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=256 \
      "$bin" -runs=1 > "$build/fuzz_${t}_leaks.log" 2>&1
    rc=$?
    set -e
    if [ "$rc" != 0 ]; then
      echo "FAIL: fuzz_$t leak replay: a leak outside libhdf5 (log $build/fuzz_${t}_leaks.log):" >&2
      grep -E -A20 'ERROR:|SUMMARY' "$build/fuzz_${t}_leaks.log" | head -40 >&2
      failed=1
      continue
    fi
  fi
  echo "fuzz $t: $runs executions in ${secs}s, corpus $(find "$work" -type f | wc -l) files, no findings"
done
[ "$failed" = 0 ] || { echo "== fuzz: FAILED" >&2; exit 1; }
echo "== fuzz: all targets clean"
