#!/usr/bin/python3
"""\\file bench/report.py  Turn the raw records bench/run.sh collected into
the comparison table, the target checks and the details.

usage: /usr/bin/python3 bench/report.py RECORDS.txt

Each record is one line "TYPE key=value key=value ..." (see bench/run.sh):
  train   wl= tool= var= ranks= rep= sps= auc= train_s= wall_s= rss_kb= n_train= F= H= C= epochs=
  grid    tool=riskgrid|dd ranks= rep= seconds= mib=
  peak    when= gflops= min= max= core=
  allreduce bytes= us_median= us_min= us_max=
  riskgrid_allreduce kind= bytes= us_median= us_min= us_max=
Medians are over the repetitions of one (workload, tool, variant, ranks);
"spread" is (max - min) / median.  The best peer of a row is the variant
with the highest median.  FLOP model (per training row): forward
2*F*H + 2*H*C, backward twice that, so 6*(F*H + H*C) in total.  The
sgemm peak is the fastest 1024^3 single-thread sample of the run.
"""
import statistics
import sys

WL = {  # id -> label
    "credit_b32": "CREDIT 23-128-1 b32 10ep",
    "mnist_b32": "MNIST 784-128-10 b32 2ep",
    "mnist_b256": "MNIST 784-128-10 b256 2ep",
    "higgs_b1024": "HIGGS 28-128-1 b1024 1ep",
}


def parse(path):
    recs = []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            d = {"type": parts[0]}
            for p in parts[1:]:
                if "=" in p:
                    k, v = p.split("=", 1)
                    d[k] = v
            recs.append(d)
    return recs


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return float("nan")


class Stat:
    def __init__(self, xs):
        self.xs = [x for x in xs if x == x]
        self.n = len(self.xs)
        self.med = statistics.median(self.xs) if self.xs else float("nan")
        self.lo = min(self.xs) if self.xs else float("nan")
        self.hi = max(self.xs) if self.xs else float("nan")

    @property
    def spread(self):
        if self.n < 2 or not self.med:
            return float("nan")
        return (self.hi - self.lo) / self.med * 100.0


def fmt_num(x, nd=0):
    if x != x:
        return "-"
    if nd == 0:
        return "{:,.0f}".format(x)
    return "%.*f" % (nd, x)


def fmt_sp(s):
    return "-" if s != s else "%.0f%%" % s


