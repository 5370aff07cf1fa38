# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
{ printf '[data]\npath = good.csv\n'; for i in $(seq 1 11000); do printf '; %096d\n' "$i"; done; } > job.ini
