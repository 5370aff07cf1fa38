# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
"$PY" - <<'EOF'
import sys
rows = open('good.csv', 'rb').read().split(b'\n')
line, col, value = 222, 19, b'0,1'
f = rows[line - 1].split(b',')
f[col - 1] = value
rows[line - 1] = b','.join(f)
open('data.csv', 'wb').write(b'\n'.join(rows))
EOF
