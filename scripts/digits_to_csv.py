#!/usr/bin/python3
# \file scripts/digits_to_csv.py  scikit-learn's bundled 8x8 digits (1797
# images, 10 classes; UCI optical recognition of handwritten digits, test
# part) as a CSV riskgrid reads: header p0..p63,digit, one image per row,
# pixel values 0..16 as integers, the digit 0..9 last.
#
#   /usr/bin/python3 scripts/digits_to_csv.py [OUT.csv] [--source digits.csv.gz]
#
# OUT.csv defaults to data/digits.csv next to this script's directory (the
# path jobs/digits.ini reads).  The source is sklearn/datasets/data/
# digits.csv.gz of the installed scikit-learn (Debian: python3-sklearn),
# found without importing scikit-learn when it is at the Debian path.
import argparse
import csv
import gzip
import os
import sys

DEBIAN = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"


def find_source():
    if os.path.exists(DEBIAN):
        return DEBIAN
    try:
        import sklearn.datasets
    except ImportError:
        sys.exit("digits_to_csv: scikit-learn not found (apt-get install python3-sklearn) and no --source given")
    return os.path.join(os.path.dirname(sklearn.datasets.__file__), "data", "digits.csv.gz")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="scikit-learn digits -> CSV with header p0..p63,digit")
    ap.add_argument("out", nargs="?", default=os.path.join(here, "..", "data", "digits.csv"))
    ap.add_argument("--source", default=None, help="digits.csv.gz (default: scikit-learn's copy)")
    a = ap.parse_args()
    src = a.source or find_source()
    rows = []
    with gzip.open(src, "rt") as fh:
        for n, rec in enumerate(csv.reader(fh), 1):
            if len(rec) != 65:
                sys.exit("digits_to_csv: %s:%d: %d fields, expected 65" % (src, n, len(rec)))
            vals = [int(float(v)) for v in rec]
            if not 0 <= vals[64] <= 9:
                sys.exit("digits_to_csv: %s:%d: digit %d" % (src, n, vals[64]))
            rows.append(vals)
    tmp = a.out + ".tmp"
    with open(tmp, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["p%d" % i for i in range(64)] + ["digit"])
        w.writerows(rows)
    os.replace(tmp, a.out)
    print("digits_to_csv: wrote %d rows to %s" % (len(rows), a.out), file=sys.stderr)


if __name__ == "__main__":
    main()
