#!/usr/bin/env bash
# \file tests/e2e/determinism.sh  The same job at 1, 2, 3 and 4 ranks gives
# bitwise-identical /model, /train, /eval, /data and /grid datasets
# (raw bytes compared by rg_h5cmp, no tolerance), and the portable kernels
# (RISKGRID_KERNELS=generic) and the AVX2 ones (RISKGRID_KERNELS=avx2, the
# default itself on a CPU without AVX-512; on a CPU without AVX2 riskgrid
# falls back to the portable ones) give the same bits as the default
# (AVX-512 where the CPU has it), and so does the MPI reduction
# (RISKGRID_ALLREDUCE=mpi) instead of the shared-memory one, and the
# ordered sum with the early pull at 2 ranks (RISKGRID_EARLY_PULL=1); at 2 rows
# per shard (row mode) and at 12 (per-shard addends).  At 2 ranks both
# splits: the hidden units (the default here: row mode, 32 hidden units;
# docs/design-hidden-split.md) and the rows (RISKGRID_SPLIT=rows), the
# hidden split also with the portable kernels and in per-shard mode
# (RISKGRID_SPLIT=hidden), and asked for with the MPI reduction, where it
# falls back to the rows (it needs shared memory).
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 3000 --seed 11 --out "$WORK/d.csv" 2>/dev/null
write_job "$WORK/job.ini" "$WORK/d.csv"
for np in 1 2 3 4; do
  mpirun_rg "$np" run "$WORK/job.ini" --quiet --out "$WORK/out$np.h5" || fail "run at $np ranks"
done
for np in 2 3 4; do
  "$RG_H5CMP" "$WORK/out1.h5" "$WORK/out$np.h5" /model /train /eval /data /grid \
    || fail "1 rank and $np ranks differ"
done
RISKGRID_KERNELS=generic mpirun_rg 3 run "$WORK/job.ini" --quiet --out "$WORK/generic.h5" || fail "run with generic kernels"
"$RG_H5CMP" "$WORK/out1.h5" "$WORK/generic.h5" /model /train /eval /data /grid \
  || fail "the generic kernels and the default kernels differ"
RISKGRID_KERNELS=avx2 mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/avx2.h5" || fail "run with the avx2 kernels"
"$RG_H5CMP" "$WORK/out1.h5" "$WORK/avx2.h5" /model /train /eval /data /grid \
  || fail "the avx2 kernels and the default kernels differ"
RISKGRID_ALLREDUCE=mpi mpirun_rg 3 run "$WORK/job.ini" --quiet --out "$WORK/mpi.h5" || fail "run with the MPI reduction"
"$RG_H5CMP" "$WORK/out1.h5" "$WORK/mpi.h5" /model /train /eval /data /grid \
  || fail "the MPI and the shared-memory reductions differ"
# the 2-rank splits: by rows, and by hidden units with other kernels (and
# with the MPI reduction, which makes it split the rows)
grep -q "split the 32 hidden units" <(mpirun_rg 2 run "$WORK/job.ini" --out "$WORK/hid.h5" 2>&1) \
  || fail "the hidden split is not the default for this job at 2 ranks"
RISKGRID_SPLIT=rows mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/rows.h5" || fail "run split by rows"
RISKGRID_SPLIT=hidden RISKGRID_KERNELS=generic mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/hid_g.h5" \
  || fail "run split by hidden units with generic kernels"
RISKGRID_SPLIT=hidden RISKGRID_ALLREDUCE=mpi mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/hid_mpi.h5" \
  || fail "run split by hidden units through the MPI reduction"
for o in hid rows hid_g hid_mpi; do
  "$RG_H5CMP" "$WORK/out1.h5" "$WORK/$o.h5" /model /train /eval /data /grid || fail "2 ranks ($o) and 1 rank differ"
done
# the ordered sum with the early pull of the other rank's rows (2 ranks in
# shared memory, split by rows; on by size only for large models, forced here)
RISKGRID_SPLIT=rows RISKGRID_EARLY_PULL=1 mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/early.h5" || fail "run with the early pull"
"$RG_H5CMP" "$WORK/out1.h5" "$WORK/early.h5" /model /train /eval /data /grid \
  || fail "the ordered sum with the early pull and 1 rank differ"
# 12 rows per shard: per-shard fixed-point addends instead of row mode
# (shardgrad.h); the same guarantees
for np in 1 3; do
  mpirun_rg "$np" run "$WORK/job.ini" --quiet --set train.batch_size=192 --out "$WORK/b192_$np.h5" \
    || fail "batch 192 at $np ranks"
done
RISKGRID_KERNELS=generic mpirun_rg 2 run "$WORK/job.ini" --quiet --set train.batch_size=192 --out "$WORK/b192_g.h5" \
  || fail "batch 192 with generic kernels"
RISKGRID_EARLY_PULL=1 mpirun_rg 2 run "$WORK/job.ini" --quiet --set train.batch_size=192 --out "$WORK/b192_e.h5" \
  || fail "batch 192 with the early pull"
RISKGRID_SPLIT=hidden mpirun_rg 2 run "$WORK/job.ini" --quiet --set train.batch_size=192 --out "$WORK/b192_h.h5" \
  || fail "batch 192 split by hidden units"
for o in b192_3 b192_g b192_e b192_h; do
  "$RG_H5CMP" "$WORK/b192_1.h5" "$WORK/$o.h5" /model /train /eval /data /grid \
    || fail "batch 192: $o differs from 1 rank"
done
# and the check can fail: a different seed must differ
mpirun_rg 2 run "$WORK/job.ini" --quiet --set train.seed=8 --out "$WORK/other.h5"
if "$RG_H5CMP" "$WORK/out1.h5" "$WORK/other.h5" /model >/dev/null; then fail "different seeds gave the same model"; fi
echo "determinism: 1, 2, 3, 4 ranks, both 2-rank splits, all kernel variants, both reductions and the early pull bitwise identical (row mode), and per-shard mode at batch 192"
