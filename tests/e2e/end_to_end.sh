#!/usr/bin/env bash
# \file tests/e2e/end_to_end.sh  gen -> run -> the output has every dataset
# of the schema, the test AUC on generated data exceeds 0.80, an existing
# output is refused without --force.
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 6000 --seed 3 --out "$WORK/d.csv" 2>/dev/null
write_job "$WORK/job.ini" "$WORK/d.csv"
sed -i 's/^hidden = 32/hidden = 64/; s/^epochs = 3/epochs = 8/' "$WORK/job.ini"
mpirun_rg 2 run "$WORK/job.ini" --out "$WORK/out.h5" > "$WORK/log.txt"
grep -q "^epoch 8/8" "$WORK/log.txt" || fail "no progress line for the last epoch"
grep -q "test AUC" "$WORK/log.txt" || fail "no summary"
for d in /data/feature_names /data/mean /data/std /model/W1 /model/b1 /model/W2 /model/b2 \
         /train/loss /train/test_auc /train/auc_lo /train/auc_hi /timing/wall_s /timing/samples_per_s \
         /eval/auc /eval/auc_lo /eval/auc_hi /eval/roc/fpr /eval/roc/tpr /eval/roc/threshold \
         /grid/demand /grid/competition /grid/service /grid/marketing /grid/D /grid/D_lo /grid/D_hi; do
  h5ls "$WORK/out.h5$d" >/dev/null 2>&1 || fail "missing dataset $d"
done
for a in riskgrid_version command config world_size virtual_shards started finished status; do
  h5dump -a "/$a" -H "$WORK/out.h5" >/dev/null 2>&1 || fail "missing root attribute $a"
done
auc=$("$RG_H5CMP" --get "$WORK/out.h5" /eval/auc)
python3 -c "import sys; a=float('$auc'); sys.exit(0 if a > 0.80 else 1)" || fail "test AUC $auc <= 0.80"
# the stored test rows reproduce the AUC with scikit-learn
/usr/bin/python3 - "$WORK/out.h5" <<'PY' || fail "scikit-learn on /eval/score and /eval/label disagrees with /eval/auc"
import sys, h5py, numpy as np
from sklearn.metrics import roc_auc_score
f = h5py.File(sys.argv[1], "r")
rows = f["eval/row"][:]
assert np.all(np.diff(rows) > 0), "rows not ascending"
a = roc_auc_score(f["eval/label"][:], f["eval/score"][:])
assert abs(a - f["eval/auc"][()]) < 1e-12, (a, f["eval/auc"][()])
assert len(rows) == f["data"].attrs["n_test"]
PY
# existing output: refused (exit 2), untouched; --force replaces it
before=$(sha256sum "$WORK/out.h5")
set +e
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/out.h5" 2> "$WORK/err.txt"; rc=$?
set -e
[ "$rc" = 2 ] || fail "existing output: exit $rc, expected 2"
grep -q "exists" "$WORK/err.txt" || fail "existing output: message: $(cat "$WORK/err.txt")"
[ "$before" = "$(sha256sum "$WORK/out.h5")" ] || fail "existing output was modified"
"$RISKGRID" run "$WORK/job.ini" --quiet --force --out "$WORK/out.h5" --set train.epochs=1
ls -a "$WORK" | grep -q '\.tmp\.' && fail "temporary file left behind"
echo "end to end: schema complete, test AUC $auc"
# a slow OpenBLAS kernel set on a CPU that could do better is reported with the fix
if grep -qw avx2 /proc/cpuinfo; then
  OPENBLAS_CORETYPE=Prescott "$RISKGRID" run "$WORK/job.ini" --quiet --force --out "$WORK/p.h5" --set train.epochs=1 2> "$WORK/w.txt"
  grep -q "riskgrid: warning: OpenBLAS uses its 'Prescott' kernels .* set OPENBLAS_CORETYPE=" "$WORK/w.txt" || fail "no BLAS kernel warning: $(cat "$WORK/w.txt")"
  echo "BLAS kernel warning: shown for Prescott kernels"
fi
