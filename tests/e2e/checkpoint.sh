#!/usr/bin/env bash
# \file tests/e2e/checkpoint.sh  Checkpoints and resume lose nothing:
# a run stopped at any step (first, mid-epoch, last of an epoch, after an
# epoch checkpoint) and resumed on a different number of ranks ends with
# /model, /train, /eval bitwise identical to an uninterrupted run; a real
# SIGUSR1 through mpirun gives exit 75 and a checkpoint; SIGKILL of a rank
# ends the job (no hang) and --resume finishes identically; SIGSTOP of a
# rank ends within the stall timeout; foreign, changed-data and truncated
# checkpoints are refused.
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 3000 --seed 13 --out "$WORK/d.csv" 2>/dev/null
write_job "$WORK/job.ini" "$WORK/d.csv"          # 3 epochs x 75 steps (2400 train rows / 32)
sed -i 's/^epochs = 3/epochs = 4/' "$WORK/job.ini"
mpirun_rg 1 run "$WORK/job.ini" --quiet --out "$WORK/ref.h5"
spe=$(( $(h5dump -a /data/n_train "$WORK/ref.h5" | grep -Eo '\(0\): [0-9]+' | grep -Eo '[0-9]+$') / 32 ))
echo "steps per epoch: $spe"

# stop at step S on P1 ranks (the signal arrives on the last rank only), resume on P2
stop_resume() {
  local s=$1 p1=$2 p2=$3 out="$WORK/r_$1_$2_$3.h5"
  set +e
  RISKGRID_TEST_STOP_AT_STEP=$s timeout 120 "$MPIEXEC" -n "$p1" --oversubscribe "$RISKGRID" run "$WORK/job.ini" \
    --quiet --out "$out" 2> "$WORK/stop.err"
  local rc=$?
  set -e
  [ "$rc" = 75 ] || fail "stop at step $s on $p1 ranks: exit $rc, expected 75: $(cat "$WORK/stop.err")"
  grep -q "riskgrid: preempted: stopped by .* checkpoint written to $out.ckpt" "$WORK/stop.err" || fail "stop message: $(cat "$WORK/stop.err")"
  [ -f "$out.ckpt" ] || fail "no checkpoint after the stop"
  [ ! -e "$out" ] || fail "output written by a stopped run"
  mpirun_rg "$p2" run "$WORK/job.ini" --quiet --out "$out" --resume || fail "resume of step $s on $p2 ranks"
  "$RG_H5CMP" "$WORK/ref.h5" "$out" /model /train /eval >/dev/null || fail "stopped at step $s on $p1 ranks, resumed on $p2: differs from the uninterrupted run"
  [ ! -e "$out.ckpt" ] || fail "checkpoint not removed after a completed run"
  echo "stop at step $s on $p1 ranks, resume on $p2: identical"
}
stop_resume 1 2 1
stop_resume $((spe / 2)) 1 3
stop_resume "$spe" 3 2
stop_resume $((2 * spe + 7)) 4 1

# a real SIGUSR1 sent to mpirun (forwarded to the ranks), resumed on 1 rank
# a job long enough for signals sent from outside to land mid-training:
# 10 epochs of 48,000 rows through 512 hidden units, about 1 s at 2 ranks
# in the Release build, 0.1 s per epoch (with 20,000 rows and 128 hidden
# units the whole run took 0.1 s, and a signal sent after epoch 1 could
# arrive after the end)
"$RISKGRID" gen --rows 60000 --seed 14 --out "$WORK/big.csv" 2>/dev/null
write_job "$WORK/long.ini" "$WORK/big.csv"
sed -i 's/^epochs = 3/epochs = 400/; s/^hidden = 32/hidden = 512/' "$WORK/long.ini"
mpirun_rg 2 run "$WORK/long.ini" --quiet --out "$WORK/long_ref.h5" --set train.epochs=10
set +e
"$MPIEXEC" -n 2 --oversubscribe "$RISKGRID" run "$WORK/long.ini" --out "$WORK/sig.h5" --set train.epochs=10 > "$WORK/sig.log" 2>&1 &
pid=$!
for i in $(seq 1 200); do grep -Eq "^epoch +1/" "$WORK/sig.log" && break; sleep 0.05; done
kill -USR1 "$pid"
wait "$pid"; rc=$?
set -e
if [ "$rc" = 0 ]; then
  echo "note: the run finished before the signal arrived; signal path not exercised by this run" >&2
  fail "run too short for the SIGUSR1 test"
fi
[ "$rc" = 75 ] || fail "SIGUSR1: exit $rc, expected 75: $(tail -3 "$WORK/sig.log")"
grep -q "stopped by SIGUSR1" "$WORK/sig.log" || fail "SIGUSR1 message: $(grep riskgrid: "$WORK/sig.log")"
mpirun_rg 1 run "$WORK/long.ini" --quiet --out "$WORK/sig.h5" --set train.epochs=10 --resume
"$RG_H5CMP" "$WORK/long_ref.h5" "$WORK/sig.h5" /model /train /eval >/dev/null || fail "SIGUSR1 + resume differs"
echo "SIGUSR1 through mpirun: exit 75, resumed identically"

