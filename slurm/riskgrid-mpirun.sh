#!/usr/bin/env bash
# \file slurm/riskgrid-mpirun.sh  The checkpoint/resume wrapper for machines
# without Slurm: riskgrid under mpirun, restarted from its checkpoint when it
# was preempted.
#
#   slurm/riskgrid-mpirun.sh JOB.ini [NP [riskgrid run options...]]
#
# NP: ranks (default 2; anything up to the job's [train] virtual_shards gives
# bitwise-identical results).  Environment: RISKGRID (default build/riskgrid
# next to this script's project, else riskgrid on PATH), MPIRUN (default
# mpirun), MPIRUN_FLAGS (extra mpirun options, split on blanks, e.g.
# "--oversubscribe --allow-run-as-root"), RG_MAX_RESTARTS (default 10).
#
# Every run is `riskgrid run JOB.ini --resume ...`: it continues from the
# job's checkpoint if one exists (an earlier run was interrupted), else
# starts fresh.  Signals to this script:
#   SIGUSR1         checkpoint now and go on: forwarded to mpirun, which
#                   passes it to every rank; riskgrid checkpoints at the next
#                   step boundary and exits 75; the script starts it again
#                   with --resume
#   SIGTERM, SIGINT checkpoint and stop: forwarded to the ranks as SIGUSR1
#                   (mpirun would abort the ranks on SIGTERM/SIGINT); the
#                   script exits 75; run the same command again to resume
# riskgrid exiting 75 on its own (its ranks were signalled directly) is
# restarted with --resume as well, at most RG_MAX_RESTARTS times.
# Exit status: riskgrid's (0, 1, 2), 75 if stopped after a checkpoint or if
# the restart limit was reached.
set -uo pipefail

usage="usage: $0 JOB.ini [NP [riskgrid run options...]]"
job=${1:?$usage}
np=${2:-2}
shift $(( $# >= 2 ? 2 : 1 ))
[[ $np =~ ^[1-9][0-9]*$ ]] || { echo "$usage (NP must be a positive integer)" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RISKGRID=${RISKGRID:-$here/../build/riskgrid}
if [ ! -x "$RISKGRID" ]; then
  RISKGRID=$(command -v riskgrid) || { echo "riskgrid: error: no riskgrid binary (set RISKGRID or build build/riskgrid)" >&2; exit 2; }
fi
MPIRUN=${MPIRUN:-mpirun}
read -r -a mpirun_flags <<< "${MPIRUN_FLAGS:-}"
max_restarts=${RG_MAX_RESTARTS:-10}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

resume=(--resume)
help=$("$RISKGRID" run --help 2>&1) || true
if [[ $help != *--resume* ]]; then
  echo "riskgrid: warning: $RISKGRID has no --resume; a restart starts from scratch" >&2
  resume=()
fi

# mpirun runs in its own process group (set -m), so that a Ctrl-C at the
# terminal reaches only this script, which turns it into a checkpoint
set -m
mpirun_pid=
stop=
forward() {
  echo "riskgrid: SIG$1 received at $(date '+%T'); forwarding SIGUSR1 to the ranks"
  [ "$1" = USR1 ] || stop=$1
  if [ -n "$mpirun_pid" ]; then kill -USR1 "$mpirun_pid" 2>/dev/null || true; fi
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM
trap 'forward INT' INT

restart=0
while :; do
  echo "riskgrid: $np ranks, restart $restart, $(date '+%F %T')"
  # --resume last: it takes an optional CKPT value from the next argument
  "$MPIRUN" -n "$np" "${mpirun_flags[@]}" "$RISKGRID" run "$job" "$@" "${resume[@]}" < /dev/null &
  mpirun_pid=$!
  # wait returns early when a trapped signal arrives: wait until mpirun ends
  while :; do
    wait "$mpirun_pid"
    rc=$?
    kill -0 "$mpirun_pid" 2>/dev/null || break
  done
  wait "$mpirun_pid" 2>/dev/null
  last=$?
  [ "$last" = 127 ] || rc=$last
  mpirun_pid=

  [ "$rc" = 75 ] || break
  if [ -n "$stop" ]; then
    echo "riskgrid: stopped by SIG$stop after a checkpoint; run the same command again to resume"
    break
  fi
  if [ "$restart" -ge "$max_restarts" ]; then
    echo "riskgrid: error: preempted $((restart + 1)) times; giving up (RG_MAX_RESTARTS=$max_restarts)" >&2
    break
  fi
  restart=$((restart + 1))
  echo "riskgrid: checkpoint written (exit 75); resuming"
done
[ -n "$stop" ] && [ "$rc" != 75 ] && echo "riskgrid: SIG$stop arrived but riskgrid exited $rc" >&2
exit "$rc"
