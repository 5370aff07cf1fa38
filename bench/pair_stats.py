"""\\file bench/pair_stats.py  Medians and the per-pair ratio of paired runs.

usage: pair_stats.py FILE LABEL_X LABEL_Y

FILE holds one pair per line, "x y" (samples/s of the two runs of a pair,
taken back to back).  Prints the number of pairs, the median and range of
x and y, the ratio of the medians, and the median, range and
distribution-free 95% confidence interval of the per-pair ratios y / x.
Used by bench/pairs.sh (1 rank vs 2 ranks) and bench/ab.sh (binary A vs B).
"""
import math
import statistics as S
import sys


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: pair_stats.py FILE LABEL_X LABEL_Y")
    d = [tuple(map(float, l.split())) for l in open(argv[1]) if l.strip()]
    if not d:
        sys.exit("pair_stats.py: no pairs in %s" % argv[1])
    a = [x for x, _ in d]
    b = [y for _, y in d]
    r = sorted(y / x for x, y in d)
    n = len(r)
    # distribution-free 95% interval for the median of the pair ratios: the
    # order statistics r[k-1] and r[n-k] with the largest k such that
    # P(Binomial(n, 1/2) < k) <= 0.025 (n >= 6; fewer pairs give none)
    k, below = 0, 0.0
    while below + math.comb(n, k) / 2.0 ** n <= 0.025:
        below += math.comb(n, k) / 2.0 ** n
        k += 1
    ci = "95%% CI %.3f-%.3f" % (r[k - 1], r[n - k]) if k >= 1 else "no 95% CI below 6 pairs"
    print("pairs %d  %s median %.0f (%.0f-%.0f)  %s median %.0f (%.0f-%.0f)  ratio of medians %.3f"
          "  per-pair ratio median %.3f (%.3f-%.3f; %s)"
          % (n, argv[2], S.median(a), min(a), max(a), argv[3], S.median(b), min(b), max(b),
             S.median(b) / S.median(a), S.median(r), r[0], r[-1], ci))


if __name__ == "__main__":
    main(sys.argv)
