#!/usr/bin/env bash
# \file scripts/test.sh  Build and run the whole test suite twice: a
# -Werror build, then an AddressSanitizer + UndefinedBehaviorSanitizer
# build.  Unit tests, MPI tests at 1-4 ranks and end-to-end tests all run
# under ctest.  Exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

run_suite() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DRISKGRID_WERROR=ON "$@" > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}
mkdir -p build-test
echo "== build with -Wall -Wextra -Werror, run tests"
run_suite build-test/werror -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build with ASan + UBSan, run tests"
# ASAN_OPTIONS are set per test by tests/CMakeLists.txt (LeakSanitizer on
# for unit tests, off in MPI processes).
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite build-test/sanitize -DCMAKE_BUILD_TYPE=Debug -DRISKGRID_SANITIZE=ON
echo "== fuzz: clang libFuzzer targets, 60 s each (docs/testing.md)"
bash scripts/fuzz.sh 60 build-test/fuzz
echo "== all test suites passed"
