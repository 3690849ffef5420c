#!/usr/bin/env python3
"""Where one benchmark operation spends its guest instructions, by function.

    scripts/profile.py [--arch riscv64|aarch64] [-n N] BENCHMARK

Boots the kernel twice with one CPU, running `bench 1 BENCHMARK` and then
`bench N+1 BENCHMARK` (user/bin/bench.c), with QEMU translating one guest
instruction at a time and logging each one it executes (`-singlestep -d
exec,nochain`). Everything but the N operations is the same in both runs,
so the difference of the two counts, per function, divided by the
operations the second run made more is what one operation costs there
(N, or fewer for the costly benchmarks that bench.c runs only
iterations / FORK_DIVISOR + 1 times: fork, exec, thread creation). Kernel addresses are named from
build/<arch>/kernel.elf, user ones from build/<arch>/user/bench; anything
else (OpenSBI on RISC-V) is "firmware". Each run logs about a gigabyte to
a temporary directory and takes a few seconds to a minute.
"""
import argparse
import bisect
import collections
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NM = {"riscv64": "riscv64-unknown-elf-nm", "aarch64": "aarch64-linux-gnu-nm"}
# QEMU's exec log: "Trace 0: 0x<host tb> [<cs base>/<guest pc>/<flags>/<cflags>] ..."
TRACE_PC = re.compile(rb"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")


def symbols(arch, elf):
    """Sorted (address, name) of the functions in an ELF file."""
    out = subprocess.run([NM[arch], "-n", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    return syms


def pc_counts(arch, iterations, bench, logdir):
    """How many times each guest PC ran while booting into `bench`."""
    log = Path(logdir) / f"exec-{iterations}.log"
    subprocess.run([str(ROOT / "scripts" / "qemu.sh"), arch, "-smp", "1", "-m", "128M",
                    "-kernel", str(ROOT / "build" / arch / "kernel.elf"),
                    "-append", f"bench {iterations} {bench} panic=poweroff",
                    "-singlestep", "-d", "exec,nochain", "-D", str(log)],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600, check=False)
    counts = collections.Counter()
    with open(log, "rb") as f:
        for line in f:
            m = TRACE_PC.match(line)
            if m:
                counts[m.group(1)] += 1
    log.unlink()
    return counts


def operations(benchmark, iterations):
    """How many operations `bench ITERATIONS BENCHMARK` makes, as
    user/bin/bench.c decides: the costly benchmarks run iterations /
    FORK_DIVISOR + 1 rounds."""
    src = (ROOT / "user" / "bin" / "bench.c").read_text()
    divisor = re.search(r"#define FORK_DIVISOR (\d+)", src)
    body = re.search(rf"static void bench_{re.escape(benchmark)}\(void\)\n\{{(.*?)\n\}}",
                     src, re.S)
    if divisor and body and "iterations / FORK_DIVISOR" in body.group(1):
        return iterations // int(divisor.group(1)) + 1
    return iterations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", default="riscv64", choices=sorted(NM))
    ap.add_argument("-n", type=int, default=1000, help="operations (default 1000)")
    ap.add_argument("benchmark", help="a benchmark of user/bin/bench.c, e.g. null_syscall")
    args = ap.parse_args()

    tables = [symbols(args.arch, ROOT / "build" / args.arch / "kernel.elf"),
              symbols(args.arch, ROOT / "build" / args.arch / "user" / "bench")]
    starts = [[a for a, _ in t] for t in tables]
    kernel_start = tables[0][0][0]
    user_end = tables[1][-1][0]

    def name(pc):
        t = 0 if pc >= kernel_start else 1
        if t == 1 and pc > user_end + 0x10000:
            return "firmware"
        i = bisect.bisect_right(starts[t], pc) - 1
        return tables[t][i][1] if i >= 0 else "firmware"

    with tempfile.TemporaryDirectory() as logdir:
        base = pc_counts(args.arch, 1, args.benchmark, logdir)
        runs = pc_counts(args.arch, 1 + args.n, args.benchmark, logdir)
    if not runs:
        sys.exit("no instructions logged: is the kernel built (make ARCH=...)?")
    per_function = collections.Counter()
    for pc, count in runs.items():
        per_function[name(int(pc, 16))] += count - base.get(pc, 0)
    ops = operations(args.benchmark, 1 + args.n) - operations(args.benchmark, 1)
    if ops < 1:
        sys.exit(f"{args.benchmark} makes no more operations with -n {args.n}: raise -n")
    total = sum(per_function.values()) / ops
    print(f"{args.arch}: {args.benchmark}, guest instructions per operation "
          f"({ops} operations): {total:.0f}")
    for function, count in per_function.most_common():
        if abs(count) / ops >= 0.5:
            print(f"  {count / ops:8.1f}  {function}")


if __name__ == "__main__":
    main()
