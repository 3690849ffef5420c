#!/usr/bin/env python3
"""Weft's test harness: what `make test` runs.

    python3 scripts/test.py [--unit-only] [--arch riscv64|aarch64]
                            [-k SUBSTRING] [--jobs N] [--list]

Runs the host unit tests (tests/unit/, built with the host gcc under
AddressSanitizer and UBSan) and, for each architecture whose kernel is
built, QEMU boot tests over CPU counts, memory sizes and board variants,
and panic-report tests. Prints one line per test:

    PASS name
    FAIL name: reason          (followed by the evidence, indented)
    SKIP name: reason

and ends with one summary line, "N passed, N failed[, N skipped]". The exit
status is non-zero when anything failed. A hang is a failure: every wait
has a time limit.

Adding a test: write a function that raises Failure(reason, evidence) when
the behaviour is wrong and returns when it is right, and yield a
QemuTest for it from a generator listed in QEMU_SUITES (see boot_tests and
panic_tests). The function gets the QemuTest, whose fields say the
architecture and board to boot; boot.Session does the talking to QEMU.

Standard library only.
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boot import (ARCHES, CROSS_PREFIXES, ROOT, WEFT_LINE,  # noqa: E402
                  Session, kernel_path, mem_mib)

# Seconds a boot may take before it counts as hung. Generous: 8 CPUs under
# TCG on a 2-core host are slow, and two QEMUs run at once. A boot that
# succeeds ends as soon as its line appears, so this costs only on failure.
BOOT_TIMEOUT_S = 60
# After the weft: line, keep reading this long to catch a panic right after.
AFTER_BOOT_S = 0.3
# A panic with panic=poweroff must end QEMU within this time.
PANIC_TIMEOUT_S = 60
# The free memory the kernel reports must be at most what QEMU was given,
# and at least that minus this many MiB. Measured: 1 MiB goes at every size
# on RISC-V (OpenSBI's 512 KiB, the kernel image, the FDT, the page bitmap
# at 1 bit per page = 128 KiB for 4 GiB, page tables), and M is rounded
# down. 8 MiB leaves room for the kernel image to grow (user programs are
# to be embedded in it) while still catching a lost RAM range or a
# reservation counted twice.
FREE_SLACK_MIB = 8
# Unit test programs: each case has its own time limit inside the program
# (tests/unit/check.h); this bounds a whole program.
UNIT_PROGRAM_TIMEOUT_S = 600

UNIT_SRC = ROOT / "tests" / "unit"
UNIT_BUILD = ROOT / "build" / "unit"
UNIT_CFLAGS = [
    "-std=gnu11", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    # The test arch.h must win over the kernel's.
    "-I" + str(UNIT_SRC / "include"), "-I" + str(ROOT / "kernel" / "include"),
    "-I" + str(UNIT_SRC),
]
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1",
}

CPU_COUNTS = (1, 2, 4, 8)
MEM_SIZES = ("128M", "512M", "2G")
OPENSBI_FW_JUMP = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf"

# Board variants beyond the CPU x memory grid: (name, cpus, mem, machine,
# cpu, bios).
EXTRA_BOARDS = {
    "riscv64": [
        ("opensbi-fw_jump", 4, "512M", None, None, OPENSBI_FW_JUMP),
        ("no-sstc", 4, "512M", None, "rv64,sstc=false", None),
        ("mem4G", 4, "4G", None, None, None),
        ("cpu-sifive-u54", 4, "512M", None, "sifive-u54", None),
    ],
    "aarch64": [
        ("gicv3", 4, "512M", "virt,gic-version=3", None, None),
        ("gicv3-smp8", 8, "512M", "virt,gic-version=3", None, None),
        ("el2-entry", 4, "512M", "virt,virtualization=on", None, None),
        ("cpu-cortex-a53", 4, "512M", None, "cortex-a53", None),
        ("cpu-max", 4, "512M", None, "max", None),
        ("mem4G", 4, "4G", None, None, None),
    ],
}


class Failure(Exception):
    """A test found wrong behaviour: a one-line reason, then evidence."""

    def __init__(self, reason, evidence=()):
        super().__init__(reason)
        self.reason = reason
        self.evidence = list(evidence)


class Result:
    def __init__(self, name, status, reason="", evidence=()):
        self.name, self.status, self.reason = name, status, reason
        self.evidence = list(evidence)

    def line(self):
        if self.status == "PASS":
            return f"PASS {self.name}" + (f"  ({self.reason})" if self.reason else "")
        return f"{self.status} {self.name}: {self.reason}"


# ---- QEMU tests -----------------------------------------------------------

class QemuTest:
    """One boot of one architecture; run(test) raises Failure or returns."""

    def __init__(self, name, arch, run, cpus=2, mem="256M", machine=None,
                 cpu=None, bios=None):
        self.name, self.arch, self.run = name, arch, run
        self.cpus, self.mem = cpus, mem
        self.machine, self.cpu, self.bios = machine, cpu, bios

    def session(self, append):
        return Session(self.arch, cpus=self.cpus, mem=self.mem, append=append,
                       machine=self.machine, cpu=self.cpu, bios=self.bios)


def failure_evidence(s, extra=()):
    """The command to reproduce a run and the end of its output."""
    return [f"command: {s.command()}", *extra,
            "last lines of output:", *("  | " + line for line in s.tail(30))]


def check_boot(t):
    """Boots to the weft: line with every CPU online and about all the
    memory free, and no panic."""
    with t.session("panic=poweroff") as s:
        m = s.expect(r"^weft: |PANIC", BOOT_TIMEOUT_S)
        if m and m.group(0) == "weft: ":
            s.expect(r"PANIC", AFTER_BOOT_S)
        elapsed = time.monotonic() - s.started
    out = s.text()
    if any("PANIC" in line for line in out):
        raise Failure("the kernel panicked", failure_evidence(s))
    if not m:
        why = (f"QEMU exited with status {s.proc.returncode} before the weft: line"
               if not s.killed else f"no weft: line within {BOOT_TIMEOUT_S} s (hung?)")
        raise Failure(why, failure_evidence(s))
    weft = [line for line in out if line.startswith("weft: ")
            and "cpus online" in line]
    if len(weft) != 1:
        raise Failure(f"{len(weft)} 'weft: N cpus online' lines, expected 1",
                      failure_evidence(s))
    m = WEFT_LINE.match(weft[0])
    if not m:
        raise Failure(f"malformed line {weft[0]!r}", failure_evidence(s))
    cpus, free = int(m.group(1)), int(m.group(2))
    total = mem_mib(t.mem)
    if cpus != t.cpus:
        raise Failure(f"{cpus} cpus online, expected {t.cpus}", failure_evidence(s))
    if not total - FREE_SLACK_MIB <= free <= total:
        raise Failure(f"{free} MiB free of {total} MiB, expected "
                      f"{total - FREE_SLACK_MIB}..{total}", failure_evidence(s))
    return f"{cpus} cpus, {free} MiB free, {elapsed:.1f} s"


def addr2line_tool(arch):
    for prefix in CROSS_PREFIXES[arch]:
        tool = shutil.which(prefix + "addr2line")
        if tool:
            return tool
    return None


def symbolize(arch, frames):
    """'function at file:line' for each frame (address, is_return_address),
    from the kernel's ELF. A return address is looked up one byte back:
    after a call to a noreturn function (panic) it is the first byte of
    whatever the linker placed next, not part of the caller."""
    tool = addr2line_tool(arch)
    if not tool:
        raise Failure(f"no addr2line for {arch} (run scripts/install-deps.sh)")
    lookups = [hex(int(addr, 16) - 1) if ret else addr for addr, ret in frames]
    out = subprocess.run([tool, "-f", "-p", "-e", str(kernel_path(arch)), *lookups],
                         capture_output=True, text=True, check=False).stdout
    return [line.replace(str(ROOT) + "/", "") for line in out.splitlines()]


def check_panic_report(t, append, headline):
    """Boots with a crash= option: a complete panic report whose backtrace
    names the faulting function, then power-off."""
    with t.session(append) as s:
        exited = s.wait_exit(PANIC_TIMEOUT_S)
    out = s.text()
    start = next((i for i, line in enumerate(out) if line.startswith(headline)), None)
    if start is None:
        raise Failure(f"no line starting {headline!r}", failure_evidence(s))
    bt = next((i for i in range(start, len(out)) if out[i] == "backtrace:"), None)
    if bt is None:
        raise Failure("no 'backtrace:' line after the panic", failure_evidence(s))
    frames = []
    for line in out[bt + 1:]:
        m = re.fullmatch(r"  #(\d+) (0x[0-9a-f]+)", line)
        if not m:
            break
        frames.append((line, m.group(2)))
    end = bt + 1 + len(frames)
    report = out[start:end + 1]
    if not frames:
        raise Failure("the backtrace has no frames", failure_evidence(s))
    # In a trap report frame #0 is the trapping pc itself; every other
    # frame is a return address.
    trap = "kernel trap:" in out[start]
    names = symbolize(t.arch, [(addr, not (trap and i == 0))
                               for i, (_, addr) in enumerate(frames)])
    symbolized = [f"{line}  {name}" for (line, _), name in zip(frames, names)]
    evidence = failure_evidence(s, ["symbolized backtrace:", *symbolized])
    if end >= len(out) or out[end] != "PANIC: end of report":
        raise Failure("the report does not end with 'PANIC: end of report'", evidence)
    if not any(name.split(" at ")[0] == "run_crash_option" for name in names):
        raise Failure("the backtrace does not name run_crash_option", evidence)
    if not exited:
        raise Failure(f"QEMU still running {PANIC_TIMEOUT_S} s after the panic "
                      "(panic=poweroff did not power off)", evidence)
    return f"{len(report)} report lines, {len(frames)} frames"


def check_crash_null(t):
    return check_panic_report(t, "crash=null panic=poweroff",
                              "PANIC: cpu 0: kernel trap:")


def check_crash_panic(t):
    return check_panic_report(t, "crash=panic panic=poweroff",
                              "PANIC: cpu 0: crash=panic requested on the command line")


def boot_tests(arch):
    for cpus in CPU_COUNTS:
        for mem in MEM_SIZES:
            yield QemuTest(f"boot/{arch}/smp{cpus}-mem{mem}", arch, check_boot,
                           cpus=cpus, mem=mem)
    for name, cpus, mem, machine, cpu, bios in EXTRA_BOARDS[arch]:
        yield QemuTest(f"boot/{arch}/{name}", arch, check_boot, cpus=cpus,
                       mem=mem, machine=machine, cpu=cpu, bios=bios)


def panic_tests(arch):
    yield QemuTest(f"panic/{arch}/crash-null", arch, check_crash_null)
    yield QemuTest(f"panic/{arch}/crash-panic", arch, check_crash_panic)


# Each yields the QemuTests of one architecture.
QEMU_SUITES = [boot_tests, panic_tests]


def run_qemu_test(t):
    kernel = kernel_path(t.arch)
    if not kernel.exists():
        return [Result(t.name, "SKIP", f"{os.path.relpath(kernel, ROOT)} is not built")]
    try:
        info = t.run(t)
        return [Result(t.name, "PASS", info or "")]
    except Failure as f:
        return [Result(t.name, "FAIL", f.reason, f.evidence)]
    except Exception:  # a harness bug must still show up as a failure
        return [Result(t.name, "FAIL", "harness error",
                       traceback.format_exc().splitlines())]


# ---- Host unit tests ------------------------------------------------------

def unit_links(src):
    """The sources named by 'Links:' in a test's top comment."""
    text = src.read_text()
    head = text[:text.find("*/")]
    m = re.search(r"Links:(.*?)(?:\n \*\s*\n|\Z)", head, re.S)
    if not m:
        return []
    return [w for w in m.group(1).replace("*", " ").split()]


