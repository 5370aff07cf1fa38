#!/usr/bin/python3
"""\\file bench/project.py  Alpha-beta projection of riskgrid's training step
time to 64..1024 ranks, from the 1-rank step times and the 2-rank
MPI_Allreduce timings that bench/run.sh recorded.

usage: /usr/bin/python3 bench/project.py RECORDS.txt [--cx NS] [--cser NS]
                                         [--alpha US] [--beta NS_PER_BYTE]

Model (per training step, p ranks, V virtual shards, global batch B,
P parameters; see docs/performance.md):

  T(p) = (V/p) * (P*cx + (B/V)*t_row) + P*cser + T_ar(8P bytes, p)

  cx     per-shard, per-parameter cost of the exact reduction (fixed-point
         conversion and exponent scan of one shard's gradient), ns; with
         at most 5 rows per shard riskgrid sums the first layer row by row
         (row mode), and cx then stands for that cost spread over the shards
  cser   per-step, per-parameter work every rank repeats (fixed point ->
         float of the summed gradient, Adam, buffer copies), ns
  t_row  per-row forward + backward cost, derived from the measured 1-rank
         step time t1 = B / samples_per_s:
             t_row = (t1 - V*P*cx - P*cser) / B        (V = 16 as measured)
  T_ar   Rabenseifner allreduce (reduce-scatter + allgather):
             2*ceil(log2 p)*alpha + 2*(p-1)/p * n * beta,
         alpha and beta fitted to the 2-rank measurement
         (T_ar(n, 2) = 2*alpha + n*beta): alpha = T(8 B)/2, beta = the
         least-squares slope over the messages >= 100 kB; by default the
         fastest of the 7 samples per size (--stat min: the machine without
         the other load; --stat median for the typical time).

Scenarios:
  weak    every rank keeps the measured job's 16 shards and micro-batch:
          V = 16p, B = p * B1; efficiency = T(1) / T(p)
  strong  the measured job's global batch B1, V = max(16, p) (riskgrid needs
          p <= V and B a multiple of V, so p <= B1); speedup = T(1) / T(p)

cx is measured in the same run when --kernels gives bench/kernel_bench.c's
output (shardgrad_sum alone on the MNIST b32 shape: 16 shards x 101,770
parameters per step); cser defaults to a perf profile of CREDIT b32
(adam_step_fixed, about 1.8 us per step of 3,201 parameters): see
docs/performance.md.  The 2-rank
allreduce figures are Open MPI's; on one node riskgrid sums through shared
memory instead (allreduce.h), which is faster, so the model is
conservative there and describes the multi-node (MPI) path.
"""
import argparse
import math
import re
import statistics


