#!/usr/bin/env bash
# \file tests/e2e/tmp_symlink.sh  A temporary file is never followed
# through a symlink.  Through the test hook RISKGRID_TEST_TMP_HANDSHAKE
# (src/atomicfile.c) riskgrid announces every temporary it is about to
# create (the output, each checkpoint, `gen`'s output) and waits; this
# script then attacks it the way anybody who can write the output
# directory can, and releases riskgrid:
#   swap:  the top-level temporary entry in the output directory (the
#          private directory; with the old scheme the temporary file
#          itself) is renamed away and replaced by a symlink to a victim
#          directory (old scheme: to the victim file);
#   plant: a symlink to the victim file is put at the announced name.
# As root the attacker is `nobody` (setpriv) and the output directory is
# mode 0777 without the sticky bit, like a shared project directory;
# otherwise the attacker is this user.  Checked: the victim files are
# byte-identical afterwards; under `swap` (and under `plant` by another
# user, who cannot write into the private directory) the run succeeds and
# its output is bitwise equal to an unattacked run; under `plant` by the
# same user (who could write the victims directly anyway) the run fails
# with one error line instead of following the symlink; riskgrid leaves
# nothing behind but the output (the attacker's own debris aside: the
# moved-away directory must be empty).  `run` at 1 and 2 ranks, `gen` to
# .h5 and .csv.  With the old scheme (mkstemp, then HDF5 re-opening the
# name) the victim file is truncated.
source "$(dirname "$0")/common.sh"

chmod 755 "$WORK"
OUT=$WORK/shared
VICTIM=$WORK/victim
mkdir -p "$OUT" "$VICTIM" "$WORK/ref"
chmod 777 "$OUT"
attacker=()
who="this user"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null; then
  attacker=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  who="user nobody"
fi
as_attacker() { "${attacker[@]+"${attacker[@]}"}" "$@"; }

victims() { # (re)make the victim files, one per final name
  local f
  for f in out.h5 out.h5.ckpt g.h5 g.csv; do printf 'precious %s\n' "$f" > "$VICTIM/$f"; chmod 644 "$VICTIM/$f"; done
  (cd "$VICTIM" && sha256sum -- *) > "$WORK/victims.sum"
}
check_victims() {
  (cd "$VICTIM" && sha256sum --quiet -c "$WORK/victims.sum") >/dev/null 2>&1 \
    || fail "$1: a victim file changed: $(cd "$VICTIM" && head -c 60 -- * | tr '\n' ' ')"
  [ "$(ls -A "$VICTIM" | wc -l)" = 4 ] || fail "$1: files appeared in the victim directory: $(ls -A "$VICTIM")"
}

