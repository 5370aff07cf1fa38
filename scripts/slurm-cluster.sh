#!/usr/bin/env bash
# \file scripts/slurm-cluster.sh  A private single-node Slurm cluster (munged,
# slurmctld, slurmd from Debian's slurm-wlm and munge packages), everything
# under one directory: for CI and for trying the sbatch scripts locally.
#
#   scripts/slurm-cluster.sh start DIR   generate the configuration under DIR,
#                                        start the three daemons, wait until
#                                        the node is idle
#   scripts/slurm-cluster.sh env DIR     print the `export` lines a client needs:
#                                        eval "$(scripts/slurm-cluster.sh env DIR)"
#   scripts/slurm-cluster.sh stop DIR    stop the daemons and every process of
#                                        the cluster's jobs (safe to repeat)
#   scripts/slurm-cluster.sh status DIR  exit 0 if all three daemons run
#
# Runs as root (SlurmUser=root, SlurmdUser=root; needs no cgroups: tasks are
# tracked with proctrack/linuxproc).  Ports: $SLURM_CLUSTER_PORT and the next
# one if set, else a free pair found at start.  $SLURM_CLUSTER_CRED_EXPIRE
# (default 10 s) is the credential lifetime, which is also how long a
# requeued job waits before it can start again.  DIR layout:
#   etc/slurm.conf etc/plugstack.conf   configuration (SLURM_CONF)
#   munge/munge.key munge/sock/         private key (root, 0400), socket dir (0755)
#   state/ spool/ tmp/ log/ run/        StateSaveLocation, SlurmdSpoolDir,
#                                       TmpFS, logs, pid files
# Processes are stopped by the PIDs recorded in run/ and by finding the
# cluster's other processes (slurmstepd, job tasks, strays that escaped a
# cancelled job): never by process name.
set -euo pipefail

die() { echo "slurm-cluster: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop|env|status DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
if [ ! -d "$2" ]; then
  case $cmd in
    start) mkdir -p "$2" || die "$2: cannot create the directory" ;;
    stop) exit 0 ;;   # nothing was started there
    *) die "$2: no such directory" ;;
  esac
fi
DIR=$(cd "$2" && pwd -P)
CONF=$DIR/etc/slurm.conf
# set in the daemons' environment (slurmstepd inherits it from slurmd): how
# stop recognises this cluster's processes
MARK="RG_SLURM_CLUSTER=$DIR"

# --- process bookkeeping ---------------------------------------------------

# pid_of NAME: the PID in run/NAME.pid if that process is alive and is NAME
# (guards against a recycled PID after the daemon died)
pid_of() {
  local f=$DIR/run/$1.pid pid comm
  [ -s "$f" ] || return 1
  pid=$(tr -dc '0-9' < "$f")
  [ -n "$pid" ] && alive "$pid" || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$1" ] || return 1
  echo "$pid"
}

# alive PID: the process exists and is not a zombie (a zombie whose parent
# is slow to reap it still answers kill -0)
alive() {
  local st
  # fields after "(comm)", which may hold spaces: state ppid ...
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# the stop script's own process and its ancestors: never touched (a shell
# that sourced `env` or runs inside a Slurm job carries the markers too)
self_chain() {
  local p=$BASHPID
  while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    echo "$p"
    p=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f2) || break
  done
}

