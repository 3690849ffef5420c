#!/usr/bin/env python3
"""The system-call fuzzer for as long as asked: make soak.

    scripts/soak.py [--minutes N] [--cpus N] [--seed S] [riscv64|aarch64 ...]

Boots each architecture's kernel with `fuzz soak SECONDS SEED` (default
10 minutes, 4 CPUs, a seed from the clock) and prints the fuzzer's lines
as they come: each batch's seed, rounds, how its workers ended and the
longest hold of the big kernel lock so far. Fails on a panic, a leak
(the fuzzer's LEAK line), a hang (no line for HANG_S seconds: a batch
prints one every 10 s or so) or a missing final line. A failed batch
can be replayed by seed: fuzz soak SECONDS SEED.
"""

import argparse
import sys
import time

import boot

HANG_S = 180
BOOT_S = 60
FINAL = "fuzz: soak: "


def soak(arch, minutes, cpus, seed):
    seconds = int(minutes * 60)
    append = f"fuzz soak {seconds} {seed} panic=poweroff"
    print(f"soak: {arch}: {cpus} CPUs, {seconds} s, seed {seed}", flush=True)
    with boot.Session(arch, cpus=cpus, mem="256M", append=append) as s:
        if not s.expect(boot.WEFT_LINE, BOOT_S):
            print(f"soak: {arch}: FAIL: no boot", *s.tail(), sep="\n")
            return False
        deadline = time.monotonic() + seconds + HANG_S
        while time.monotonic() < deadline:
            m = s.expect(r"^(fuzz: .*|PANIC.*|weft: poweroff.*)$", HANG_S)
            if not m:
                print(f"soak: {arch}: FAIL: no line for {HANG_S} s (a hang?)", *s.tail(),
                      sep="\n")
                return False
            line = m.group(1)
            print(f"  {arch}: {line}", flush=True)
            if line.startswith("PANIC") or "LEAK" in line or "no longer runs" in line:
                print(*s.tail(40), sep="\n")
                return False
            if line.startswith("weft: poweroff"):
                ok = line == "weft: poweroff (exit status 0)"
                print(f"soak: {arch}: {'PASS' if ok else 'FAIL'}")
                return ok
        print(f"soak: {arch}: FAIL: still running after {seconds + HANG_S} s")
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--cpus", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("arches", nargs="*", default=list(boot.ARCHES))
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    results = [soak(arch, args.minutes, args.cpus, seed) for arch in args.arches]
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
