# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
printf '; a NUL byte on line 3\n[data]\npath = good.csv\0\n' > job.ini