def build_unit(src):
    """Compile one unit test program; returns its path, or a Result list
    describing the build failure."""
    UNIT_BUILD.mkdir(parents=True, exist_ok=True)
    exe = UNIT_BUILD / src.stem
    sources = [str(src), str(UNIT_SRC / "check.c")]
    sources += [str(ROOT / rel) for rel in unit_links(src)]
    cmd = ["gcc", *UNIT_CFLAGS, "-o", str(exe), *sources]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if p.returncode != 0:
        return [Result(f"unit/{src.stem}", "FAIL", "build failed",
                       [" ".join(cmd), *(p.stdout + p.stderr).splitlines()[-40:]])]
    return exe


def run_unit_program(src):
    """Build and run one program; one Result per test case it reports."""
    exe = build_unit(src)
    if isinstance(exe, list):
        return exe
    env = dict(os.environ, **SANITIZER_ENV)
    try:
        p = subprocess.run([str(exe), str(UNIT_BUILD)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, errors="replace",
                           cwd=ROOT, env=env, timeout=UNIT_PROGRAM_TIMEOUT_S,
                           check=False)
        out, status = p.stdout.splitlines(), p.returncode
    except subprocess.TimeoutExpired as e:
        text = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        out, status = text.splitlines(), None
    results, started, current, evidence = [], [], None, {}
    for line in out:
        m = re.match(r"(TEST|PASS|FAIL) ([\w.-]+)(?:: (.*))?$", line)
        if m and m.group(1) == "TEST":
            current = m.group(2)
            started.append(current)
            evidence[current] = []
        elif m:
            name = m.group(2)
            results.append(Result(f"unit/{name}", m.group(1), m.group(3) or "",
                                  evidence.get(name, [])[-40:]))
            current = None if name == current else current
        elif current:
            evidence[current].append(line)
    done = {r.name for r in results}
    for name in started:
        if f"unit/{name}" not in done:
            results.append(Result(f"unit/{name}", "FAIL", "no result (the program died)",
                                  evidence[name][-40:]))
    if status is None:
        results.append(Result(f"unit/{src.stem}", "FAIL",
                              f"still running after {UNIT_PROGRAM_TIMEOUT_S} s", out[-30:]))
    elif status != 0 and not any(r.status == "FAIL" for r in results):
        results.append(Result(f"unit/{src.stem}", "FAIL", f"exit status {status}",
                              out[-30:]))
    elif not results:
        results.append(Result(f"unit/{src.stem}", "FAIL", "ran no test cases", out[-30:]))
    return results


# ---- Driver ---------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description="Run Weft's tests.")
    ap.add_argument("--unit-only", action="store_true", help="only the host unit tests")
    ap.add_argument("--arch", choices=ARCHES, help="QEMU tests for this architecture only")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    metavar="SUBSTRING",
                    help="only tests whose name contains SUBSTRING (repeatable)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="tests run at once (default 2, one per host core here)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    return ap.parse_args()


def selected(name, patterns):
    return not patterns or any(p in name for p in patterns)


def collect(args):
    """Jobs in the order their results are printed: (name, function)."""
    jobs = []
    for src in sorted(UNIT_SRC.glob("*_test.c")):
        name = f"unit/{src.stem}"
        if selected(name, args.patterns):
            jobs.append((name, lambda src=src: run_unit_program(src)))
    if args.unit_only:
        return jobs
    for arch in ([args.arch] if args.arch else ARCHES):
        for suite in QEMU_SUITES:
            for t in suite(arch):
                if selected(t.name, args.patterns):
                    jobs.append((t.name, lambda t=t: run_qemu_test(t)))
    return jobs


def main():
    args = parse_args()
    jobs = collect(args)
    if args.list:
        for name, _ in jobs:
            print(name)
        return 0
    start = time.monotonic()
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(fn) for _, fn in jobs]
        for future in futures:  # in submission order, as each finishes
            for r in future.result():
                counts[r.status] += 1
                print(r.line(), flush=True)
                if r.status == "FAIL":
                    for line in r.evidence:
                        print("    " + line)
                    sys.stdout.flush()
    print(f"({time.monotonic() - start:.1f} s)")
    summary = f"{counts['PASS']} passed, {counts['FAIL']} failed"
    if counts["SKIP"]:
        summary += f", {counts['SKIP']} skipped"
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
