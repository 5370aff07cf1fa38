#!/usr/bin/env bash
# \file tests/e2e/corpus.sh  The bad-input corpus (tests/corpus/*/, format
# in tests/corpus/README.md): every case is run at the ranks it lists
# (default 1 and 3; 1 rank runs without mpiexec) and must
#   - end within its timeout (default 30 s),
#   - exit with the expected code,
#   - print exactly one "riskgrid: error:" line, containing the expected
#     substring (which names the file and line/column, or the key),
#   - leave nothing behind: the output directory stays empty (no output,
#     no checkpoint, no '.*.tmp.*' or probe file) and every file in the
#     case directory (inputs, an existing output, a checkpoint given to
#     --resume) is byte-identical afterwards, with no new file.
# CORPUS_ONLY="case1 case2" limits the run to some cases; CORPUS_JOBS
# (default 2) cases run at a time.
source "$(dirname "$0")/common.sh"
CORPUS=${RG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/corpus
PY=/usr/bin/python3
export RISKGRID PY
# ob1 over shared memory (common.sh picks the self,vader BTLs): Open MPI
# otherwise probes the UCX/libfabric transports at every start, which
# doubles the start-up time of the ~230 short runs here and changes
# nothing the corpus checks (error agreement, messages, files left)
export OMPI_MCA_pml=ob1

# shared inputs, copied into every case directory that has no file of that name
mkdir -p "$WORK/shared"
"$RISKGRID" gen --rows 600 --seed 9 --out "$WORK/shared/good.csv" 2>/dev/null
"$RISKGRID" gen --rows 600 --seed 9 --out "$WORK/shared/good.h5" 2>/dev/null

# snapshot DIR: sorted "sha256  ./path" of every file (names starting with
# '.' included), plus directories, so new, missing or changed files show
snapshot() {
  (cd "$1" && find . -mindepth 1 -type d | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

subst() { # subst TEXT: placeholders of args files
  local s=$1
  s=${s//@CASE@/$case_dir}
  s=${s//@OUTDIR@/$out_dir}
  s=${s//@OUT@/$out_dir/out.h5}
  printf '%s' "$s"
}

asan=0
grep -aq __asan_init "$RISKGRID" 2>/dev/null && asan=1
# one line per failed check; appended by the concurrent case runners
: > "$WORK/failures"
: > "$WORK/times"
: > "$WORK/done"
bad() { echo "FAIL: $*" >> "$WORK/failures"; }

# run_case SRC: prepares the case directory and runs the case at each of
# its rank counts.  Runs in the background next to other cases: everything
# it writes is under $WORK/{run,out,tmp}/NAME, failures and times are
# appended (one short line each) to the shared files.
run_case() {
  local src=$1 name want_rc want_msg ranks limit vmem case_dir out_dir tmp np rc what
  local before after left n_err t0 f a launch args
  name=$(basename "$src")
  want_rc=$(sed -n 1p "$src/expect")
  want_msg=$(sed -n 2p "$src/expect")
  [ -n "$want_rc" ] && [ -n "$want_msg" ] || { bad "$name: expect needs the exit code on line 1 and a message on line 2"; return; }
  ranks="1 3"
  [ -f "$src/ranks" ] && ranks=$(sed 's/#.*//' "$src/ranks")
  limit=30
  [ -f "$src/timeout" ] && limit=$(cat "$src/timeout")
  vmem=
  [ -f "$src/vmem" ] && vmem=$(cat "$src/vmem")
  # the case directory is prepared once (setup.sh may make a checkpoint,
  # which records the absolute data path, so every run uses this path)
  case_dir=$WORK/run/$name
  out_dir=$WORK/out/$name
  tmp=$WORK/tmp/$name
  mkdir -p "$case_dir" "$out_dir" "$tmp"
  cp -r "$src"/. "$case_dir"/
  rm -f "$case_dir/expect" "$case_dir/ranks" "$case_dir/timeout" "$case_dir/args" "$case_dir/setup.sh" "$case_dir/vmem"
  for f in good.csv good.h5; do [ -e "$case_dir/$f" ] || cp "$WORK/shared/$f" "$case_dir/"; done
  if [ -f "$src/setup.sh" ]; then
    t0=$(date +%s%N)
    if ! (cd "$case_dir" && OUTDIR="$out_dir" bash "$src/setup.sh") > "$tmp/setup.log" 2>&1; then
      bad "$name: setup.sh failed: $(tail -5 "$tmp/setup.log" | tr '\n' ' ')"
      return
    fi
    echo "$(( ($(date +%s%N) - t0) / 1000000 )) ms $name setup" >> "$WORK/times"
  fi
  cp -a "$case_dir" "$tmp/pristine"
  args=()
  if [ -f "$src/args" ]; then
    while IFS= read -r a || [ -n "$a" ]; do
      [ -n "$a" ] && args+=("$(subst "$a")")
    done < "$src/args"
  fi
  printf '%s\n' "${args[@]+"${args[@]}"}" | grep -Eq '^--out(=|$)' || args+=(--out "$out_dir/out.h5")
  before=$(snapshot "$case_dir")
  for np in $ranks; do
    t0=$(date +%s%N)
    if [ "$np" = 1 ]; then
      launch=("$RISKGRID")
    else
      launch=("$MPIEXEC" -n "$np" --oversubscribe "$RISKGRID")
    fi
    set +e
    (
      cd "$case_dir"
      if [ -n "$vmem" ]; then
        # a memory limit: ulimit -v, or for an AddressSanitizer build (which
        # reserves terabytes of address space) the allocator's own limit
        if [ "$asan" = 1 ]; then export ASAN_OPTIONS="${ASAN_OPTIONS:-}:allocator_may_return_null=1:max_allocation_size_mb=$((vmem / 1024))"
        else ulimit -v "$vmem"; fi
      fi
      exec timeout -k 5 "$limit" "${launch[@]}" run "$case_dir/job.ini" --quiet ${args[@]+"${args[@]}"}
    ) > "$tmp/o.txt" 2> "$tmp/e.txt"
    rc=$?
    set -e
    what="$name@$np"
    echo "$(( ($(date +%s%N) - t0) / 1000000 )) ms $what" >> "$WORK/times"
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      bad "$what: did not end within ${limit}s"
    elif [ "$rc" != "$want_rc" ]; then
      bad "$what: exit $rc, expected $want_rc; stderr: $(grep -a -m3 -v '^---' "$tmp/e.txt" | cut -c1-300 | tr '\n' ' ')"
    else
      n_err=$(grep -ac 'riskgrid: error:' "$tmp/e.txt" || true)
      [ "$n_err" = 1 ] || bad "$what: $n_err 'riskgrid: error:' lines, expected 1: $(grep -a 'riskgrid: error:' "$tmp/e.txt" | head -4 | cut -c1-300 | tr '\n' ' ')"
      grep -a 'riskgrid: error:' "$tmp/e.txt" | grep -qF -- "$want_msg" \
        || bad "$what: message '$(grep -a -m1 'riskgrid: error:' "$tmp/e.txt" | cut -c1-400)' does not contain '$want_msg'"
    fi
    left=$(ls -A "$out_dir")
    [ -z "$left" ] || bad "$what: left in the output directory: $(echo $left)"
    after=$(snapshot "$case_dir")
    [ "$before" = "$after" ] || bad "$what: files in the case directory changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -5 | tr '\n' ' ')"
    # the next run starts from the prepared state whatever this one did
    if [ -n "$left" ] || [ "$before" != "$after" ]; then
      rm -rf "$out_dir" "$case_dir" && mkdir -p "$out_dir" && cp -a "$tmp/pristine" "$case_dir"
    fi
  done
  rm -rf "$case_dir" "$out_dir" "$tmp"
  echo "$name" >> "$WORK/done"
}

# Cases run CORPUS_JOBS at a time (default 2).  A run is mostly waiting
# (MPI start-up, the launcher's timers: about 0.3 s of CPU in 0.6-1 s), so
# two at a time nearly halve the wall time even on 2 cores.  Per-run
# timeouts are generous enough for that sharing.
jobs_max=${CORPUS_JOBS:-2}
n_cases=0
t_start=$(date +%s)
for src in "$CORPUS"/*/; do
  name=$(basename "$src")
  [ -f "$src/expect" ] || continue
  if [ -n "${CORPUS_ONLY:-}" ] && ! grep -qw -- "$name" <<< "$CORPUS_ONLY"; then continue; fi
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  run_case "$src" &
  n_cases=$((n_cases + 1))
done
wait
# a runner that died (set -e) without finishing its case is a failure too
for src in "$CORPUS"/*/; do
  name=$(basename "$src")
  [ -f "$src/expect" ] || continue
  if [ -n "${CORPUS_ONLY:-}" ] && ! grep -qw -- "$name" <<< "$CORPUS_ONLY"; then continue; fi
  grep -qx -- "$name" "$WORK/done" || grep -q "^FAIL: $name[:@]" "$WORK/failures" || bad "$name: the case runner stopped early"
done
n_runs=$(grep -c '@' "$WORK/times" || true)
failures=$(wc -l < "$WORK/failures")
[ "$n_cases" -gt 0 ] || fail "no corpus cases found under $CORPUS"
[ -z "${CORPUS_TIMES:-}" ] || cp "$WORK/times" "$CORPUS_TIMES"
[ "$failures" = 0 ] || { sort "$WORK/failures" >&2; sort -rn "$WORK/times" | sed -n 1,5p >&2; fail "$failures corpus check(s) failed ($n_cases cases, $n_runs runs)"; }
echo "corpus: $n_cases cases, $n_runs runs passed in $(( $(date +%s) - t_start ))s; slowest runs:"
sort -rn "$WORK/times" | sed -n 1,3p  # not head: sort would die of SIGPIPE under pipefail
