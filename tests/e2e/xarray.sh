#!/usr/bin/env bash
# \file tests/e2e/xarray.sh  The output is a first-class netCDF-4 citizen:
# `ncdump -h` reads it with named dimensions, xarray opens /grid with the
# dimensions demand, competition, service, marketing and their coordinates
# and /train on an epoch dimension (netcdf4 and h5netcdf engines), and
# [output] compression = deflate-N stores the grid with shuffle + deflate
# and the same values.
source "$(dirname "$0")/common.sh"
"$RISKGRID" gen --rows 2000 --seed 17 --out "$WORK/d.csv" 2>/dev/null
write_job "$WORK/job.ini" "$WORK/d.csv"
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/plain.h5"
"$RISKGRID" run "$WORK/job.ini" --quiet --out "$WORK/zip.h5" --set output.compression=deflate-4
"$RG_H5CMP" "$WORK/plain.h5" "$WORK/zip.h5" /grid /model >/dev/null || fail "compressed grid differs"
h5dump -p -H -d /grid/D "$WORK/zip.h5" | grep -q "DEFLATE" || fail "no deflate filter on /grid/D"
h5dump -p -H -d /grid/D "$WORK/zip.h5" | grep -q "SHUFFLE" || fail "no shuffle filter on /grid/D"
h5dump -p -H -d /grid/D "$WORK/plain.h5" | grep -q "DEFLATE" && fail "deflate on an uncompressed file"

ncdump -h "$WORK/zip.h5" > "$WORK/ncdump.txt" || fail "ncdump -h failed"
grep -Eq "demand = 5 ;" "$WORK/ncdump.txt" || fail "ncdump: no demand dimension: $(head -40 "$WORK/ncdump.txt")"
grep -Eq "float D\(demand, competition, service, marketing\)" "$WORK/ncdump.txt" || fail "ncdump: D without named dimensions"

/usr/bin/python3 - "$WORK/zip.h5" <<'PY' || fail "xarray check"
import sys
import numpy as np
import h5py
import xarray as xr
path = sys.argv[1]
ref = h5py.File(path, "r")["grid/D"][...]
for engine in ("netcdf4", "h5netcdf"):
    g = xr.open_dataset(path, group="grid", engine=engine)
    assert g["D"].dims == ("demand", "competition", "service", "marketing"), g["D"].dims
    assert np.array_equal(g["D"].values, ref)
    assert np.allclose(g["demand"].values, np.linspace(0, 1, 5))
    d = g["D"].sel(demand=0.75, competition=0.25, service=0.9, marketing=0.95).item()
    assert abs(d - g.attrs["auc"] * 0.75 * 0.75 * 0.9 * 0.95) < 1e-6, d
    t = xr.open_dataset(path, group="train", engine=engine)
    assert t["loss"].dims == ("epoch",) and list(t["epoch"].values) == [1, 2, 3], t
    print(engine, "ok:", dict(g.sizes), "train epochs", t.sizes["epoch"])
PY
echo "xarray/ncdump: named dimensions, compression keeps the values"
