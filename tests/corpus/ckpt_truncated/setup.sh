# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
rc=0; RISKGRID_TEST_STOP_AT_STEP=5 "$RISKGRID" run "$PWD/job.ini" --quiet --out "$PWD/made.h5"  2>/dev/null || rc=$?; test "$rc" = 75
head -c 2000 made.h5.ckpt > ckpt.ckpt && rm made.h5.ckpt
