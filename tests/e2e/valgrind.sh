#!/usr/bin/env bash
# \file tests/e2e/valgrind.sh  Memcheck over 1-rank end-to-end runs (no
# mpiexec: a singleton MPI process): no invalid reads/writes, no use of
# uninitialised values, no definite leaks from riskgrid's code.  Leaks
# inside Open MPI and its helper libraries are suppressed by
# tests/valgrind.supp (obj:-only entries, see the file).  Runs:
#   1. riskgrid gen --rows 2000 (CSV)
#   2. riskgrid run on it, 1 epoch, to the HDF5 result
#   3. a run stopped at step 5 by the test hook (exit 75, checkpoint written)
#   4. --resume of that checkpoint to the end (checkpoint read, result)
#   5. a failing run (bad value on line 1500: exit 1, error cleanup paths)
#   6. riskgrid run on an HDF5 input
# Skipped (exit 0 with a note) only if valgrind is not installed.
source "$(dirname "$0")/common.sh"
command -v valgrind > /dev/null || { echo "valgrind not installed: skipped (bash scripts/install-deps.sh --test)"; exit 0; }
SUPP=${RG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/valgrind.supp
[ -f "$SUPP" ] || fail "no suppression file $SUPP"
# a sanitizer build cannot run under valgrind
if grep -aq __asan_init "$RISKGRID" 2>/dev/null; then
  echo "riskgrid is an AddressSanitizer build: valgrind skipped here (runs in the -Werror build)"
  exit 0
fi

n=0
# vg EXPECTED_EXIT NAME ARGS...: riskgrid under memcheck; memcheck errors
# (including definite leaks) exit 99, so riskgrid's own codes stay visible
vg() {
  local want=$1 name=$2; shift 2
  local log="$WORK/vg.$name.log" rc
  set +e
  timeout 300 valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
    --keep-debuginfo=yes --num-callers=40 --suppressions="$SUPP" \
    "$RISKGRID" "$@" > "$WORK/vg.$name.out" 2> "$log"
  rc=$?
  set -e
  if [ "$rc" = 99 ] || ! grep -q "ERROR SUMMARY: 0 errors" "$log"; then
    grep -E -B2 -A25 'definitely lost in|Invalid|uninitialised|Conditional jump|Mismatched|overlap' "$log" | head -80 >&2
    fail "$name: memcheck errors (full log above; $(grep 'ERROR SUMMARY' "$log"))"
  fi
  [ "$rc" = "$want" ] || fail "$name: exit $rc, expected $want: $(grep 'riskgrid' "$log" | head -3)"
  grep -q "definitely lost: 0 bytes" "$log" || grep -q "All heap blocks were freed" "$log" \
    || fail "$name: leak summary missing or non-zero: $(grep -A4 'LEAK SUMMARY' "$log")"
  n=$((n + 1))
  echo "valgrind $name: clean (exit $rc, $(grep -o 'suppressed: [0-9]* from [0-9]*' "$log" | tail -1))"
}

t0=$(date +%s)
vg 0 gen gen --rows 2000 --seed 21 --out "$WORK/d.csv"
write_job "$WORK/job.ini" "$WORK/d.csv"
sed -i 's/^epochs = 3/epochs = 1/; s/^hidden = 32/hidden = 16/' "$WORK/job.ini"
vg 0 run run "$WORK/job.ini" --quiet --out "$WORK/out.h5"
[ -f "$WORK/out.h5" ] || fail "run: no output"
RISKGRID_TEST_STOP_AT_STEP=5 vg 75 stop run "$WORK/job.ini" --quiet --out "$WORK/r.h5"
[ -f "$WORK/r.h5.ckpt" ] || fail "stop: no checkpoint"
vg 0 resume run "$WORK/job.ini" --quiet --out "$WORK/r.h5" --resume
"$RG_H5CMP" "$WORK/out.h5" "$WORK/r.h5" /model /train /eval > /dev/null || fail "resume under valgrind differs from the uninterrupted run"
awk -F, 'BEGIN{OFS=","} NR==1500 {$3="abc"} {print}' "$WORK/d.csv" > "$WORK/bad.csv"
write_job "$WORK/bad.ini" "$WORK/bad.csv"
vg 1 error run "$WORK/bad.ini" --quiet --out "$WORK/bad.h5"
grep -q "bad.csv:1500:3" "$WORK/vg.error.log" || fail "error: message: $(grep riskgrid "$WORK/vg.error.log")"
"$RISKGRID" gen --rows 2000 --seed 21 --out "$WORK/d.h5" 2> /dev/null
write_job "$WORK/h5.ini" "$WORK/d.h5"
sed -i 's/^drop = id$/drop =/; s/^epochs = 3/epochs = 1/; s/^hidden = 32/hidden = 16/' "$WORK/h5.ini"
vg 0 hdf5 run "$WORK/h5.ini" --quiet --out "$WORK/h5out.h5"
echo "valgrind: $n runs clean in $(( $(date +%s) - t0 ))s"
