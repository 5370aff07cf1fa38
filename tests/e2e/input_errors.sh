#!/usr/bin/env bash
# \file tests/e2e/input_errors.sh  Every input error of the core issue, at
# 1 and 3 ranks: the documented exit code, one line naming file/line/column
# (or key), no hang, no output or temporary file left behind.
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 600 --seed 9 --out "$WORK/good.csv" 2>/dev/null
hdr=$(head -1 "$WORK/good.csv")

mk() { # mk NAME: files under $WORK/cases
  mkdir -p "$WORK/cases"; echo "$WORK/cases/$1"
}
f=$(mk empty.csv); : > "$f"
f=$(mk header_only.csv); echo "$hdr" > "$f"
f=$(mk ragged.csv); { echo "$hdr"; sed -n '2,300p' "$WORK/good.csv"; echo "1,2,3"; sed -n '301,$p' "$WORK/good.csv"; } > "$f"
f=$(mk nonnum.csv); awk -F, 'BEGIN{OFS=","} NR==200 {$2="12x"} {print}' "$WORK/good.csv" > "$f"
f=$(mk emptyfield.csv); awk -F, 'BEGIN{OFS=","} NR==150 {$3=""} {print}' "$WORK/good.csv" > "$f"
f=$(mk nan.csv); awk -F, 'BEGIN{OFS=","} NR==420 {$2="nan"} {print}' "$WORK/good.csv" > "$f"
f=$(mk inf.csv); awk -F, 'BEGIN{OFS=","} NR==421 {$2="-inf"} {print}' "$WORK/good.csv" > "$f"
f=$(mk overflow.csv); awk -F, 'BEGIN{OFS=","} NR==99 {$2="1e39"} {print}' "$WORK/good.csv" > "$f"
f=$(mk label_float.csv); awk -F, 'BEGIN{OFS=","} NR==333 {$NF="0.5"} {print}' "$WORK/good.csv" > "$f"
f=$(mk label_text.csv); awk -F, 'BEGIN{OFS=","} NR==77 {$NF="yes"} {print}' "$WORK/good.csv" > "$f"
f=$(mk single_class.csv); awk -F, 'BEGIN{OFS=","} NR>1 {$NF="0"} {print}' "$WORK/good.csv" > "$f"
f=$(mk dup_cols.csv); { echo "$hdr" | sed 's/,age,/,limit_bal,/'; sed -n '2,$p' "$WORK/good.csv"; } > "$f"
f=$(mk few_rows.csv); head -20 "$WORK/good.csv" > "$f"
f=$(mk quote.csv); awk -F, 'BEGIN{OFS=","} NR==50 {$4="\"open"} {print}' "$WORK/good.csv" > "$f"
f=$(mk binary.csv); head -c 3000 /dev/urandom > "$f"
f=$(mk bom_only.csv); printf '\xef\xbb\xbf' > "$f"

