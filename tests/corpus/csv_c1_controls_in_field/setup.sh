# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
"$PY" - <<'EOF'
rows = open('good.csv', 'rb').read().split(b'\n')
# line 400 of 601: read by rank 1 of 3
line, col, value = 400, 3, b'3\x9b2J\xc2\x9b31m\xc3\xa9'
f = rows[line - 1].split(b',')
f[col - 1] = value
rows[line - 1] = b','.join(f)
open('data.csv', 'wb').write(b'\n'.join(rows))
EOF
