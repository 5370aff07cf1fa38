# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
"$PY" - <<'EOF'
rows = open('good.csv').read().rstrip('\n').split('\n')
out = [rows[0] + ',name'] + ['%s,n%d' % (r, i) for i, r in enumerate(rows[1:])]
out += ['%s,m%d' % (r, i) for i, r in enumerate(rows[1:])]
open('data.csv', 'w').write('\n'.join(out) + '\n')
EOF
