# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
head -1 good.csv > data.csv && head -c 4096 garbage.bin >> data.csv
