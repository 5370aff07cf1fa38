#!/usr/bin/python3
"""\\file bench/noise.py  Which other threads take CPU time while a command runs.

usage: bench/noise.py [--at S] [--for S] [--top N] -- COMMAND [ARGS...]

Starts COMMAND (e.g. `mpiexec -n 2 build-bench/riskgrid run JOB.ini
--set train.epochs=80`), reads /proc/*/task/*/schedstat at --at seconds
(default 3, after start-up and loading) and again --for seconds later
(default 3), and prints, for the threads that ran in that window, the CPU
time they used and the number of times they were put on a CPU ("slices"),
largest first (this script's own thread left out).  The command's own ranks are in the list too: their slice
counts are how often they were descheduled.

Why: at 2 ranks on 2 vCPUs every slice another thread takes on one core
stalls both ranks (the other waits at the next barrier of the step); at 1
rank the idle vCPU absorbs it.  See docs/performance.md ("Reading the
table").  The window must lie inside the training phase, so make the run
long enough (more epochs).  Linux only (schedstat: CPU ns, wait ns,
slices).
"""
import argparse
import os
import subprocess
import sys
import time


def snapshot():
    """{(pid, tid): (comm, cpu_ns, slices)} for every thread readable now."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # the process ended
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    cpu, _wait, slices = f.read().split()
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    comm = f.read().strip()
            except (OSError, ValueError):
                continue
            out[(pid, tid)] = (comm, int(cpu), int(slices))
    return out


def main():
    ap = argparse.ArgumentParser(description="Which other threads take CPU time while a command runs.",
                                 usage="%(prog)s [--at S] [--for S] [--top N] -- COMMAND [ARGS...]")
    ap.add_argument("--at", type=float, default=3.0, help="start of the window, seconds after the start (3)")
    ap.add_argument("--for", dest="span", type=float, default=3.0, help="length of the window in seconds (3)")
    ap.add_argument("--top", type=int, default=25, help="threads to print (25)")
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("no command (put it after --)")
    if a.at < 0 or a.span <= 0 or a.top <= 0:
        ap.error("--at must be >= 0, --for and --top > 0")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(a.at)
    before = snapshot()
    t0 = time.monotonic()
    time.sleep(a.span)
    ended_early = proc.poll() is not None
    after = snapshot()
    span = time.monotonic() - t0
    rc = proc.wait()
    if rc != 0:
        print(f"noise.py: the command exited with {rc}", file=sys.stderr)
    if ended_early:
        print("noise.py: the command ended before the window closed: lengthen the run or shorten --at/--for",
              file=sys.stderr)
    rows = []
    for key, (comm, cpu, slices) in after.items():
        if key in before and slices > before[key][2] and key[0] != str(os.getpid()):
            rows.append((cpu - before[key][1], slices - before[key][2], comm, key))
    rows.sort(reverse=True)
    print(f"window {span:.2f} s, {a.at:g} s after the start of: {' '.join(cmd)}")
    print(f"{'CPU ms':>10}  {'slices':>6}  thread (pid/tid)")
    for cpu, slices, comm, (pid, tid) in rows[:a.top]:
        print(f"{cpu / 1e6:10.3f}  {slices:6d}  {comm} ({pid}/{tid})")
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
