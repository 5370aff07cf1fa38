#!/usr/bin/env bash
# \file tests/e2e/valid_inputs.sh  Unusual but valid inputs succeed, at 1 and
# 2 ranks with identical results: UTF-8 BOM, CRLF, quoted fields with
# embedded delimiters, no trailing newline, blank lines, a constant column,
# a tab delimiter, a separate test file, and HDF5 input (features + label
# datasets, read by hyperslab).
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 2000 --seed 21 --out "$WORK/g.csv" 2>/dev/null
"$RISKGRID" gen --rows 2000 --seed 21 --out "$WORK/g.h5" 2>/dev/null

# BOM + CRLF + quoted categorical values + a constant column + blank line + no final newline
python3 - "$WORK/g.csv" "$WORK/odd.csv" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
lines = open(src, encoding="utf-8").read().splitlines()
out = []
for i, l in enumerate(lines):
    f = l.split(",")
    if i == 0:
        f.insert(2, "const")
    else:
        f.insert(2, "7")
        f[4] = '"%s, ""quoted"""' % f[4]   # education, with a delimiter and quotes inside
    out.append(",".join(f))
out.insert(500, "")
data = "\ufeff" + "\r\n".join(out)          # no trailing newline
open(dst, "w", encoding="utf-8", newline="").write(data)
PY
tr ',' '\t' < "$WORK/g.csv" > "$WORK/tab.csv"
head -1 "$WORK/g.csv" > "$WORK/train.csv"; sed -n '2,1601p' "$WORK/g.csv" >> "$WORK/train.csv"
head -1 "$WORK/g.csv" > "$WORK/test.csv"; sed -n '1602,$p' "$WORK/g.csv" >> "$WORK/test.csv"

run_both() { # run_both NAME DATA [--set ...]: 1 and 2 ranks, bitwise identical
  local name=$1 data=$2; shift 2
  write_job "$WORK/$name.ini" "$data"
  mpirun_rg 1 run "$WORK/$name.ini" --quiet --out "$WORK/$name.1.h5" "$@" || fail "$name at 1 rank"
  mpirun_rg 2 run "$WORK/$name.ini" --quiet --out "$WORK/$name.2.h5" "$@" || fail "$name at 2 ranks"
  "$RG_H5CMP" "$WORK/$name.1.h5" "$WORK/$name.2.h5" /model /eval >/dev/null || fail "$name: 1 and 2 ranks differ"
  auc=$("$RG_H5CMP" --get "$WORK/$name.1.h5" /eval/auc)
  echo "$name: AUC $auc"
}
run_both plain "$WORK/g.csv"
run_both odd "$WORK/odd.csv"
python3 - "$WORK/odd.1.h5" <<'PY' || fail "odd: the quoted category or constant column was not read as expected"
import sys, subprocess
out = subprocess.run(["h5dump", "-d", "/data/feature_names", sys.argv[1]], capture_output=True, text=True).stdout
assert 'const' in out, out
assert 'education=graduate, \\"quoted\\"' in out or 'education=graduate, "quoted"' in out, out
PY
run_both tab "$WORK/tab.csv" --set data.delimiter=tab
run_both split "$WORK/train.csv" --set "data.test_path=$WORK/test.csv"
n_test=$(h5dump -a /data/n_test "$WORK/split.1.h5" | grep -Eo '\(0\): [0-9]+' | grep -Eo '[0-9]+$')
[ "$n_test" = 400 ] || fail "split: n_test $n_test, expected the 400 rows of the test file"
run_both hdf5 "$WORK/g.h5" --set data.drop= --set data.label=label
a_csv=$("$RG_H5CMP" --get "$WORK/plain.1.h5" /eval/auc); a_h5=$("$RG_H5CMP" --get "$WORK/hdf5.1.h5" /eval/auc)
python3 -c "import sys; sys.exit(0 if abs($a_csv - $a_h5) < 0.03 else 1)" || fail "CSV AUC $a_csv and HDF5 AUC $a_h5 differ too much"
echo "valid inputs: all succeeded"
