# run in a copy of this directory before the case (tests/corpus/README.md)
set -euo pipefail
"$PY" - <<'EOF'
import h5py, numpy as np
rng = np.random.default_rng(1)
x = rng.normal(size=(400, 5)).astype('f8')
y = (x[:, 0] + rng.normal(size=400) > 0).astype('i4')
with h5py.File('in.h5', 'w') as f:
    x[350, 2] = np.nan
    f['features'] = x
    f['label'] = y
EOF