# SIGKILL of one rank mid-training: the job ends (no hang); --resume from
# the last epoch checkpoint finishes with the same bits
rank_pid() { # rank_pid MPIEXEC_PID: pid of one rank (a child running riskgrid)
  pgrep -P "$1" -f "riskgrid run" | tail -1
}
set +e
"$MPIEXEC" -n 2 --oversubscribe "$RISKGRID" run "$WORK/long.ini" --out "$WORK/kill.h5" --set train.epochs=10 > "$WORK/kill.log" 2>&1 &
pid=$!
for i in $(seq 1 200); do grep -Eq "^epoch +2/" "$WORK/kill.log" && break; sleep 0.05; done
victim=$(rank_pid "$pid")
[ -n "$victim" ] && kill -KILL "$victim"
t0=$(date +%s)
wait "$pid"; rc=$?
set -e
[ -n "$victim" ] || fail "no rank process found to kill"
[ "$rc" != 0 ] || fail "the job survived SIGKILL of a rank (or ended first)"
[ $(( $(date +%s) - t0 )) -lt 30 ] || fail "the job took too long to end after SIGKILL"
[ -f "$WORK/kill.h5.ckpt" ] || fail "no epoch checkpoint survived the kill: $(ls -a "$WORK"; cat "$WORK/kill.log")"
mpirun_rg 2 run "$WORK/long.ini" --quiet --out "$WORK/kill.h5" --set train.epochs=10 --resume
"$RG_H5CMP" "$WORK/long_ref.h5" "$WORK/kill.h5" /model /train /eval >/dev/null || fail "SIGKILL + resume differs"
echo "SIGKILL of a rank: job ended (exit $rc), resumed identically"

# SIGSTOP of one rank: the others report a stall and the job ends
set +e
"$MPIEXEC" -n 2 --oversubscribe "$RISKGRID" run "$WORK/long.ini" --out "$WORK/stop.h5" --set train.stall_timeout=3 > "$WORK/stall.log" 2>&1 &
pid=$!
for i in $(seq 1 200); do grep -Eq "^epoch +1/" "$WORK/stall.log" && break; sleep 0.05; done
victim=$(rank_pid "$pid")
[ -n "$victim" ] && kill -STOP "$victim"
t0=$(date +%s)
timeout 60 tail --pid="$pid" -f /dev/null; wait "$pid"; rc=$?
set -e
[ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null || true
[ "$rc" != 0 ] || fail "SIGSTOP: the job ended with 0"
[ $(( $(date +%s) - t0 )) -lt 30 ] || fail "SIGSTOP: the job did not end within the stall timeout"
grep -q "riskgrid: error: stall: rank [0-9] waited 3 s .* step [0-9]* (epoch [0-9]*)" "$WORK/stall.log" || fail "stall message: $(grep riskgrid "$WORK/stall.log")"
echo "SIGSTOP of a rank: stall reported, job ended (exit $rc)"

# refusals: another job's checkpoint, changed input, truncated file
RISKGRID_TEST_STOP_AT_STEP=$((spe + 3)) "$MPIEXEC" -n 2 --oversubscribe "$RISKGRID" run "$WORK/job.ini" --quiet \
  --out "$WORK/x.h5" 2>/dev/null && fail "expected a stop" || true
[ -f "$WORK/x.h5.ckpt" ] || fail "no checkpoint for the refusal tests"
set +e
mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/x.h5" --resume --set train.learning_rate=0.002 2> "$WORK/e1"; rc=$?
set -e
[ "$rc" = 2 ] || fail "foreign checkpoint: exit $rc, expected 2"
grep -q "written by a different job (checkpoint has 'train.learning_rate=0.001', the job has 'train.learning_rate=0.002')" "$WORK/e1" || fail "foreign checkpoint message: $(cat "$WORK/e1")"
# settings that do not change results may differ
cp "$WORK/x.h5.ckpt" "$WORK/keep.ckpt"
mpirun_rg 1 run "$WORK/job.ini" --quiet --out "$WORK/y.h5" --resume "$WORK/keep.ckpt" --set train.stall_timeout=100
"$RG_H5CMP" "$WORK/ref.h5" "$WORK/y.h5" /model /eval >/dev/null || fail "resume with another output path differs"
awk -F, 'BEGIN{OFS=","} NR==100 {$NF = 1 - $NF} {print}' "$WORK/d.csv" > "$WORK/d2.csv"
cmp -s "$WORK/d.csv" "$WORK/d2.csv" && fail "test data not changed"
cp "$WORK/d2.csv" "$WORK/d.csv"
set +e
mpirun_rg 2 run "$WORK/job.ini" --quiet --out "$WORK/x.h5" --resume 2> "$WORK/e2"; rc=$?
set -e
[ "$rc" = 1 ] || fail "changed data: exit $rc, expected 1"
grep -q "the input data changed since checkpoint" "$WORK/e2" || fail "changed data message: $(cat "$WORK/e2")"
head -c 2000 "$WORK/x.h5.ckpt" > "$WORK/trunc.ckpt"
set +e
mpirun_rg 1 run "$WORK/job.ini" --quiet --out "$WORK/x.h5" --resume "$WORK/trunc.ckpt" 2> "$WORK/e3"; rc=$?
set -e
[ "$rc" = 1 ] || fail "truncated checkpoint: exit $rc, expected 1"
grep -q "is not a complete riskgrid checkpoint" "$WORK/e3" || fail "truncated checkpoint message: $(cat "$WORK/e3")"
echo "refusals: foreign job (exit 2), changed input (exit 1), truncated file (exit 1)"