# cluster_pids: every process that belongs to this cluster, one per line:
# the recorded daemons; processes started with the daemons' marker; the
# cluster's slurmstepd processes; job processes (SLURM_CONF of this cluster and a
# SLURM_JOB_ID in their environment, including ones that escaped their
# step); what `scontrol listpids` reports; all their descendants.
cluster_pids() {
  local seeds=() p n
  for n in munged slurmctld slurmd; do
    p=$(pid_of "$n") && seeds+=("$p")
  done
  # one grep over all environments (NUL-separated entries: -z, whole entry: -x)
  while read -r p; do
    seeds+=("$p")
  done < <(grep -lzxF -e "$MARK" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
  while read -r p; do
    seeds+=("$p")
  done < <(grep -lzxF -e "SLURM_CONF=$CONF" /proc/[0-9]*/environ 2>/dev/null \
             | xargs -r grep -lz '^SLURM_JOB_ID=' 2>/dev/null | cut -d/ -f3)
  # slurmstepd overwrites its environment with its process title, but it
  # keeps slurmd's working directory (DIR/log) and log file: a slurmstepd
  # with a cwd or an open file under DIR is this cluster's
  while read -r p; do
    case $(readlink "/proc/$p/exe" 2>/dev/null) in
      */slurmstepd*) seeds+=("$p") ;;
    esac
  done < <(find /proc/[0-9]*/cwd /proc/[0-9]*/fd/ -maxdepth 1 \( -lname "$DIR" -o -lname "$DIR/*" \) \
             2>/dev/null | cut -d/ -f3 | sort -u)
  if pid_of slurmd >/dev/null && [ -f "$CONF" ]; then
    while read -r p _; do
      [[ $p =~ ^[0-9]+$ ]] && seeds+=("$p")
    done < <(SLURM_CONF=$CONF timeout 5 scontrol listpids 2>/dev/null | tail -n +2)
  fi
  [ ${#seeds[@]} -gt 0 ] || return 0
  # descendants by the parent chain, then drop our own chain
  # (zombies are left out: they are dead already)
  ps -e -o pid=,ppid=,stat= | awk -v seeds="${seeds[*]}" -v self="$(self_chain | tr '\n' ' ')" '
    BEGIN { n = split(seeds, s, " "); for (i = 1; i <= n; i++) in_set[s[i]] = 1
            m = split(self, t, " "); for (i = 1; i <= m; i++) mine[t[i]] = 1 }
    { par[$1] = $2; zombie[$1] = ($3 ~ /^Z/) }
    END {
      changed = 1
      while (changed) { changed = 0
        for (p in par) if (!(p in in_set) && (par[p] in in_set)) { in_set[p] = 1; changed = 1 } }
      for (p in in_set) if ((p in par) && !(p in mine) && !zombie[p]) print p
    }'
}

# --- configuration ---------------------------------------------------------

# port_in_use PORT: some TCP socket has PORT as its local port, in any state
# (listening, connected, TIME_WAIT): slurmctld's bind fails on all of them
port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  awk -v h=":$hex" 'NR > 1 && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# pick_ports: a base port such that base and base+1 are free.  Drawn from
# outside the kernel's ephemeral range (ip_local_port_range, 32768-60999 by
# default): ports in it are handed out to outgoing connections at any moment
# (the MPI tests that ctest runs next to this one open many), so a port
# found free there can be taken before slurmctld binds it.
pick_ports() {
  if [ -n "${SLURM_CLUSTER_PORT:-}" ]; then
    echo "$SLURM_CLUSTER_PORT"
    return
  fi
  local lo=32768 hi=60999 from to base i
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  if [ "$lo" -ge 12002 ]; then from=10000; to=$((lo - 2))
  else from=$((hi + 1)); to=65533; fi
  [ "$to" -gt "$from" ] || die "no port range outside the ephemeral range $lo-$hi (set SLURM_CLUSTER_PORT)"
  for i in $(seq 1 50); do
    base=$((from + (RANDOM * 32768 + RANDOM) % (to - from)))
    if ! port_in_use "$base" && ! port_in_use $((base + 1)); then
      echo "$base"
      return
    fi
  done
  die "no free port pair found in $from-$to (set SLURM_CLUSTER_PORT)"
}

write_config() {
  local host mem cpus port
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)
  [ -n "$mem" ] || mem=1000
  port=$(pick_ports)
  mkdir -p "$DIR"/{etc,munge/sock,state,spool,tmp,log,run}
  chmod 0755 "$DIR" "$DIR/munge" "$DIR/munge/sock"
  chmod 0700 "$DIR/state"
  if [ ! -s "$DIR/munge/munge.key" ]; then
    # munged refuses a key that is not owned by its user (root here) or that
    # others can read: Debian's /etc/munge/munge.key belongs to munge
    (umask 077; head -c 1024 /dev/urandom > "$DIR/munge/munge.key")
  fi
  chown root:root "$DIR/munge/munge.key"
  chmod 0400 "$DIR/munge/munge.key"
  : > "$DIR/etc/plugstack.conf"
  cat > "$CONF" <<EOF
# generated by scripts/slurm-cluster.sh for $DIR
ClusterName=rgci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# private munged; short credential lifetime (the default 120 s holds a
# requeued job back that long)
AuthInfo=socket=$DIR/munge/sock/munge.socket.2,cred_expire=${SLURM_CLUSTER_CRED_EXPIRE:-10}
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
TmpFS=$DIR/tmp
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/etc/plugstack.conf
# no cgroups needed
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=pmix
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=1
ReturnToService=2
JobRequeue=1
KillWait=5
InactiveLimit=0
MinJobAge=600
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# --- commands --------------------------------------------------------------

start() {
  [ "$(id -u)" = 0 ] || die "must run as root (SlurmUser=root)"
  local b
  for b in munged slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null || die "$b not found: apt-get install -y slurm-wlm munge"
  done
  if pid_of slurmctld >/dev/null || pid_of slurmd >/dev/null || pid_of munged >/dev/null; then
    die "a cluster is already running under $DIR (stop it first)"
  fi
  # unix socket paths (munged's, slurmstepd's, PMIx's under spool/) are
  # limited to 108 bytes
  [ ${#DIR} -le 64 ] || die "$DIR: path too long for the daemons' unix sockets (at most 64 characters; use a shorter TMPDIR)"
  export SLURM_CONF=$CONF
  export "${MARK?}"
  # a port can still be taken between pick_ports and the daemon's bind (by
  # any process on the machine): then start again on other ports
  local attempt
  for attempt in 1 2 3; do
    # a fixed $SLURM_CLUSTER_PORT would be taken again: no retry then
    PORT_RETRY=$((attempt < 3))
    [ -z "${SLURM_CLUSTER_PORT:-}" ] || PORT_RETRY=0
    write_config
    start_daemons && return 0
    echo "slurm-cluster: port $(sed -n 's/^SlurmctldPort=//p' "$CONF") or the next was taken while starting; trying other ports" >&2
    for b in slurmctld slurmd; do
      [ -f "$DIR/log/$b.log" ] && mv -f "$DIR/log/$b.log" "$DIR/log/$b.log.$attempt"
    done
  done
}

# start_daemons: munged, slurmctld, slurmd under $DIR with $CONF; 0 when the
# node is idle, 2 when a daemon died because its port was taken (everything
# stopped again, $PORT_RETRY set), else exit 1 with the logs shown
start_daemons() {
  munged --socket="$DIR/munge/sock/munge.socket.2" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/run/munged.pid" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" --force \
    || die "munged did not start: $(tail -n 5 "$DIR/log/munged.log" 2>/dev/null)"
  wait_for munged 10 test -S "$DIR/munge/sock/munge.socket.2" || return

  # -c: a fresh cluster, no state recovered from an earlier run in DIR
  slurmctld -c -f "$CONF" \
    || die "slurmctld did not start: $(tail -n 20 "$DIR/log/slurmctld.log" 2>/dev/null)"
  wait_for slurmctld 20 scontrol ping || return
  slurmd -f "$CONF" \
    || die "slurmd did not start: $(tail -n 20 "$DIR/log/slurmd.log" 2>/dev/null)"
  wait_for slurmd 30 node_idle || return
  echo "slurm-cluster: up under $DIR (node $(hostname -s), $(nproc) CPUs, port $(sed -n 's/^SlurmctldPort=//p' "$CONF"))" >&2
}

node_idle() {
  local s
  s=$(sinfo -h -N -o '%T' 2>/dev/null | head -1)
  [ "$s" = idle ]
}

# wait_for DAEMON SECONDS CMD...: poll CMD every 0.2 s while DAEMON (its pid
# file) is alive; on timeout or the daemon's death show the logs, stop, fail;
# but return 2 (stopped, nothing shown) when the daemon died of a taken port
# and $PORT_RETRY is 1
wait_for() {
  local what=$1 secs=$2 i; shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    # a daemon that exited (bad configuration, port taken, ...) will not
    # come up; give it a moment to write its pid file first
    if [ "$i" -ge 15 ] && ! pid_of "$what" >/dev/null; then
      echo "slurm-cluster: $what exited during start-up under $DIR" >&2
      i=-1
      break
    fi
    sleep 0.2
  done
  if [ "$i" = -1 ] && [ "${PORT_RETRY:-0}" = 1 ] &&
     grep -qs 'Address already in use' "$DIR/log/$what.log"; then
    stop >/dev/null 2>&1 || true
    return 2
  fi
  [ "$i" = -1 ] || echo "slurm-cluster: $what not ready after ${secs}s under $DIR" >&2
  for f in munged slurmctld slurmd; do
    [ -f "$DIR/log/$f.log" ] && { echo "--- $DIR/log/$f.log (tail)" >&2; tail -n 15 "$DIR/log/$f.log" >&2; }
  done
  stop >/dev/null 2>&1 || true
  exit 1
}

stop() {
  local pids round daemons=() p n
  # job processes and slurmstepd first (SIGKILL: there is no one left to
  # wait for them), while slurmd can still answer `scontrol listpids`
  for round in 1 2 3; do
    daemons=()
    for n in munged slurmctld slurmd; do
      p=$(pid_of "$n") && daemons+=("$p")
    done
    pids=$(cluster_pids | grep -vxF -f <(printf '%s\n' "${daemons[@]:-}") || true)
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  done
  # then the daemons: slurmd, slurmctld, munged; TERM, KILL after 1 s (the
  # slurm daemons take seconds to shut down cleanly, and the cluster's
  # state is thrown away anyway: start uses slurmctld -c)
  for n in slurmd slurmctld munged; do
    p=$(pid_of "$n") || continue
    kill -TERM "$p" 2>/dev/null || true
    for ((round = 0; round < 5; round++)); do
      alive "$p" || break
      sleep 0.2
    done
    kill -KILL "$p" 2>/dev/null || true
  done
  # anything left over (a process forked while we were stopping)
  pids=$(cluster_pids || true)
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  rm -f "$DIR"/run/*.pid
  return 0
}

case $cmd in
  start) start ;;
  stop)
    [ -d "$DIR/run" ] || exit 0
    stop ;;
  env)
    [ -f "$CONF" ] || die "no cluster configuration under $DIR (run start first)"
    printf 'export SLURM_CONF=%q\n' "$CONF" ;;
  status)
    for n in munged slurmctld slurmd; do
      pid_of "$n" >/dev/null || { echo "slurm-cluster: $n not running" >&2; exit 1; }
    done ;;
  *) usage ;;
esac
