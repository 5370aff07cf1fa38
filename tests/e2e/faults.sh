#!/usr/bin/env bash
# \file tests/e2e/faults.sh  Fault injection: writes that fail half-way and
# training that diverges.  Each fault must give a clear error and exit 1,
# leave no torn output and no temporary file, and keep what was there
# before (an existing output, the previous checkpoint) byte-identical.
#
#   A. file too big (EFBIG): `ulimit -f` with SIGXFSZ ignored, so write()
#      returns EFBIG; 1 rank without mpiexec (the launcher's shared-memory
#      files would hit the limit too; PMIX_MCA_gds=hash keeps PMIx's
#      segments out of the way of MPI_Init)
#        A1 the output is too big            A2 ... and an old output exists (--force)
#        A3 the next checkpoint is too big   A4 checkpoints fit, the output does not:
#                                               the last checkpoint resumes to the same bits
#   B. disk full (ENOSPC): a small tmpfs mounted for the test, 2 ranks
#      (needs root / mount; skipped with a note otherwise)
#        B1 output  B2 output over an old one  B3 next checkpoint
#   C. divergence with checkpoint_every = 1: the error names epoch and step,
#      the last good checkpoint is kept, and resuming from it ends with
#      the same error
#        C1 non-finite gradient in epoch 2 (lr 1e19, 3 steps per epoch), 2 ranks
#        C2 non-finite test scores after epoch 5 (lr 1e19, 1 step per epoch)
# (Input changed between checkpoint and resume: tests/e2e/checkpoint.sh.)
# All checks run; the failures are listed at the end.
source "$(dirname "$0")/common.sh"
PY=/usr/bin/python3
MNT=$WORK/full
trap 'umount "$MNT" 2>/dev/null || true; rm -rf "$WORK"' EXIT

failures=0 n=0
bad() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { n=$((n + 1)); echo "ok: $*"; }

"$RISKGRID" gen --rows 2000 --seed 21 --out "$WORK/d.csv" 2>/dev/null
write_job "$WORK/job.ini" "$WORK/d.csv"             # 3 epochs x 50 steps
sed -i 's/^hidden = 32/hidden = 16/' "$WORK/job.ini"
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/ref.h5"
out_kb=$(( $(stat -c %s "$WORK/ref.h5") / 1024 ))
RISKGRID_TEST_STOP_AT_STEP=5 "$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/stop.h5" 2>/dev/null && fail "no stop" || true
[ -f "$WORK/stop.h5.ckpt" ] || fail "the stop hook wrote no checkpoint"
ckpt_kb=$(( $(stat -c %s "$WORK/stop.h5.ckpt") / 1024 ))
echo "output ${out_kb} KiB, checkpoint ${ckpt_kb} KiB"

# run_case NAME EXPECT_RC MSG_REGEX LAUNCHER...: runs, checks code and message
run_case() {
  local name=$1 want=$2 re=$3; shift 3
  set +e
  "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
  rc=$?
  set -e
  if [ "$rc" != "$want" ]; then
    bad "$name: exit $rc, expected $want: $(grep -a -m3 'riskgrid\|Signal\|signal' "$WORK/$name.err" | tr '\n' ' ' | cut -c1-400)"
    return 1
  fi
  [ "$(grep -ac 'riskgrid: error:' "$WORK/$name.err")" = 1 ] || { bad "$name: expected one error line: $(grep -a riskgrid: "$WORK/$name.err" | head -3)"; return 1; }
  grep -aEq "riskgrid: error: .*$re" "$WORK/$name.err" || { bad "$name: message '$(grep -a -m1 'riskgrid: error:' "$WORK/$name.err")' does not match /$re/"; return 1; }
  return 0
}
# clean DIR NAME: no temporary or probe file left in DIR
clean() {
  local left
  left=$(ls -A "$1" | grep -E '^\..*\.(tmp|probe)\.' || true)
  [ -z "$left" ] || { bad "$2: temporary left in $1: $left"; return 1; }
}
# limited KIB ARGS...: riskgrid alone (singleton) with a file-size limit
limited() {
  local kb=$1; shift
  ( export PMIX_MCA_gds=hash; trap '' XFSZ; ulimit -f "$kb"; exec timeout -k 5 120 "$RISKGRID" "$@" )
}
epochs_done() { h5dump -a epochs_done "$1" 2>/dev/null | grep -Eo '\(0\): [0-9]+' | grep -Eo '[0-9]+$'; }
params_finite() { "$PY" -c "import h5py, numpy, sys; sys.exit(0 if numpy.isfinite(h5py.File(sys.argv[1], 'r')['params'][...]).all() else 1)" "$1"; }