# case: NAME DATAFILE EXPECTED_EXIT MESSAGE_REGEX [extra ini lines...]
n_cases=0
check() {
  local name=$1 data=$2 want=$3 re=$4; shift 4
  local sets=() lines=()
  for a in "$@"; do case $a in --set=*) sets+=("$a");; *) lines+=("$a");; esac; done
  for np in 1 3; do
    write_job "$WORK/job.ini" "$data" ${lines[@]+"${lines[@]}"}
    rm -f "$WORK/out.h5"
    set +e
    timeout 60 "$MPIEXEC" -n $np --oversubscribe "$RISKGRID" run "$WORK/job.ini" ${sets[@]+"${sets[@]}"} --quiet --out "$WORK/out.h5" \
      > "$WORK/o.txt" 2> "$WORK/e.txt"
    local rc=$?
    set -e
    [ "$rc" != 124 ] || fail "$name@$np: hung"
    [ "$rc" = "$want" ] || fail "$name@$np: exit $rc, expected $want; stderr: $(head -3 "$WORK/e.txt")"
    grep -Eq "riskgrid: error: .*$re" "$WORK/e.txt" || fail "$name@$np: message '$(head -1 "$WORK/e.txt")' does not match /$re/"
    [ "$(grep -c 'riskgrid: error:' "$WORK/e.txt")" = 1 ] || fail "$name@$np: message printed more than once"
    [ ! -e "$WORK/out.h5" ] || fail "$name@$np: output left behind"
    ! ls -a "$WORK" | grep -q '\.tmp\.' || fail "$name@$np: temporary file left behind"
  done
  n_cases=$((n_cases + 1))
}
C=$WORK/cases
check missing      "$WORK/nope.csv"       1 "cannot open input '.*nope.csv'"
check empty        "$C/empty.csv"         1 "empty.csv: the file is empty"
check header_only  "$C/header_only.csv"   1 "header_only.csv: no data rows"
check ragged       "$C/ragged.csv"        1 "ragged.csv:301: expected [0-9]+ fields as in the header, found 3"
check non_numeric  "$C/nonnum.csv"        1 "nonnum.csv:200:2: column 'limit_bal' is numeric but holds '12x'"
check empty_field  "$C/emptyfield.csv"    1 "emptyfield.csv:150:3: empty field in column"
check nan          "$C/nan.csv"           1 "nan.csv:420:2: .*'nan' is not finite"
check inf          "$C/inf.csv"           1 "inf.csv:421:2: .*not finite"
check float_range  "$C/overflow.csv"      1 "overflow.csv:99:2: .*out of range"
check label_float  "$C/label_float.csv"   1 "label_float.csv:333:[0-9]+: label column 'default': '0.5' is not a class"
check label_text   "$C/label_text.csv"    1 "label_text.csv:77:[0-9]+: label column 'default': 'yes' is not a class"
check label_missing "$WORK/good.csv"      1 "label column 'target' not found" --set=data.label=target
check single_class "$C/single_class.csv"  1 "single class"
check dup_columns  "$C/dup_cols.csv"      1 "dup_cols.csv:1:3: duplicate column name 'limit_bal'"
check few_rows     "$C/few_rows.csv"      1 "too few training rows"
check quote        "$C/quote.csv"         1 "quote.csv:50:4: unbalanced quote"
check binary       "$C/binary.csv"        1 "binary.csv"
check bom_only     "$C/bom_only.csv"      1 "bom_only.csv:1: the header line is empty"
check diverge      "$WORK/good.csv"       1 "training diverged.*epoch 1" --set=train.learning_rate=1e30
check unknown_key  "$WORK/good.csv"       2 "job.ini:[0-9]+: .*bacth_size" "[model]" "bacth_size = 32"
check shards       "$WORK/good.csv"       2 "multiple of" --set=train.batch_size=33
check grid_range   "$WORK/good.csv"       2 "demand" "--set=grid.demand=0.5, 1.5"
"$RISKGRID" gen --rows 600 --seed 9 --out "$WORK/good.h5" 2>/dev/null
check h5_no_dataset "$WORK/good.h5"       1 "good.h5: no dataset 'nope'" --set=data.hdf5_features=nope --set=data.drop=
check h5_wrong_rank "$WORK/good.h5"       1 "dataset 'label' has rank 1; expected 2" --set=data.hdf5_features=label --set=data.drop=
check h5_not_hdf5  "$WORK/good.csv"       1 "not an HDF5 file" --set=data.format=hdf5 --set=data.drop=

# --force never replaces the input file
cp "$WORK/good.csv" "$WORK/in.csv"
write_job "$WORK/job.ini" "$WORK/in.csv"
before=$(sha256sum < "$WORK/in.csv")
set +e
"$RISKGRID" run "$WORK/job.ini" --quiet --force --out "$WORK/in.csv" 2> "$WORK/e.txt"; rc=$?
set -e
[ "$rc" = 2 ] || fail "output = input: exit $rc, expected 2"
grep -q "is the input file" "$WORK/e.txt" || fail "output = input: $(cat "$WORK/e.txt")"
[ "$before" = "$(sha256sum < "$WORK/in.csv")" ] || fail "the input was modified"
n_cases=$((n_cases + 1))

# more ranks than virtual shards: refused before any work (exit 2)
write_job "$WORK/job.ini" "$WORK/good.csv"
set +e
timeout 60 "$MPIEXEC" -n 3 --oversubscribe "$RISKGRID" run "$WORK/job.ini" --set train.virtual_shards=2 --quiet \
  --out "$WORK/out.h5" 2> "$WORK/e.txt"; rc=$?
set -e
[ "$rc" = 2 ] || fail "3 ranks > 2 shards: exit $rc, expected 2"
grep -q "3 ranks but \[train\] virtual_shards = 2" "$WORK/e.txt" || fail "ranks > shards: $(cat "$WORK/e.txt")"
n_cases=$((n_cases + 1))
echo "input errors: $n_cases cases passed (each at 1 and 3 ranks but the last)"
