# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
rc=0; RISKGRID_TEST_STOP_AT_STEP=5 "$RISKGRID" run "$PWD/job.ini" --quiet --out "$PWD/made.h5"  2>/dev/null || rc=$?; test "$rc" = 75
"$PY" - <<'EOF'
import h5py
f = h5py.File('made.h5.ckpt', 'r+')
n = f['params'].shape[0]
del f['params']
f.create_dataset('params', shape=(n,), dtype='<f4')   # contiguous, never written
f.close()
EOF
mv made.h5.ckpt ckpt.ckpt
