# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
mkdir adir
