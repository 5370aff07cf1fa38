#!/usr/bin/env bash
# \file tests/e2e/multiclass.sh  Labels 0..2 -> softmax output (auto), macro
# one-vs-rest AUC with per-class AUCs, bitwise identical at 1 and 3 ranks.
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 3000 --seed 4 --out "$WORK/g.csv" 2>/dev/null
# class = default + (age >= 45): 0, 1 or 2, learnable from the features
awk -F, 'BEGIN{OFS=","} NR==1 {$NF="risk_class"; print; next} {$NF = $NF + ($3 >= 45); print}' "$WORK/g.csv" > "$WORK/m.csv"
write_job "$WORK/job.ini" "$WORK/m.csv"
sed -i 's/^label = default/label = risk_class/' "$WORK/job.ini"
mpirun_rg 1 run "$WORK/job.ini" --out "$WORK/m1.h5" > "$WORK/log.txt"
grep -q "3 softmax" "$WORK/log.txt" || fail "auto output did not choose softmax for 3 classes: $(grep training "$WORK/log.txt")"
mpirun_rg 3 run "$WORK/job.ini" --quiet --out "$WORK/m3.h5"
"$RG_H5CMP" "$WORK/m1.h5" "$WORK/m3.h5" /model /eval /train || fail "1 and 3 ranks differ"
h5ls "$WORK/m1.h5/eval/class_auc" | grep -q '{3}' || fail "no per-class AUCs"
auc=$("$RG_H5CMP" --get "$WORK/m1.h5" /eval/auc)
python3 -c "import sys; sys.exit(0 if $auc > 0.75 else 1)" || fail "macro AUC $auc too low"
echo "multiclass: macro AUC $auc, 1 and 3 ranks identical"