def main():
    recs = parse(sys.argv[1])
    train = [r for r in recs if r["type"] == "train"]
    peaks = [r for r in recs if r["type"] == "peak"]
    # the machine's peak: the fastest sgemm sample seen (background load
    # only ever slows a sample down, so the maximum is the best estimate)
    peak = max((num(p, "max") for p in peaks), default=float("nan"))

    groups = {}
    for r in train:
        key = (r["wl"], r["tool"], r.get("var", "-"), int(r["ranks"]))
        groups.setdefault(key, []).append(r)

    def stat(key, field):
        return Stat([num(r, field) for r in groups.get(key, [])])

    def variants(wl, tools, ranks):
        return [k for k in groups if k[0] == wl and k[1] in tools and k[3] == ranks]

    def best(wl, tools, ranks, field="sps", lower=False):
        ks = variants(wl, tools, ranks)
        if not ks:
            return None, Stat([])
        f = (lambda k: stat(k, field).med)
        k = (min if lower else max)(ks, key=f)
        return k, stat(k, field)

    def one(wl, tool, ranks, field):
        ks = variants(wl, (tool,), ranks)
        return stat(ks[0], field) if ks else Stat([])

    def first(wl, tool, ranks, field):
        ks = variants(wl, (tool,), ranks)
        return groups[ks[0]][0].get(field) if ks else None

    rows = []
    checks = []
    paired = []  # per-rep 2-rank / 1-rank ratios, one string per workload
    nmis = []
    for wl, ranks in (("credit_b32", 1), ("credit_b32", 2), ("mnist_b32", 1), ("mnist_b256", 1),
                      ("mnist_b256", 2), ("higgs_b1024", 1), ("higgs_b1024", 2)):
        rk = (wl, "riskgrid", "-", ranks)
        if rk not in groups:
            continue
        rg = stat(rk, "sps")
        if ranks == 1:
            sk_k, sk = best(wl, ("sklearn",), 1)
            to_k, to = best(wl, ("torch",), 1)
            bp_k, bp = best(wl, ("sklearn", "torch"), 1)
        else:
            sk_k, sk = None, Stat([])
            to_k, to = best(wl, ("ddp",), ranks)
            bp_k, bp = to_k, to
        f, h, c = (int(groups[rk][0][x]) for x in ("F", "H", "C"))
        flops_row = 6.0 * (f * h + h * c)
        gf = flops_row * rg.med / 1e9
        frac = gf / ranks / peak * 100.0 if peak == peak else float("nan")
        ratio = rg.med / bp.med if bp.n else float("nan")
        auc_rg = stat(rk, "auc").med
        auc_sk = stat(sk_k, "auc").med if sk_k else float("nan")
        auc_to = stat(to_k, "auc").med if to_k else float("nan")
        rss_rg = stat(rk, "rss_kb").hi / 1024.0
        rss_peer = stat(bp_k, "rss_kb").hi / 1024.0 if bp_k else float("nan")
        ntr = {k[1] + ":" + k[2]: groups[k][0].get("n_train") for k in variants(wl, ("riskgrid", "sklearn", "torch", "ddp"), ranks)}
        if len(set(ntr.values())) > 1:
            nmis.append("%s %dr: n_train differs between tools: %s" % (wl, ranks, ntr))
        peer_name = ("%s[%s]" % (bp_k[1], bp_k[2])) if bp_k else "-"
        rows.append([WL[wl], str(ranks), fmt_num(rg.med), fmt_sp(rg.spread),
                     fmt_num(sk.med) if ranks == 1 else "n/a",
                     fmt_num(to.med) + ("" if ranks == 1 else " ddp"),
                     peer_name, fmt_sp(bp.spread),
                     ("%.2fx" % ratio) if ratio == ratio else "-",
                     fmt_num(auc_rg, 4), fmt_num(auc_sk, 4), fmt_num(auc_to, 4),
                     fmt_num(gf, 2), fmt_num(frac, 1) + "%", fmt_num(rss_rg), fmt_num(rss_peer)])
        # targets vs best peer
        tgt = {("credit_b32", 1): 10.0, ("mnist_b32", 1): 2.0, ("mnist_b256", 1): 1.3, ("higgs_b1024", 1): 2.0}
        if (wl, ranks) in tgt:
            checks.append(("%s: riskgrid / best peer (%s)" % (WL[wl], peer_name), ratio, ">=", tgt[(wl, ranks)], "x"))
        if (wl, ranks) == ("mnist_b256", 1):
            checks.append(("%s: fraction of 1-core sgemm peak" % WL[wl], frac, ">=", 65.0, "%"))
        if ranks == 2:
            r1 = stat((wl, "riskgrid", "-", 1), "sps")
            sp = rg.med / r1.med if r1.n else float("nan")
            need = 1.0 if wl == "credit_b32" else 1.8
            checks.append(("%s: riskgrid 2 ranks / 1 rank" % WL[wl], sp, ">=", need, "x"))
            # the 1- and 2-rank runs of one rep run back to back: their
            # ratio shows how much of the target's margin is noise
            by_rep = {}
            for r in groups.get((wl, "riskgrid", "-", 1), []) + groups.get((wl, "riskgrid", "-", 2), []):
                by_rep.setdefault(r.get("rep"), {})[int(r["ranks"])] = num(r, "sps")
            reps = sorted(by_rep, key=lambda k: int(k) if str(k).isdigit() else 0)
            paired.append("%s: %s" % (WL[wl], " ".join("%.3f" % (by_rep[k][2] / by_rep[k][1]) for k in reps
                                                       if 1 in by_rep[k] and 2 in by_rep[k] and by_rep[k][1] > 0)))

    hdr = ["workload", "ranks", "riskgrid sps", "spread", "sklearn sps", "torch sps", "best peer",
           "spread", "ratio", "AUC rg", "AUC sk", "AUC torch", "GFLOP/s", "% peak", "RSS rg MB", "RSS peer MB"]
    print_table(hdr, rows)
    print("sps = training rows x epochs / training seconds (median of runs); spread = (max-min)/median over runs;")
    print("ratio = riskgrid / best peer (1 rank: best of sklearn and torch variants, 1 thread; 2 ranks: torch DDP gloo 2 procs);")
    print("GFLOP/s = 6*(F*H + H*C) FLOP per row x sps (riskgrid); %% peak = GFLOP/s / ranks / 1-core sgemm peak (%.1f GFLOP/s,"
          " fastest 1024^3 sample);" % peak)
    print("RSS = peak resident set per process (max over ranks and runs).")
    print()

    # GRID
    grid_rows = []
    g1 = [r for r in recs if r["type"] == "grid"]
    dd = Stat([num(r, "mib") / num(r, "seconds") for r in g1 if r["tool"] == "dd"])
    for ranks in sorted({int(r["ranks"]) for r in g1 if r["tool"] == "riskgrid"}):
        rs = [r for r in g1 if r["tool"] == "riskgrid" and int(r["ranks"]) == ranks]
        s = Stat([num(r, "mib") / num(r, "seconds") for r in rs])
        sec = Stat([num(r, "seconds") for r in rs])
        pct = s.med / dd.med * 100.0 if dd.n else float("nan")
        grid_rows.append(["GRID 101^4 x 3 f32 (%.0f MiB)" % num(rs[0], "mib"), str(ranks), fmt_num(sec.med, 2),
                          fmt_num(s.med), fmt_sp(s.spread), fmt_num(dd.med), fmt_sp(dd.spread), fmt_num(pct, 0) + "%",
                          fmt_num(num(rs[0], "file_mib"))])
        if ranks == 1:
            checks.append(("GRID 101^4 write: riskgrid / dd conv=fdatasync", pct, ">=", 50.0, "%"))
    if grid_rows:
        print_table(["grid workload", "ranks", "write s", "riskgrid MiB/s", "spread", "dd MiB/s", "spread",
                     "rg/dd", "file MiB"], grid_rows)
        print("riskgrid's \"write\" phase (log line 'wrote ... write Xs'): computing the grid + writing + fsync; MiB/s on the")
        print("3 x 101^4 float32 payload; dd: same MiB, bs=1M, conv=fdatasync, same directory.")
        print()

    # END TO END
    e2e_rows = []
    pk_sk, pw_sk = best("credit_b32", ("sklearn",), 1, "wall_s", lower=True)
    pk_to, pw_to = best("credit_b32", ("torch",), 1, "wall_s", lower=True)
    faster = min((s.med for s in (pw_sk, pw_to) if s.n), default=float("nan"))
    for label, key in (("riskgrid, mpiexec -n 1", ("credit_b32", "riskgrid", "-", 1)),
                       ("riskgrid, mpiexec -n 2", ("credit_b32", "riskgrid", "-", 2)),
                       ("riskgrid, 1 process without mpiexec", ("credit_b32", "riskgrid-singleton", "-", 1))):
        if key in groups:
            w = stat(key, "wall_s")
            r = w.med / faster
            e2e_rows.append([label, fmt_num(w.med, 2), fmt_sp(w.spread), "%.3f" % r])
            checks.append(("END TO END CREDIT: %s / faster peer script" % label, r, "<=", 0.25, "x"))
    for label, k, w in (("sklearn script (peer_sklearn.py)", pk_sk, pw_sk), ("torch script (peer_torch.py)", pk_to, pw_to)):
        if k:
            e2e_rows.append(["%s [%s]" % (label, k[2]), fmt_num(w.med, 2), fmt_sp(w.spread), "%.3f" % (w.med / faster)])
    if e2e_rows:
        print_table(["END TO END CREDIT (whole process, wall s)", "median s", "spread", "/ faster peer"], e2e_rows)
        print("riskgrid: MPI start-up, CSV load, 10 epochs, per-epoch test AUC, 21^4 grid, HDF5 write, checkpoints;")
        print("peers: python start-up + imports, CSV read, split, fit, test AUC.")
        print()

    # targets
    trows = []
    for name, val, op, need, unit in checks:
        ok = (val >= need) if op == ">=" else (val <= need)
        v = "-" if val != val else (("%.3f" % val) + "x" if unit == "x" else ("%.1f" % val) + "%")
        trows.append([name, v, "%s %g%s" % (op, need, unit), "met" if (val == val and ok) else "NOT MET"])
    print_table(["target", "measured", "required", "status"], trows)
    print("targets met: %d of %d" % (sum(1 for r in trows if r[3] == "met"), len(trows)))
    if paired:
        print("2 ranks / 1 rank run by run (each pair back to back): " + "; ".join(paired))
    print()

    # peer variants
    prow = []
    for k in sorted(groups):
        if k[1] == "riskgrid":
            continue
        s = stat(k, "sps")
        prow.append([k[0], k[1], k[2], str(k[3]), str(s.n), fmt_num(s.med), "%s-%s" % (fmt_num(s.lo), fmt_num(s.hi)),
                     fmt_num(stat(k, "auc").med, 4), fmt_num(stat(k, "wall_s").med, 2), groups[k][0].get("blas", "-")])
    for k in sorted(groups):
        if k[1] != "riskgrid":
            continue
        s = stat(k, "sps")
        prow.append([k[0], k[1], k[2], str(k[3]), str(s.n), fmt_num(s.med), "%s-%s" % (fmt_num(s.lo), fmt_num(s.hi)),
                     fmt_num(stat(k, "auc").med, 4), fmt_num(stat(k, "wall_s").med, 2), groups[k][0].get("blas", "-")])
    print_table(["workload", "tool", "variant", "ranks", "runs", "median sps", "min-max", "AUC", "wall s", "BLAS"], prow)
    print()
    if peaks:
        print("sgemm 1024^3, 1 thread: " + "; ".join(
            "%s %s GFLOP/s (min %s max %s, core %s)" % (p.get("when"), p.get("gflops"), p.get("min"), p.get("max"), p.get("core"))
            for p in peaks) + "; peak used (fastest sample): %.2f" % peak)
    ar = [r for r in recs if r["type"] == "allreduce"]
    if ar:
        print("MPI_Allreduce int64 sum, 2 ranks: " + "; ".join(
            "%s B %s us (min %s)" % (r["bytes"], r["us_median"], r["us_min"]) for r in ar))
    ar = [r for r in recs if r["type"] == "riskgrid_allreduce"]
    if ar:
        print("riskgrid's step reduction (%s; write contribution + sum + read the whole sum), 2 ranks: " % ar[0].get("kind", "?")
              + "; ".join("%s B %s us (min %s)" % (r["bytes"], r["us_median"], r["us_min"]) for r in ar))
    for m in nmis:
        print("WARNING: " + m)


def print_table(hdr, rows):
    w = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)] if rows else [len(h) for h in hdr]
    line = lambda cells: "  ".join((str(c).ljust(w[i]) if i == 0 else str(c).rjust(w[i])) for i, c in enumerate(cells))
    print(line(hdr))
    print("  ".join("-" * x for x in w))
    for r in rows:
        print(line(r))


if __name__ == "__main__":
    main()