# attack MODE NAME: NAME is the announced temporary file
attack() {
  local mode=$1 name=$2 rel top rest b
  rel=${name#"$OUT"/}
  top=${rel%%/*}
  rest=${rel#"$top"}
  b=${top#.}
  b=${b%.tmp.*}            # the final base name: out.h5, out.h5.ckpt, ...
  case $mode in
    swap)
      as_attacker mv -- "$OUT/$top" "$OUT/$top.moved" || { echo "attack: mv failed" >> "$WORK/attacks"; return 0; }
      if [ -z "$rest" ]; then as_attacker ln -s -- "$VICTIM/$b" "$OUT/$top"
      else as_attacker ln -s -- "$VICTIM" "$OUT/$top"; fi
      echo "swapped $top" >> "$WORK/attacks" ;;
    plant)
      if [ -z "$rest" ]; then as_attacker rm -f -- "$name" 2>/dev/null || true; fi
      if as_attacker ln -s -- "$VICTIM/$b" "$name" 2>/dev/null; then echo "planted $rel" >> "$WORK/attacks"
      else echo "plant refused $rel" >> "$WORK/attacks"; fi ;;
  esac
}

# attacked MODE CMD...: runs CMD in the background with the hook and
# answers every announcement with an attack; sets rc and n_hs
attacked() {
  local mode=$1 hs=$WORK/handshake pid name
  shift
  rm -f "$hs" "$WORK/attacks"
  : > "$WORK/attacks"
  n_hs=0
  RISKGRID_TEST_TMP_HANDSHAKE=$hs "$@" > "$WORK/o.txt" 2> "$WORK/e.txt" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ -f "$hs" ]; then
      name=$(cat "$hs")
      attack "$mode" "$name"
      rm -f "$hs"
      n_hs=$((n_hs + 1))
    else
      sleep 0.02
    fi
  done
  set +e
  wait "$pid"
  rc=$?
  set -e
}

# clean_debris WHAT: removes the attacker's symlinks and moved-away
# directories (each must be empty: the file was created inside and moved
# out of it), then only KEEP... may be left in the output directory
clean_debris() {
  local what=$1 e
  shift
  for e in "$OUT"/.*.moved; do
    [ -e "$e" ] || continue
    if [ -d "$e" ]; then
      [ -z "$(ls -A "$e")" ] || fail "$what: the moved temporary directory is not empty: $(ls -A "$e")"
      rmdir "$e"
    else
      rm -f "$e"
    fi
  done
  find "$OUT" -mindepth 1 -maxdepth 1 -type l -delete
  local left
  left=$(ls -A "$OUT" | tr '\n' ' ')
  [ "$left" = "$*" ] || fail "$what: left in the output directory: '$left', expected '$*'"
}

"$RISKGRID" gen --rows 600 --seed 9 --out "$WORK/d.csv" 2>/dev/null
write_job "$WORK/job.ini" "$WORK/d.csv"
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/ref/out.h5"
"$RISKGRID" gen --rows 600 --seed 4 --out "$WORK/ref/g.h5" 2>/dev/null
"$RISKGRID" gen --rows 600 --seed 4 --out "$WORK/ref/g.csv" 2>/dev/null

# ---- swap, run: 2 checkpoints (epochs 1, 2 of 3) + the output are announced
for np in 1 2; do
  victims
  attacked swap "$MPIEXEC" -n "$np" --oversubscribe "$RISKGRID" run "$WORK/job.ini" --quiet --out "$OUT/out.h5"
  what="swap by $who, run at $np rank(s)"
  [ "$n_hs" -ge 3 ] || fail "$what: $n_hs temporaries announced, expected 3 (is the hook there?)"
  [ "$(grep -c '^swapped' "$WORK/attacks")" = "$n_hs" ] || fail "$what: not every attack took place: $(cat "$WORK/attacks")"
  check_victims "$what"
  [ "$rc" = 0 ] || fail "$what: exit $rc: $(grep -a 'riskgrid: error' "$WORK/e.txt")"
  "$RG_H5CMP" "$WORK/ref/out.h5" "$OUT/out.h5" /model /train /eval /data /grid >/dev/null \
    || fail "$what: the output differs from an unattacked run"
  clean_debris "$what" "out.h5 "
  rm -f "$OUT/out.h5"
done

# ---- swap, gen
for g in g.h5 g.csv; do
  victims
  attacked swap "$RISKGRID" gen --rows 600 --seed 4 --out "$OUT/$g"
  what="swap by $who, gen $g"
  [ "$n_hs" = 1 ] || fail "$what: $n_hs temporaries announced, expected 1"
  [ "$(grep -c '^swapped' "$WORK/attacks")" = 1 ] || fail "$what: the attack did not take place: $(cat "$WORK/attacks")"
  check_victims "$what"
  [ "$rc" = 0 ] || fail "$what: exit $rc: $(cat "$WORK/e.txt")"
  cmp -s "$WORK/ref/$g" "$OUT/$g" || fail "$what: the output differs from an unattacked run"
  clean_debris "$what" "$g "
  rm -f "$OUT/$g"
done

# ---- plant, run (1 rank) and gen
victims
attacked plant "$RISKGRID" run "$WORK/job.ini" --quiet --out "$OUT/out.h5"
what="plant by $who, run"
check_victims "$what"
if [ ${#attacker[@]} -gt 0 ]; then
  [ "$(grep -c '^plant refused' "$WORK/attacks")" = "$n_hs" ] || fail "$what: the attacker could write into the temporary directory: $(cat "$WORK/attacks")"
  [ "$rc" = 0 ] || fail "$what: exit $rc: $(grep -a 'riskgrid: error' "$WORK/e.txt")"
  "$RG_H5CMP" "$WORK/ref/out.h5" "$OUT/out.h5" /model /train /eval /data /grid >/dev/null || fail "$what: the output differs"
  clean_debris "$what" "out.h5 "
  rm -f "$OUT/out.h5"
else
  [ "$rc" = 1 ] || fail "$what: exit $rc, expected 1 (the planted symlink must be refused, not followed)"
  [ "$(grep -ac 'riskgrid: error:' "$WORK/e.txt")" = 1 ] || fail "$what: expected one error line: $(cat "$WORK/e.txt")"
  clean_debris "$what" ""
fi
for g in g.h5 g.csv; do
  victims
  attacked plant "$RISKGRID" gen --rows 600 --seed 4 --out "$OUT/$g"
  what="plant by $who, gen $g"
  check_victims "$what"
  if [ ${#attacker[@]} -gt 0 ]; then
    [ "$rc" = 0 ] || fail "$what: exit $rc: $(cat "$WORK/e.txt")"
    cmp -s "$WORK/ref/$g" "$OUT/$g" || fail "$what: the output differs"
    clean_debris "$what" "$g "
    rm -f "$OUT/$g"
  else
    [ "$rc" != 0 ] || fail "$what: exit 0, expected a failure"
    clean_debris "$what" ""
  fi
done
echo "tmp_symlink: swap and plant attacks by $who on every temporary of run (1, 2 ranks) and gen (.h5, .csv): victims untouched, outputs intact"