# ---------------------------------------------------------------- A: EFBIG
D=$WORK/a; mkdir -p "$D"
lim=$(( out_kb / 2 ))
f0=$failures
run_case A1 1 "cannot write '$D/a1.h5'.*File too large" \
  limited "$lim" run "$WORK/job.ini" --quiet --out "$D/a1.h5" --set output.checkpoint_every=0 || true
clean "$D" A1 || true
[ ! -e "$D/a1.h5" ] || bad "A1: torn output left at $D/a1.h5"
[ "$failures" != "$f0" ] || ok "A1 output beyond ulimit -f ${lim} KiB: exit 1, no output, no temporary"

cp "$WORK/ref.h5" "$D/a2.h5"
f0=$failures
run_case A2 1 "cannot write '$D/a2.h5'.*File too large" \
  limited "$lim" run "$WORK/job.ini" --quiet --force --out "$D/a2.h5" --set output.checkpoint_every=0 || true
clean "$D" A2 || true
cmp -s "$D/a2.h5" "$WORK/ref.h5" || bad "A2: the old output was modified or removed"
[ "$failures" != "$f0" ] || ok "A2 --force over an old output, beyond the limit: exit 1, old output byte-identical"
rm -f "$D"/*

cp "$WORK/stop.h5.ckpt" "$D/a3.h5.ckpt"
lim=$(( ckpt_kb / 2 ))
f0=$failures
run_case A3 1 "cannot write '$D/a3.h5.ckpt'.*File too large" \
  limited "$lim" run "$WORK/job.ini" --quiet --out "$D/a3.h5" --resume || true
clean "$D" A3 || true
cmp -s "$D/a3.h5.ckpt" "$WORK/stop.h5.ckpt" || bad "A3: the previous checkpoint is not byte-identical"
[ ! -e "$D/a3.h5" ] || bad "A3: output written"
[ "$failures" != "$f0" ] || ok "A3 next checkpoint beyond ulimit -f ${lim} KiB: exit 1, previous checkpoint byte-identical"
rm -f "$D"/*

lim=$(( (ckpt_kb + out_kb) / 2 ))
f0=$failures
run_case A4 1 "cannot write '$D/a4.h5'.*File too large" \
  limited "$lim" run "$WORK/job.ini" --quiet --out "$D/a4.h5" || true
clean "$D" A4 || true
[ ! -e "$D/a4.h5" ] || bad "A4: torn output left"
if [ "$(epochs_done "$D/a4.h5.ckpt")" = 2 ]; then
  if "$RISKGRID" run "$WORK/job.ini" --quiet --out "$D/a4.h5" --resume 2> "$WORK/A4r.err" &&
     "$RG_H5CMP" "$WORK/ref.h5" "$D/a4.h5" /model /train /eval > /dev/null; then
    :
  else
    bad "A4: resume from the kept checkpoint failed or differs: $(cat "$WORK/A4r.err")"
  fi
else
  bad "A4: expected the epoch-2 checkpoint to be kept, found: $(ls -a "$D")"
fi
[ "$failures" != "$f0" ] || ok "A4 checkpoints fit in ${lim} KiB, the output does not: exit 1; the epoch-2 checkpoint resumes to the same bits"
rm -f "$D"/*

# ---------------------------------------------------------------- B: ENOSPC
mkdir -p "$MNT"
mnt() { umount "$MNT" 2>/dev/null || true; mount -t tmpfs -o "size=$1" tmpfs "$MNT" 2>/dev/null; }
MPI2=(timeout -k 5 120 "$MPIEXEC" -n 2 --oversubscribe "$RISKGRID")
if mnt 64k; then
  mnt $(( out_kb / 2 ))k
  f0=$failures
  run_case B1 1 "cannot write '$MNT/b1.h5'.*No space left on device" \
    "${MPI2[@]}" run "$WORK/job.ini" --quiet --out "$MNT/b1.h5" --set output.checkpoint_every=0 || true
  [ -z "$(ls -A "$MNT")" ] || bad "B1: files left on the full disk: $(ls -A "$MNT")"
  [ "$failures" != "$f0" ] || ok "B1 disk full ($(( out_kb / 2 )) KiB tmpfs) writing the output, 2 ranks: exit 1, nothing left"

  mnt $(( out_kb * 3 / 2 ))k
  cp "$WORK/ref.h5" "$MNT/b2.h5"
  f0=$failures
  run_case B2 1 "cannot write '$MNT/b2.h5'.*No space left on device" \
    "${MPI2[@]}" run "$WORK/job.ini" --quiet --force --out "$MNT/b2.h5" --set output.checkpoint_every=0 || true
  clean "$MNT" B2 || true
  cmp -s "$MNT/b2.h5" "$WORK/ref.h5" || bad "B2: the old output was modified or removed"
  [ "$failures" != "$f0" ] || ok "B2 disk full writing over an old output (--force): exit 1, old output byte-identical"

  mnt $(( ckpt_kb * 3 / 2 ))k
  cp "$WORK/stop.h5.ckpt" "$MNT/b3.ckpt"
  f0=$failures
  run_case B3 1 "cannot write '$MNT/b3.ckpt'.*No space left on device" \
    "${MPI2[@]}" run "$WORK/job.ini" --quiet --out "$WORK/b3.h5" --set output.checkpoint_path="$MNT/b3.ckpt" --resume || true
  clean "$MNT" B3 || true
  cmp -s "$MNT/b3.ckpt" "$WORK/stop.h5.ckpt" || bad "B3: the previous checkpoint is not byte-identical"
  [ ! -e "$WORK/b3.h5" ] || bad "B3: output written"
  [ "$failures" != "$f0" ] || ok "B3 disk full writing the next checkpoint, 2 ranks: exit 1, previous checkpoint byte-identical"
  umount "$MNT"
else
  echo "note: cannot mount a tmpfs (not root?): the disk-full cases B1-B3 are skipped"
fi

# ---------------------------------------------------------------- C: divergence
D=$WORK/c; mkdir -p "$D"
C1=(--set train.learning_rate=1e19 --set train.batch_size=512 --set train.epochs=30 --set output.checkpoint_every=1)
f0=$failures
run_case C1 1 "training diverged: .* at epoch 2, step 3 \(global step 6\)" \
  "${MPI2[@]}" run "$WORK/job.ini" --quiet --out "$D/c1.h5" "${C1[@]}" || true
clean "$D" C1 || true
[ ! -e "$D/c1.h5" ] || bad "C1: output written"
if [ "$(epochs_done "$D/c1.h5.ckpt")" = 1 ] && params_finite "$D/c1.h5.ckpt"; then
  cp "$D/c1.h5.ckpt" "$WORK/c1.orig"
  run_case C1r 1 "training diverged: .* at epoch 2, step 3 \(global step 6\)" \
    "$RISKGRID" run "$WORK/job.ini" --quiet --out "$D/c1.h5" "${C1[@]}" --resume || true
  cmp -s "$D/c1.h5.ckpt" "$WORK/c1.orig" || bad "C1: the kept checkpoint changed when the resumed run diverged"
else
  bad "C1: expected the epoch-1 checkpoint with finite parameters, found: $(ls -a "$D")"
fi
[ "$failures" != "$f0" ] || ok "C1 divergence named (epoch 2, step 3) on 2 ranks; the last good checkpoint (epoch 1, finite) is kept and resuming it diverges at the same step"
rm -f "$D"/*

C2=(--set train.learning_rate=1e19 --set train.batch_size=1024 --set train.epochs=30 --set output.checkpoint_every=1)
f0=$failures
run_case C2 1 "epoch 5" "$RISKGRID" run "$WORK/job.ini" --quiet --out "$D/c2.h5" "${C2[@]}" || true
[ ! -e "$D/c2.h5" ] || bad "C2: output written"
clean "$D" C2 || true
{ [ "$(epochs_done "$D/c2.h5.ckpt")" = 4 ] && params_finite "$D/c2.h5.ckpt"; } \
  || bad "C2: expected the epoch-4 checkpoint with finite parameters, found: $(ls -a "$D")"
[ "$failures" != "$f0" ] || ok "C2 non-finite test scores after epoch 5: the error names the epoch; the epoch-4 checkpoint is kept"

[ "$failures" = 0 ] || fail "$failures fault check(s) failed ($n passed)"
echo "faults: $n checks passed"
