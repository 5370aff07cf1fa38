#!/usr/bin/env bash
# \file tests/e2e/bad_row_rank2.sh  A bad value in a row that only rank 2 of
# 4 reads: every rank exits non-zero (code 1) with the message naming
# file, line and column, promptly (ctest TIMEOUT), and no output is left.
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 4000 --seed 5 --out "$WORK/d.csv" 2>/dev/null
# the line at 62% of the data lies in rank 2's byte range [50%, 75%)
line=$(( 2 + 4000 * 62 / 100 ))
awk -v L="$line" -F, 'BEGIN{OFS=","} NR==L {$3="abc"} {print}' "$WORK/d.csv" > "$WORK/bad.csv"
col3=$(head -1 "$WORK/bad.csv" | cut -d, -f3)
write_job "$WORK/job.ini" "$WORK/bad.csv"
set +e
RISKGRID_TRACE_EXIT=1 timeout 60 "$MPIEXEC" -n 4 --oversubscribe "$RISKGRID" run "$WORK/job.ini" \
  --out "$WORK/out.h5" > "$WORK/out.txt" 2> "$WORK/err.txt"
rc=$?
set -e
cat "$WORK/err.txt"
[ "$rc" != 0 ] || fail "exit code 0 for a bad row"
[ "$rc" != 124 ] || fail "hung (timeout)"
grep -q "bad.csv:$line:3: column '$col3' is numeric but holds 'abc'" "$WORK/err.txt" || fail "message does not name file:line:column"
[ "$(grep -c 'riskgrid: error:' "$WORK/err.txt")" = 1 ] || fail "the message must be printed once (rank 0)"
for r in 0 1 2 3; do
  grep -q "rank $r exits with code 1" "$WORK/err.txt" || fail "rank $r did not exit with code 1"
done
[ ! -e "$WORK/out.h5" ] || fail "output written despite the error"
echo "bad row on rank 2: all 4 ranks exit 1 with the message"
