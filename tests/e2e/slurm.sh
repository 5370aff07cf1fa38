#!/usr/bin/env bash
# \file tests/e2e/slurm.sh  riskgrid on a real single-node Slurm cluster
# (Debian's slurm-wlm + munge, started by scripts/slurm-cluster.sh under a
# temporary directory and stopped on exit, also on failure):
#  (1) `sbatch -n 2 slurm/riskgrid.sbatch` completes, runs 2 ranks as one
#      MPI job (srun --mpi=pmix), and its /model /train /eval /grid equal a
#      1-rank `riskgrid run` bit for bit;
#  (2) a job sent SIGUSR1 mid-training (scancel --batch --signal=USR1)
#      checkpoints, requeues itself, resumes from the checkpoint in its
#      second run (SLURM_RESTART_COUNT=1) and ends COMPLETED with output
#      bitwise identical to the uninterrupted run;
#  (3) slurm/riskgrid-array.sbatch runs one array task per job file, with
#      the default output path and with --out DIR.
# Needs root and the slurm-wlm and munge packages (scripts/install-deps.sh
# --test).  A cluster that cannot start is a FAILURE, not a skip.  Takes
# about 35 s.
source "$(dirname "$0")/common.sh"
SRC=${RG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CLUSTER=$WORK/cluster
cleanup() {
  bash "$SRC/scripts/slurm-cluster.sh" stop "$CLUSTER" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
t_start=$SECONDS
# every wait below ends by this time, well inside ctest's 300 s timeout
# (a test killed by ctest could not stop its cluster)
deadline=$((t_start + 240))

for b in sbatch srun scontrol squeue scancel slurmctld slurmd munged; do
  command -v "$b" >/dev/null || fail "$b not found: the Slurm test needs the slurm-wlm and munge packages (bash scripts/install-deps.sh --test)"
done
[ "$(id -u)" = 0 ] || fail "the Slurm test runs its private cluster as root (SlurmUser=root); run it as root"
bash "$SRC/scripts/slurm-cluster.sh" start "$CLUSTER" \
  || fail "could not start the Slurm cluster (munged/slurmctld/slurmd) under $CLUSTER: see the messages above"
eval "$(bash "$SRC/scripts/slurm-cluster.sh" env "$CLUSTER")"
echo "cluster up after $((SECONDS - t_start)) s"
cd "$WORK"   # the submit directory: logs and default outputs land here

# --- helpers ---------------------------------------------------------------

# field JOBID KEY: one KEY=value field of `scontrol show job` (first record)
field() { scontrol show job -o "$1" 2>/dev/null | head -1 | grep -o "\b$2=[^ ]*" | head -1 | cut -d= -f2-; }

# job_active JOBID: some task of the job is pending or running (a failed
# squeue, e.g. slurmctld busy, counts as active: ask again later)
job_active() {
  local out
  out=$(squeue -h -j "$1" -o %i 2>/dev/null) || return 0
  [ -n "$out" ]
}

# wait_end JOBID SECONDS: wait until no task of the job (array) is pending
# or running; print the states of its records, sorted and unique
wait_end() {
  local id=$1 secs=$2 i
  [ $((SECONDS + secs)) -le "$deadline" ] || secs=$((deadline - SECONDS))
  for ((i = 0; i < secs * 5; i++)); do
    if ! job_active "$id"; then
      scontrol show job -o "$id" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2 | sort -u | tr '\n' ' '
      return 0
    fi
    sleep 0.2
  done
  echo "STILL-RUNNING-after-${secs}s"
}

# diagnose: what a failing part leaves for the reader
diagnose() {
  local f
  for f in "$WORK"/riskgrid-*.out; do
    [ -f "$f" ] && { echo "--- $f"; cat "$f"; }
  done
  squeue 2>&1 | head -20
  for f in slurmctld slurmd; do
    echo "--- $CLUSTER/log/$f.log (tail)"
    tail -n 25 "$CLUSTER/log/$f.log" 2>/dev/null
  done
} >&2

# world_size FILE: the root attribute (ranks of the run that wrote FILE)
world_size() { h5dump -a /world_size "$1" 2>/dev/null | grep -Eo '\(0\): [0-9]+' | grep -Eo '[0-9]+$'; }

submit() { sbatch --parsable "$@" | cut -d';' -f1; }

# --- (1) a 2-task job equals a 1-rank run ------------------------------------
part1() {
  "$RISKGRID" gen --rows 3000 --seed 21 --out "$WORK/d.csv" 2>/dev/null
  write_job "$WORK/small.ini" "$WORK/d.csv"
  "$RISKGRID" run "$WORK/small.ini" --quiet --out "$WORK/ref1.h5"
  local j st log
  j=$(submit -n 2 "$SRC/slurm/riskgrid.sbatch" small.ini --out s.h5) || fail "(1) sbatch refused the job"
  st=$(wait_end "$j" 60)
  log=$WORK/riskgrid-$j.out
  [ "$st" = "COMPLETED " ] || { diagnose; fail "(1) job $j ended $st, expected COMPLETED"; }
  [ "$(field "$j" ExitCode)" = 0:0 ] || { diagnose; fail "(1) job $j exit code $(field "$j" ExitCode)"; }
  # one MPI job of 2 ranks (not 2 singletons): the output's world_size
  [ "$(world_size "$WORK/s.h5")" = 2 ] || { diagnose; fail "(1) world_size $(world_size "$WORK/s.h5"), expected one 2-rank MPI job"; }
  grep -q 'SLURM_RESTART_COUNT=0' "$log" || { diagnose; fail "(1) no SLURM_RESTART_COUNT in the log"; }
  "$RG_H5CMP" "$WORK/ref1.h5" "$WORK/s.h5" /model /train /eval /grid >/dev/null \
    || { "$RG_H5CMP" "$WORK/ref1.h5" "$WORK/s.h5" /model /train /eval /grid | grep -v '^same' >&2; fail "(1) sbatch -n 2 output differs from the 1-rank run"; }
  echo "(1) sbatch -n 2: COMPLETED, bitwise identical to 1 rank"
}

# --- (3) the array script ------------------------------------------------------
part3() {
  mkdir -p "$WORK/arr"
  "$RISKGRID" gen --rows 2000 --seed 31 --out "$WORK/arr/d.csv" 2>/dev/null
  write_job "$WORK/arr/b-second.ini" d.csv "[output]" "path = $WORK/b-own.h5"
  write_job "$WORK/arr/a-first.ini" d.csv
  sed -i 's/^seed = 7/seed = 8/' "$WORK/arr/b-second.ini"
  "$RISKGRID" run "$WORK/arr/a-first.ini" --quiet --out "$WORK/ref_a.h5"
  "$RISKGRID" run "$WORK/arr/b-second.ini" --quiet --out "$WORK/ref_b.h5"
  local ja jb st
  # default outputs: a-first -> a-first.h5 in the submit directory, b-second -> its [output] path
  ja=$(submit --array=0-1 -n 1 "$SRC/slurm/riskgrid-array.sbatch" arr) || fail "(3) sbatch refused the array"
  # --out DIR: DIR/<stem>.h5 for every file
  jb=$(submit --array=0-1 -n 1 "$SRC/slurm/riskgrid-array.sbatch" arr --out arrout) || fail "(3) sbatch refused the array"
  st=$(wait_end "$ja" 60)
  [ "$st" = "COMPLETED " ] || { diagnose; fail "(3) array $ja ended $st, expected COMPLETED"; }
  st=$(wait_end "$jb" 60)
  [ "$st" = "COMPLETED " ] || { diagnose; fail "(3) array $jb (--out) ended $st, expected COMPLETED"; }
  local f
  for f in a-first.h5 b-own.h5 arrout/a-first.h5 arrout/b-second.h5; do
    [ -f "$WORK/$f" ] || { diagnose; ls -R "$WORK" >&2; fail "(3) array output $f missing"; }
  done
  "$RG_H5CMP" "$WORK/ref_a.h5" "$WORK/a-first.h5" /model /train /eval /grid >/dev/null || fail "(3) array task 0 output differs"
  "$RG_H5CMP" "$WORK/ref_b.h5" "$WORK/b-own.h5" /model /train /eval /grid >/dev/null || fail "(3) array task 1 output differs"
  "$RG_H5CMP" "$WORK/ref_a.h5" "$WORK/arrout/a-first.h5" /model /train /eval /grid >/dev/null || fail "(3) array --out task 0 output differs"
  "$RG_H5CMP" "$WORK/ref_b.h5" "$WORK/arrout/b-second.h5" /model /train /eval /grid >/dev/null || fail "(3) array --out task 1 output differs"
  if [ ! -f "$WORK/riskgrid-${ja}_0.out" ] || [ ! -f "$WORK/riskgrid-${ja}_1.out" ]; then
    diagnose; fail "(3) no per-task logs riskgrid-${ja}_{0,1}.out"
  fi
  echo "(3) array: 2 job files x (default output, --out DIR): COMPLETED, identical to direct runs"
}

# --- (2) signal -> checkpoint -> requeue -> resume ------------------------------
part2() {
  local help
  help=$("$RISKGRID" run --help 2>&1) || true
  [[ $help == *--resume* ]] || fail "(2) $RISKGRID has no --resume: checkpoint/resume is not built yet"
  "$RISKGRID" gen --rows 20000 --seed 22 --out "$WORK/long.csv" 2>/dev/null
  write_job "$WORK/long.ini" "$WORK/long.csv"
  sed -i 's/^hidden = 32/hidden = 64/' "$WORK/long.ini"
  # The job must run for seconds, so that a signal sent after the first
  # epoch line lands mid-training, but not for minutes in a sanitizer build
  # (about 10x slower): time 3 epochs on this build and choose the epochs
  # for about 12 s at 1 rank (60 in a release build), at least 5.
  local t0 t3 E
  t0=$(date +%s%N)
  "$RISKGRID" run "$WORK/long.ini" --quiet --set train.epochs=3 --out "$WORK/calib.h5"
  t3=$(( ($(date +%s%N) - t0) / 1000000 ))
  E=$(( 12000 * 3 / (t3 > 0 ? t3 : 1) ))
  E=$(( E < 5 ? 5 : (E > 60 ? 60 : E) ))
  sed -i "s/^epochs = 3/epochs = $E/" "$WORK/long.ini"
  echo "(2) 3 epochs took $t3 ms at 1 rank: the job runs $E epochs"
  local j st log i
  j=$(submit -n 2 "$SRC/slurm/riskgrid.sbatch" long.ini --out long.h5) || fail "(2) sbatch refused the job"
  log=$WORK/riskgrid-$j.out
  for ((i = 0; i < 1200 && SECONDS < deadline; i++)); do
    grep -Eq "^epoch +[0-9]+/$E " "$log" 2>/dev/null && break
    job_active "$j" || break   # ended early
    sleep 0.1
  done
  grep -Eq "^epoch +[0-9]+/$E " "$log" 2>/dev/null \
    || { diagnose; fail "(2) no epoch line in the log (job $j: $(field "$j" JobState))"; }
  scancel --batch --signal=USR1 "$j" || { diagnose; fail "(2) scancel --batch --signal=USR1 $j failed"; }
  local t_sig=$SECONDS
  # meanwhile (the requeued job waits about 11 s): the uninterrupted run, 1 rank
  "$RISKGRID" run "$WORK/long.ini" --quiet --out "$WORK/long_ref.h5"
  st=$(wait_end "$j" 150)
  [ "$st" = "COMPLETED " ] || { diagnose; fail "(2) job $j ended $st, expected COMPLETED"; }
  echo "(2) job $j: signal to COMPLETED in $((SECONDS - t_sig)) s"
  if ! grep -q 'SLURM_RESTART_COUNT=1' "$log"; then
    diagnose
    grep -Eq "^epoch +$E/$E " "$log" && grep -q 'SIGUSR1 received' "$log" \
      && fail "(2) the signal arrived but the job finished without a restart (training too short, or no checkpoint on SIGUSR1)"
    fail "(2) the job was not restarted (no SLURM_RESTART_COUNT=1 in its log)"
  fi
  [ "$(field "$j" Restarts)" = 1 ] || { diagnose; fail "(2) Restarts=$(field "$j" Restarts), expected 1"; }
  grep -q 'SIGUSR1 received' "$log" || { diagnose; fail "(2) the batch shell did not get SIGUSR1"; }
  grep -q 'checkpoint written (exit 75); requeueing' "$log" || { diagnose; fail "(2) riskgrid did not exit 75 / the script did not requeue"; }
  # the second run resumed: it starts past epoch 1, and no epoch is run twice from scratch
  local first_after
  first_after=$(sed -n '/SLURM_RESTART_COUNT=1/,$p' "$log" | sed -En "s|^epoch +([0-9]+)/$E .*|\\1|p" | sed -n 1p)
  if [ -z "$first_after" ] || [ "$first_after" -lt 2 ]; then
    diagnose; fail "(2) the restarted run did not resume (its first epoch line: '${first_after:-none}')"
  fi
  [ "$(grep -Ec "^epoch +1/$E " "$log")" = 1 ] || { diagnose; fail "(2) epoch 1 ran twice: started over instead of resuming"; }
  [ ! -e "$WORK/long.h5.ckpt" ] || fail "(2) checkpoint left behind after the completed run"
  "$RG_H5CMP" "$WORK/long_ref.h5" "$WORK/long.h5" /model /train /eval /grid >/dev/null \
    || { "$RG_H5CMP" "$WORK/long_ref.h5" "$WORK/long.h5" /model /train /eval /grid | grep -v '^same' >&2; fail "(2) checkpoint/requeue/resume output differs from the uninterrupted run"; }
  echo "(2) USR1 -> checkpoint -> requeue -> resumed at epoch $first_after of $E -> COMPLETED, bitwise identical"
}

# run all three parts (each in a subshell: one failing part does not hide
# the others' results), then fail if any failed
failed=()
for p in 1 3 2; do
  t0=$SECONDS
  # not `if ( ... )`: errexit is off inside a condition
  set +e
  ( set -e; "part$p" )
  rc=$?
  set -e
  if [ "$rc" = 0 ]; then
    echo "part ($p): passed in $((SECONDS - t0)) s"
  else
    failed+=("($p)")
  fi
done
echo "slurm test: $((SECONDS - t_start)) s in total"
[ ${#failed[@]} -eq 0 ] || fail "slurm parts ${failed[*]} failed"
echo "slurm: sbatch bitwise, signal/requeue/resume, array: all passed"