def parse(path):
    recs = []
    with open(path) as fh:
        for line in fh:
            p = line.split()
            if p:
                d = {"type": p[0]}
                d.update(x.split("=", 1) for x in p[1:] if "=" in x)
                recs.append(d)
    return recs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("records")
    ap.add_argument("--cx", type=float, help="ns per parameter per shard (exact reduction); default: from "
                    "--kernels, else 0.14")
    ap.add_argument("--cser", type=float, default=0.56, help="ns per parameter per step (serial update)")
    ap.add_argument("--kernels", help="bench/kernel_bench.c output of the same run (WORK/kernels.txt): cx is "
                    "then its MNIST b32 fixed-point sum time / (16 shards x parameters)")
    ap.add_argument("--alpha", type=float, help="override: allreduce latency per stage, us")
    ap.add_argument("--beta", type=float, help="override: allreduce ns per byte")
    ap.add_argument("--stat", choices=("min", "median"), default="min",
                    help="which allreduce time of the 7 samples to fit (default min: the uncontended machine)")
    a = ap.parse_args()
    recs = parse(a.records)
    cx_src = "given"
    if a.cx is None:
        a.cx, cx_src = 0.14, "default"
        if a.kernels:
            try:
                with open(a.kernels) as fh:
                    for line in fh:
                        m = re.search(r"F=(\d+) H=(\d+) C=(\d+) rows/shard=2 \((\d+) shards\):.*fixed-point sum ([0-9.]+) us/step", line)
                        if m and m.group(1) == "784":
                            f, h, c, v = (int(m.group(i)) for i in range(1, 5))
                            a.cx = float(m.group(5)) * 1e3 / (v * (f * h + h + h * c + c))
                            cx_src = "measured in this run: kernel_bench, MNIST b32 fixed-point sum"
            except OSError:
                pass

    ar = sorted(((int(r["bytes"]), float(r["us_" + a.stat])) for r in recs if r["type"] == "allreduce"))
    if not ar:
        raise SystemExit("project.py: no allreduce records")
    alpha = a.alpha if a.alpha is not None else ar[0][1] / 2.0  # us
    big = [(n, t) for n, t in ar if n >= 100000] or ar[-2:]
    mn = sum(n for n, _ in big) / len(big)
    mt = sum(t for _, t in big) / len(big)
    slope = sum((n - mn) * (t - mt) for n, t in big) / max(sum((n - mn) ** 2 for n, _ in big), 1e-30)
    beta = a.beta if a.beta is not None else max(slope * 1e3, 1e-4)  # ns/byte
    print("allreduce model: alpha = %.2f us per stage, beta = %.3f ns/B (%.2f GB/s)%s"
          % (alpha, beta, 1.0 / beta, " [given]" if a.alpha is not None or a.beta is not None else
             " [fitted to the 2-rank %s times: alpha = T(8 B)/2, beta = least-squares slope over %d..%d B]"
             % (a.stat, big[0][0], big[-1][0])))
    print("compute model: cx = %.3f ns/param/shard (%s), cser = %.2f ns/param/step (see the --help text)"
          % (a.cx, cx_src, a.cser))

    def t_ar(nbytes, p):
        if p <= 1:
            return 0.0
        return (2 * math.ceil(math.log2(p)) * alpha * 1e-6 + 2.0 * (p - 1) / p * nbytes * beta * 1e-9)

    rows = []
    for wl, b1 in (("credit_b32", 32), ("mnist_b256", 256), ("higgs_b1024", 1024)):
        rs = [r for r in recs if r["type"] == "train" and r["wl"] == wl and r["tool"] == "riskgrid" and r["ranks"] == "1"]
        if not rs:
            continue
        f, h, c = (int(rs[0][k]) for k in ("F", "H", "C"))
        P = f * h + h + h * c + c
        sps = statistics.median(float(r["sps"]) for r in rs)
        t1 = b1 / sps
        v1 = 16
        t_row = (t1 - v1 * P * a.cx * 1e-9 - P * a.cser * 1e-9) / b1
        if t_row <= 0:
            t_row = 0.2 * t1 / b1  # the assumed constants explain more than the whole step: keep a floor
        for p in (1, 2, 16, 64, 128, 256, 512, 1024):
            # weak: per rank as measured at 1 rank
            tw = t1 + t_ar(8 * P, p)
            # strong
            if p <= b1:
                v = max(16, p)
                ts = (v / p) * (P * a.cx * 1e-9 + (b1 / v) * t_row) + P * a.cser * 1e-9 + t_ar(8 * P, p)
                strong = "%.1f us  %7.1fx  %5.1f%%" % (ts * 1e6, t1 / ts, t1 / ts / p * 100)
            else:
                strong = "n/a (p > B)"
            rows.append((wl, P, p, "%.1f us" % (t_ar(8 * P, p) * 1e6), "%.1f us  %5.1f%%" % (tw * 1e6, t1 / tw * 100),
                         "%.3g M" % (p * b1 / tw / 1e6), strong))
        print("%s: P = %d params (%d B per allreduce as int64), B1 = %d, 1-rank step %.1f us, t_row = %.3f us"
              % (wl, P, 8 * P, b1, t1 * 1e6, t_row * 1e6))
    hdr = ("workload", "params", "ranks", "allreduce", "weak: step, efficiency", "weak: samples/s",
           "strong (B = B1): step, speedup, efficiency")
    w = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    print("  ".join(str(x).ljust(w[i]) for i, x in enumerate(hdr)).rstrip())
    print("  ".join("-" * x for x in w))
    for r in rows:
        print("  ".join(str(x).ljust(w[i]) for i, x in enumerate(r)).rstrip())


if __name__ == "__main__":
    main()
