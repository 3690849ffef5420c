#!/usr/bin/env python3
"""Weft's test harness: what `make test` runs.

    python3 scripts/test.py [--unit-only] [--arch riscv64|aarch64]
                            [-k SUBSTRING] [--jobs N] [--list]

Runs the host unit tests (tests/unit/, built with the host gcc under
AddressSanitizer and UBSan) and, for each architecture whose kernel is
built, QEMU boot tests over CPU counts, memory sizes and board variants,
panic-report tests, the in-guest test programs (usertests, threadtests,
ipctests, on the normal kernel and on the one built with SANITIZE=ubsan),
and a scripted session with the shell. Prints one line per test:

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
One boot may also report parts of its own (a usertests case, a step of
the shell session) with QemuTest.report; docs/testing.md has more.

Standard library only.
"""

import argparse
import concurrent.futures
import contextlib
import os
import re
import struct
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boot import (ARCHES, ROOT, WEFT_LINE, Session, cross_tool,  # noqa: E402
                  initrd_names, initrd_path, kernel_path, mem_mib)
from giltests import gil_tests  # noqa: E402
from bench import smoke_tests as bench_smoke_tests  # noqa: E402
from gdbtests import gdb_tests  # noqa: E402

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
# A whole usertests run, boot to power-off. Measured with two QEMUs at
# once on a 2-core host: 2-7 s with 1 CPU, 8-25 s with 4. usertests' own
# watchdog ends a hung case after 150 s, so a run with one hung case
# still gets to report the rest. A run that ends costs only its own time.
USERTESTS_TIMEOUT_S = 300
USERTESTS_CPU_COUNTS = (1, 4)
USERTESTS_MEM = "256M"
# The shell session: boot to the first prompt, then each command to the
# next prompt. Every step takes well under a second (measured); these
# only bound a hang.
SHELL_CPUS = 4
SHELL_MEM = "256M"
SHELL_PROMPT_TIMEOUT_S = 60
SHELL_COMMAND_TIMEOUT_S = 60
# How often to press Enter while waiting for a background job to be
# reported done (the shell reaps ended jobs only before a prompt).
SHELL_REAP_POLL_S = 0.5

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
# Where Debian's opensbi package puts its firmware, one folder a platform.
OPENSBI_DIR = Path("/usr/lib/riscv64-linux-gnu/opensbi")

# Board variants beyond the CPU x memory grid: (name, cpus, mem, machine,
# cpu, bios).
EXTRA_BOARDS = {
    "riscv64": [
        ("opensbi-fw_jump", 4, "512M", None, None, "fw_jump"),
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
    """One boot of one architecture; run(test) raises Failure or returns.

    needs: programs that must be in the initrd, or the test is skipped.
    parts: names of the parts the test reports with report(), if known
    before it runs (None: found by running, as usertests' cases are).
    sanitize: boot the kernel make SANITIZE=<this> built (build/<arch>-ubsan).
    program, args: the in-guest test program a check_usertests test runs,
    and its arguments when -k picks none of its cases.
    """

    def __init__(self, name, arch, run, cpus=2, mem="256M", machine=None,
                 cpu=None, bios=None, relay=None, needs=(), parts=None,
                 sanitize=None, program=None, args=()):
        self.name, self.arch, self.run = name, arch, run
        self.cpus, self.mem = cpus, mem
        self.machine, self.cpu, self.bios = machine, cpu, bios
        self.relay = relay    # (devicetree address, copy it?): boot through the relay
        self.needs, self.parts = tuple(needs), parts
        self.sanitize, self.program, self.args = sanitize, program, tuple(args)
        self.kernel = kernel_path(arch, sanitize)
        self.only = None      # the parts -k asked for; None: all of them
        self.results = []     # the parts' results, in the order reported

    def session(self, append):
        kernel, args = relay_args(self.arch, *self.relay) if self.relay else (self.kernel, ())
        bios = opensbi_firmware(self.bios) if self.bios else None
        return Session(self.arch, cpus=self.cpus, mem=self.mem, append=append,
                       machine=self.machine, cpu=self.cpu, bios=bios,
                       kernel=kernel, args=args)

    def select(self, patterns):
        """Whether -k patterns select this test, and which of its parts.
        A pattern in the test's name selects all of it; otherwise one in
        the name of a part ("<name>/<part>") selects that part. Parts not
        known in advance must be named in full."""
        self.only = None
        if selected(self.name, patterns):
            return True
        prefix = self.name + "/"
        if self.parts is None:
            asked = [p[len(prefix):] for p in patterns
                     if p.startswith(prefix) and len(p) > len(prefix)]
        else:
            asked = [part for part in self.parts if selected(prefix + part, patterns)]
        self.only = asked or None
        return bool(asked)

    def wants(self, part):
        return self.only is None or part in self.only

    def report(self, part, status, reason="", evidence=()):
        self.results.append(Result(f"{self.name}/{part}", status, reason, evidence))


def opensbi_firmware(name):
    """The installed OpenSBI's generic firmware `name` (fw_jump), as found on
    disk. The raw .bin first: QEMU loads it at the start of RAM, where
    OpenSBI 1.1 (Debian 12) links it; OpenSBI 1.6's .elf (Debian 13) is
    position-independent and linked at 0, so QEMU would load that over its
    own boot ROM."""
    for ext in (".bin", ".elf"):
        found = sorted(OPENSBI_DIR.glob(f"*/{name}{ext}"))
        if found:
            return str(found[0])
    raise Failure(f"no {name}.bin or {name}.elf under {OPENSBI_DIR} "
                  "(scripts/install-deps.sh installs the opensbi package)")


# ---- Boots through a stand-in loader that moves the devicetree -----------
#
# tests/boot/fdt_relay.S is entered in the kernel's place, puts the
# devicetree at a physical address the test chooses (or only says it is
# there), and enters the kernel with that address, as firmware on a large
# board does. QEMU loads the kernel's ELF beside it (-device loader).

# The virt board's first RAM address; with -m 4G, RAM ends 4 GiB later.
RAM_START = {"riscv64": 0x80000000, "aarch64": 0x40000000}
RELAY_MEM = "4G"
# The relay's own address: in RAM, clear of the kernel and the devicetree.
RELAY_OFFSET = 3 << 30
# Where the relay puts the devicetree: near the top of 4 GiB of RAM, as
# QEMU 10 does (it uses the last 2 MiB; 8 MiB below the top keeps the copy
# clear of the original there).
FDT_HIGH_OFFSET = (4 << 30) - (8 << 20)


def kernel_entry_pa(path):
    """The physical address of an ELF64 file's entry point. The RISC-V
    kernel's entry is virtual (its offset into the loadable segment that
    holds it gives the physical address); AArch64's is already physical."""
    data = Path(path).read_bytes()
    entry, phoff = struct.unpack_from("<QQ", data, 24)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        ptype, _, _, vaddr, paddr, _, memsz = struct.unpack_from(
            "<IIQQQQQ", data, phoff + i * phentsize)
        if ptype == 1 and vaddr <= entry < vaddr + memsz:
            return paddr + entry - vaddr
        if ptype == 1 and paddr <= entry < paddr + memsz:
            return entry
    raise Failure(f"{path}: no loadable segment holds the entry point")


def relay_args(arch, fdt_dest, copy):
    """Builds the relay for (fdt_dest, copy) and returns the QEMU arguments
    that boot the kernel through it: (kernel, args)."""
    gcc = cross_tool(arch, "gcc")
    if not gcc:
        raise Failure(f"no cross gcc for {arch} (run scripts/install-deps.sh)")
    out = ROOT / "build" / arch / f"fdt-relay-{fdt_dest:x}-{int(copy)}.elf"
    start = RAM_START[arch]
    cmd = [gcc, "-nostdlib", "-static", "-Wl,-N", f"-Wl,-Ttext={start + RELAY_OFFSET:#x}",
           "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments",
           f"-DFDT_DEST={fdt_dest:#x}", f"-DFDT_SOURCE={start:#x}",
           f"-DKERNEL_ENTRY={kernel_entry_pa(kernel_path(arch)):#x}",
           f"-DFDT_COPY={int(copy)}", "-o", str(out), str(ROOT / "tests/boot/fdt_relay.S")]
    built = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise Failure("building the relay failed", [" ".join(cmd), built.stderr])
    return out, ["-device", f"loader,file={kernel_path(arch)}"]


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


def symbolize(t, frames):
    """'function at file:line' for each frame (address, is_return_address),
    from the test's kernel ELF. A return address is looked up one byte back:
    after a call to a noreturn function (panic) it is the first byte of
    whatever the linker placed next, not part of the caller."""
    tool = cross_tool(t.arch, "addr2line")
    if not tool:
        raise Failure(f"no addr2line for {t.arch} (run scripts/install-deps.sh)")
    lookups = [hex(int(addr, 16) - 1) if ret else addr for addr, ret in frames]
    out = subprocess.run([tool, "-f", "-p", "-e", str(t.kernel), *lookups],
                         capture_output=True, text=True, check=False).stdout
    return [line.replace(str(ROOT) + "/", "") for line in out.splitlines()]


def panic_backtrace(t, out, start):
    """The backtrace of the panic report whose first line is out[start]:
    (its frame lines with their names added, the names, the index of the
    line after the last frame), or None if there is no 'backtrace:' line."""
    bt = next((i for i in range(start, len(out)) if out[i] == "backtrace:"), None)
    if bt is None:
        return None
    frames = []
    for line in out[bt + 1:]:
        m = re.fullmatch(r"  #(\d+) (0x[0-9a-f]+)", line)
        if not m:
            break
        frames.append((line, m.group(2)))
    # In a trap report frame #0 is the trapping pc itself; every other
    # frame is a return address.
    trap = "kernel trap:" in out[start]
    names = symbolize(t, [(addr, not (trap and i == 0))
                          for i, (_, addr) in enumerate(frames)]) if frames else []
    symbolized = [f"{line}  {name}" for (line, _), name in zip(frames, names)]
    return symbolized, names, bt + 1 + len(frames)


def panic_failure(t, s):
    """The failure of a run in which the kernel panicked: the report's
    first line, and its backtrace symbolized."""
    out = s.text()
    start = next(i for i, line in enumerate(out) if "PANIC" in line)
    found = panic_backtrace(t, out, start)
    extra = ["symbolized backtrace:", *found[0]] if found and found[0] else []
    return Failure(f"the kernel panicked: {out[start].removeprefix('PANIC: ')}",
                   failure_evidence(s, extra))


def check_panic_report(t, append, headline, check_output=None, caller="run_crash_option"):
    """Boots with a crash= option: a complete panic report whose backtrace
    names the faulting function's caller, then power-off. check_output(lines,
    headline line, evidence), if given, checks more and raises Failure."""
    with t.session(append) as s:
        exited = s.wait_exit(PANIC_TIMEOUT_S)
    out = s.text()
    start = next((i for i, line in enumerate(out) if line.startswith(headline)), None)
    if start is None:
        raise Failure(f"no line starting {headline!r}", failure_evidence(s))
    found = panic_backtrace(t, out, start)
    if found is None:
        raise Failure("no 'backtrace:' line after the panic", failure_evidence(s))
    symbolized, names, end = found
    report = out[start:end + 1]
    if not symbolized:
        raise Failure("the backtrace has no frames", failure_evidence(s))
    evidence = failure_evidence(s, ["symbolized backtrace:", *symbolized])
    if end >= len(out) or out[end] != "PANIC: end of report":
        raise Failure("the report does not end with 'PANIC: end of report'", evidence)
    if not any(name.split(" at ")[0] == caller for name in names):
        raise Failure(f"the backtrace does not name {caller}", evidence)
    if not exited:
        raise Failure(f"QEMU still running {PANIC_TIMEOUT_S} s after the panic "
                      "(panic=poweroff did not power off)", evidence)
    if check_output:
        check_output(out, out[start], evidence)
    return f"{len(report)} report lines, {len(symbolized)} frames"


def check_crash_null(t):
    return check_panic_report(t, "crash=null panic=poweroff",
                              "PANIC: cpu 0: kernel trap:")


def check_crash_panic(t):
    return check_panic_report(t, "crash=panic panic=poweroff",
                              "PANIC: cpu 0: crash=panic requested on the command line")


# crash=useraccess: the first write system call reads its buffer through
# the user address, which must fault where the CPU can stop it: always on
# RISC-V (sstatus.SUM stays 0), and on Arm CPUs with FEAT_PAN (Armv8.1 on).
# QEMU's "max" has every feature QEMU implements; cortex-a53 and cortex-a72
# (the default of scripts/qemu.sh) are Armv8.0 cores, without PAN.
USERACCESS_FAULT = {"riscv64": "load page fault",
                    "aarch64": "data abort (permission fault, level 3, read)"}
ARM_CPU_HAS_PAN = {"max": True, "cortex-a53": False}
USERACCESS_READING = re.compile(r"^weft: crash=useraccess: reading user address (0x[0-9a-f]+)$")
USERACCESS_NOT_STOPPED = r"^weft: crash=useraccess: not stopped"


def check_useraccess_faults(t):
    """The read faults in sys_write, and the panic names the user address
    the kernel said it would read."""
    def same_address(out, headline, evidence):
        said = [m.group(1) for m in map(USERACCESS_READING.match, out) if m]
        if len(said) != 1:
            raise Failure(f"{len(said)} 'reading user address' lines, expected 1", evidence)
        if not headline.endswith(f", address {said[0]}"):
            raise Failure(f"the fault is not at the user address {said[0]}", evidence)
    return check_panic_report(t, "crash=useraccess panic=poweroff",
                              f"PANIC: cpu 0: kernel trap: {USERACCESS_FAULT[t.arch]}",
                              same_address, caller="sys_write")


def check_useraccess_not_stopped(t):
    """A CPU without PAN lets the read through: the kernel says so and
    boots on."""
    with t.session("crash=useraccess panic=poweroff") as s:
        m = s.expect(f"{USERACCESS_NOT_STOPPED}|PANIC", BOOT_TIMEOUT_S)
        if m and m.group(0) != "PANIC":
            s.expect(r"PANIC", AFTER_BOOT_S)
    if any("PANIC" in line for line in s.text()):
        raise panic_failure(t, s)
    if not m:
        raise Failure("no 'not stopped' line after the read", failure_evidence(s))
    return "the read went through"


def check_early_panic(t, headline):
    """A panic before the devicetree is read: the report reaches the
    console the port has without one, and on RISC-V (where SBI can) the
    machine powers off by itself. AArch64 cannot: without the devicetree
    it does not know how to call PSCI, so its CPUs stop instead."""
    with t.session("") as s:
        m = s.expect(r"^PANIC: end of report$", PANIC_TIMEOUT_S)
        exited = s.wait_exit(PANIC_TIMEOUT_S) if t.arch == "riscv64" else None
    out = s.text()
    if not any(line.startswith(headline) for line in out):
        raise Failure(f"no line starting {headline!r}", failure_evidence(s))
    if not m:
        raise Failure("no 'PANIC: end of report' line", failure_evidence(s))
    if exited is False:
        raise Failure(f"QEMU still running {PANIC_TIMEOUT_S} s after an early panic "
                      "(it should power off)", failure_evidence(s))
    return "reported" + (", powered off" if exited else "")


def boot_tests(arch):
    for cpus in CPU_COUNTS:
        for mem in MEM_SIZES:
            yield QemuTest(f"boot/{arch}/smp{cpus}-mem{mem}", arch, check_boot,
                           cpus=cpus, mem=mem)
    for name, cpus, mem, machine, cpu, bios in EXTRA_BOARDS[arch]:
        yield QemuTest(f"boot/{arch}/{name}", arch, check_boot, cpus=cpus,
                       mem=mem, machine=machine, cpu=cpu, bios=bios)
    # The devicetree at the top of 4 GiB of RAM, above 4 GiB physical.
    fdt_high = RAM_START[arch] + FDT_HIGH_OFFSET
    yield QemuTest(f"boot/{arch}/fdt-above-4G", arch, check_boot, cpus=4,
                   mem=RELAY_MEM, relay=(fdt_high, True))
    # Told it is there, but it is not: nothing is known yet, not even the
    # console.
    yield QemuTest(f"boot/{arch}/early-panic", arch, lambda t: check_early_panic(
        t, f"PANIC: cpu 0: no valid devicetree (looked at physical address {fdt_high:#018x})"),
        mem=RELAY_MEM, relay=(fdt_high, False))
    if arch == "riscv64":
        # The firmware's own memory at the start of RAM, which OpenSBI's PMP
        # closes to S-mode: the kernel's first read of it faults.
        yield QemuTest(f"boot/{arch}/early-fault", arch, lambda t: check_early_panic(
            t, "PANIC: cpu 0: kernel trap: load access fault"),
            mem=RELAY_MEM, relay=(RAM_START[arch], False))


# crash=lockorder and crash=locksleep: the lock-order checker (kernel/lock.c)
# names both places, file:line, and each line holds what the report says.
LOCK_SITE = re.compile(r"(kernel/[a-z_]+\.c):(\d+)")


def check_lock_sites(expected):
    """A check_output for check_panic_report: the headline's file:line
    sites, in order, are source lines containing the strings `expected`."""
    def check(out, headline, evidence):
        sites = LOCK_SITE.findall(headline)
        if len(sites) != len(expected):
            raise Failure(f"{len(sites)} file:line sites in the report, expected "
                          f"{len(expected)}", evidence)
        for (path, line), want in zip(sites, expected):
            lines = (ROOT / path).read_text().splitlines()
            text = lines[int(line) - 1] if 0 < int(line) <= len(lines) else ""
            if want not in text:
                raise Failure(f"{path}:{line} is {text.strip()!r}, expected the line "
                              f"with {want!r}", evidence)
    return check


def check_crash_lockorder(t):
    return check_panic_report(
        t, "crash=lockorder panic=poweroff",
        "PANIC: cpu 0: lock order: cpu 0 takes the crash outer lock (rank 10) at ",
        check_lock_sites(["spin_lock(&crash_outer)", "spin_lock(&crash_inner)"]),
        caller="crash_lock_order")


def check_crash_locksleep(t):
    return check_panic_report(
        t, "crash=locksleep panic=poweroff",
        "PANIC: cpu 0: lock held while blocking: cpu 0 blocks at ",
        check_lock_sites(["lockcheck_may_block()", "spin_lock(&crash_inner)"]),
        caller="crash_lock_sleep")


def panic_tests(arch):
    yield QemuTest(f"panic/{arch}/crash-null", arch, check_crash_null)
    yield QemuTest(f"panic/{arch}/crash-panic", arch, check_crash_panic)
    yield QemuTest(f"panic/{arch}/crash-lockorder", arch, check_crash_lockorder)
    yield QemuTest(f"panic/{arch}/crash-locksleep", arch, check_crash_locksleep)
    # One CPU: the write, and so the panic, is on cpu 0.
    if arch == "riscv64":
        yield QemuTest(f"panic/{arch}/crash-useraccess", arch, check_useraccess_faults,
                       cpus=1)
    else:
        for cpu, pan in ARM_CPU_HAS_PAN.items():
            yield QemuTest(f"panic/{arch}/crash-useraccess-{cpu}", arch,
                           check_useraccess_faults if pan else check_useraccess_not_stopped,
                           cpus=1, cpu=cpu)


# ---- usertests ------------------------------------------------------------

# What usertests prints: one line per case, then its own summary.
CASE_LINE = re.compile(r"^(PASS|FAIL) ([\w.-]+)(?:: (.*))?$")
USERTESTS_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
# What init prints last when the program it ran has ended.
POWEROFF_LINE = re.compile(r"^weft: poweroff \(exit status (-?\d+)\)$")


def usertests_cases(t, s):
    """Reports one part per case line of the guest's output; returns the
    names of the failed cases. The evidence of a failure is what the
    console showed while that case ran (kernel lines about its faults)."""
    failed, since, started = [], [], s.lines[0][0] if s.lines else 0.0
    for when, line in s.lines:
        if WEFT_LINE.match(line):
            since, started = [], when
            continue
        m = CASE_LINE.match(line)
        if not m:
            since.append(line)
            continue
        status, case, reason = m.groups()
        took = f"{when - started:.1f} s"
        if status == "PASS":
            t.report(case, "PASS", took)
        else:
            failed.append(case)
            rerun = f"{t.name}/{case}"
            t.report(case, "FAIL", reason or "(no reason given)",
                     [f"rerun alone: python3 scripts/test.py -k {rerun}",
                      f"command: {usertests_command(t, s, case)}",
                      f"console while it ran ({took}):",
                      *("  | " + text for text in since[-20:] or ["(nothing)"])])
        since, started = [], when
    return failed


def guest_options(t):
    """The test's kernel options among its arguments (lockcheck=on...)."""
    return [a for a in t.args if "=" in a]


def guest_command(t):
    """The command line init runs: the program, then the cases -k picked
    or else its own arguments, then its kernel options either way."""
    cases = [a for a in t.args if "=" not in a]
    return " ".join([t.program, *(t.only or cases), *guest_options(t)])


def usertests_command(t, s, case):
    """The run's QEMU command line, running only `case`."""
    return s.command().replace(guest_command(t),
                               " ".join([t.program, case, *guest_options(t)]), 1)


def check_usertests(t):
    """Boots into an in-guest test program (usertests, threadtests,
    ipctests): every case passes, the guest's summary says so, and init
    powers off with exit status 0; no panic, no hang."""
    prog = t.program
    with t.session(guest_command(t) + " panic=poweroff") as s:
        exited = s.wait_exit(USERTESTS_TIMEOUT_S)
        elapsed = time.monotonic() - s.started
    out = s.text()
    failed = usertests_cases(t, s)
    if any("PANIC" in line for line in out):
        raise panic_failure(t, s)
    poweroff = [m for m in map(POWEROFF_LINE.match, out) if m]
    if not poweroff:
        last = [line for line in out if CASE_LINE.match(line)]
        after = f"; the last case line was {last[-1]!r}" if last else ""
        why = (f"no poweroff line within {USERTESTS_TIMEOUT_S} s (hung?){after}"
               if not exited else
               f"QEMU exited with status {s.proc.returncode} without a poweroff line{after}")
        raise Failure(why, failure_evidence(s))
    summaries = [m for m in map(USERTESTS_SUMMARY.match, out) if m]
    if len(summaries) != 1:
        raise Failure(f"{len(summaries)} 'N passed, N failed' lines from {prog}, "
                      "expected 1", failure_evidence(s))
    passed, failures = int(summaries[0].group(1)), int(summaries[0].group(2))
    status = int(poweroff[-1].group(1))
    summary = f"{passed} passed, {failures} failed"
    if failures or failed:
        named = f": {', '.join(failed)}" if failed else ""
        own = [line for line in out if line.startswith(prog + ": ")]
        raise Failure(f"{prog}: {summary}{named}", failure_evidence(s, own))
    if passed < 1:
        raise Failure(f"{prog} ran no cases", failure_evidence(s))
    strays = [line for line in out if "FAIL " in line]
    if strays:
        raise Failure(f"a FAIL line {prog} did not count: {strays[0]!r}",
                      failure_evidence(s))
    case_lines = sum(1 for result in t.results if result.status == "PASS")
    if case_lines != passed:
        raise Failure(f"the summary says {passed} passed, but there are "
                      f"{case_lines} PASS lines", failure_evidence(s))
    if status != 0:
        raise Failure(f"{summary}, but the exit status is {status}, expected 0",
                      failure_evidence(s))
    if not exited:
        raise Failure(f"QEMU still running {USERTESTS_TIMEOUT_S} s after the poweroff "
                      "line", failure_evidence(s))
    return f"{summary}, {elapsed:.1f} s"


# The in-guest test programs (processes, threads, IPC) and the CPU counts
# each runs with.
GUEST_TEST_PROGRAMS = {"usertests": USERTESTS_CPU_COUNTS,
                       "threadtests": USERTESTS_CPU_COUNTS,
                       "ipctests": USERTESTS_CPU_COUNTS,
                       "fuzz": (4,)}


# These run once more with the lock-order checker on (kernel/lock.c): every
# case but those named here, long ones that only repeat what other cases
# do with locks (thread creation and exit) and the timing case.
LOCKCHECK_GUEST_PROGRAMS = {
    "threadtests": ("kernel_stacks_reused", "mutex_64_threads", "spawn_until_limit",
                    "parallel_cpus"),
    "ipctests": (),
}
GUEST_CASE_ENTRY = re.compile(r'^\s*\{ "(\w+)", case_\w+ \},', re.M)


def guest_cases(prog):
    """The names in a test program's case table, in order."""
    return GUEST_CASE_ENTRY.findall((ROOT / "user/bin" / f"{prog}.c").read_text())


# The default AArch64 CPU (cortex-a72, Armv8.0) has no PAN: these run on
# one that has it, so a kernel access to user memory would fault.
PAN_GUEST_PROGRAMS = ("usertests", "fuzz")


WATCHDOG_TIMEOUT_S = 30
WATCHDOG_EXPECTED = ["FAIL hang: timed out after 1 s",
                     "FAIL hang_with_child: timed out after 1 s",
                     "PASS no_leaks", "1 passed, 2 failed"]


def check_watchdog(t):
    """The test runner ends a hung case (and a child of it that hangs too)
    after its time, and gets every page back: `usertests --watchdog`, two
    cases that hang by design under a 1 s limit. Without it, one hung case
    would hang a whole run."""
    with t.session("usertests --watchdog panic=poweroff") as s:
        m = s.expect(POWEROFF_LINE, WATCHDOG_TIMEOUT_S)
    out = s.text()
    if not m:
        raise Failure(f"no poweroff within {WATCHDOG_TIMEOUT_S} s: the runner did not "
                      "end the hung cases", out[-15:])
    lines = [line for line in out if CASE_LINE.match(line) or USERTESTS_SUMMARY.match(line)]
    if lines != WATCHDOG_EXPECTED or m.group(1) != "1":
        raise Failure(f"expected {WATCHDOG_EXPECTED} and status 1", out[-15:])
    return "both hung cases ended after 1 s, every page back"


def usertests_tests(arch):
    yield QemuTest(f"usertests/{arch}/watchdog", arch, check_watchdog, cpus=2,
                   needs=["usertests"])
    for prog, cpu_counts in GUEST_TEST_PROGRAMS.items():
        for cpus in cpu_counts:
            yield QemuTest(f"{prog}/{arch}/smp{cpus}", arch, check_usertests,
                           cpus=cpus, mem=USERTESTS_MEM, needs=[prog], program=prog)
    # The lock-order checker on (lockcheck=on): no report on correct code.
    for prog, left_out in LOCKCHECK_GUEST_PROGRAMS.items():
        cases = ([c for c in guest_cases(prog) if c not in left_out] + ["no_leaks"]
                 if left_out else [])
        yield QemuTest(f"{prog}/{arch}/lockcheck", arch, check_usertests, cpus=4,
                       mem=USERTESTS_MEM, needs=[prog], program=prog,
                       args=[*cases, "lockcheck=on"])
    if arch == "aarch64":
        pan_cpu = next(cpu for cpu, pan in ARM_CPU_HAS_PAN.items() if pan)
        for prog in PAN_GUEST_PROGRAMS:
            yield QemuTest(f"{prog}/{arch}/pan-{pan_cpu}", arch, check_usertests, cpus=2,
                           mem=USERTESTS_MEM, cpu=pan_cpu, needs=[prog], program=prog)


# ---- The TLB shootdown checker (tlbcheck=1, kernel/tlbcheck.c) -----------

TLBCHECK_REPORT = re.compile(
    r"^tlbcheck: (\d+) flushes, (\d+) remote, (\d+) lazy, (\d+) violations$")
TLBCHECK_VIOLATION = re.compile(r"^tlbcheck: violation: cpu \d+ ")
TLBCHECK_CASE = "munmap_while_threads_run"
TLBCHECK_ROUNDS = 20  # the case's munmaps (SHOOTDOWN_ROUNDS in threadtests.c)


def check_tlbcheck(t, option):
    """Runs threadtests' munmap_while_threads_run (threads pinned to every
    other CPU while one munmaps) with the checker on. tlbcheck=1: the case
    passes, every munmap counted, no violation. tlbcheck=skip: one flush
    misses the other CPUs, and the checker must say so: a checker that
    cannot fail would pass any lazy scheme."""
    with t.session(f"threadtests {TLBCHECK_CASE} tlbcheck={option} panic=poweroff") as s:
        exited = s.wait_exit(USERTESTS_TIMEOUT_S)
    out = s.text()
    if any("PANIC" in line for line in out):
        raise panic_failure(t, s)
    if not exited or f"PASS {TLBCHECK_CASE}" not in out:
        raise Failure(f"{TLBCHECK_CASE} did not pass and power off", failure_evidence(s))
    reports = [m for m in map(TLBCHECK_REPORT.match, out) if m]
    if len(reports) != 1:
        raise Failure(f"{len(reports)} 'tlbcheck: N flushes, ...' lines at poweroff, "
                      "expected 1", failure_evidence(s))
    flushes, remote, lazy, violations = map(int, reports[0].groups())
    printed = sum(1 for line in out if TLBCHECK_VIOLATION.match(line))
    if flushes < TLBCHECK_ROUNDS:
        raise Failure(f"{flushes} flushes counted for {TLBCHECK_ROUNDS} munmaps",
                      failure_evidence(s))
    if option == "1" and (violations or printed):
        raise Failure(f"{violations} violations on the main tree's eager flushes",
                      failure_evidence(s))
    if option == "skip" and (violations < t.cpus - 1 or printed != violations):
        raise Failure(f"a skipped flush to {t.cpus - 1} CPUs running the process gave "
                      f"{violations} violations ({printed} printed)", failure_evidence(s))
    return f"{flushes} flushes, {remote} remote, {lazy} lazy, {violations} violations"


def tlbcheck_tests(arch):
    for option in ("1", "skip"):
        yield QemuTest(f"tlbcheck/{arch}/{'catches-skip' if option == 'skip' else 'eager'}",
                       arch, lambda t, option=option: check_tlbcheck(t, option), cpus=4,
                       mem=USERTESTS_MEM, needs=["threadtests"])


# ---- The kernel under UBSan (make SANITIZE=ubsan) -------------------------

# The guest programs, with their arguments, that run on the kernel built
# with SANITIZE=ubsan, each as check_usertests runs it: every case passes
# and no check reports undefined behaviour (a report is a kernel panic).
# Another program that reports like the test programs joins with one more
# entry here.
UBSAN_GUEST_PROGRAMS = {"usertests": (), "threadtests": (), "ipctests": (), "fuzz": ()}
# Two CPUs: the cross-CPU paths (IPIs, remote TLB flushes, the lock's
# hand-over) still run, and on a 2-core host the runs of both
# architectures take about 20 s in all; with 4 CPUs they took 65 s
# (threadtests alone 35 s on RISC-V), the checks' cost multiplied by the
# waits of a guest with more CPUs than the host has cores (docs/gil.md).
# The normal kernel runs the same programs with 4 (usertests_tests).
UBSAN_CPUS = 2


def check_ubsan_reports(t):
    """The runtime reports: crash=ubsan's signed overflow panics, naming
    the check, the operands and the line of kernel/main.c. Without this,
    a runtime that never reported would pass the runs above."""
    source = (ROOT / "kernel" / "main.c").read_text().splitlines()
    line = next((i + 1 for i, text in enumerate(source) if "big = big + 1;" in text), None)
    if line is None:
        raise Failure("kernel/main.c has no 'big = big + 1;' (crash=ubsan's overflow)")
    return check_panic_report(t, "crash=ubsan panic=poweroff",
                              "PANIC: cpu 0: ubsan: signed integer overflow: "
                              f"2147483647 + 1 in 'int' at kernel/main.c:{line}:")


def ubsan_tests(arch):
    yield QemuTest(f"ubsan/{arch}/overflow-reported", arch, check_ubsan_reports,
                   sanitize="ubsan")
    for prog, args in UBSAN_GUEST_PROGRAMS.items():
        yield QemuTest(f"ubsan/{arch}/{prog}", arch, check_usertests, cpus=UBSAN_CPUS,
                       mem=USERTESTS_MEM, needs=[prog], sanitize="ubsan", program=prog,
                       args=args)


# ---- Bounded lock holds (user/bin/holds.c) --------------------------------

# The documented bound on one hold of the big kernel lock by a system call
# (docs/robustness.md): LOCK_BREAK_US (sched.h) plus one step of work.
HOLD_BOUND_US = 1000
HOLDS_STEPS = ("write", "munmap_hole", "munmap_pages", "mmap", "sbrk", "fork", "kwork")
HOLDS_LINE = re.compile(r"holds: (\w+): longest hold (\d+) us")
HOLDS_TIMEOUT_S = 120
# Guest time that counts instructions, one nanosecond each: a hold's length
# is then the kernel's own work, not the host's scheduling of QEMU.
ICOUNT_ARGS = ("-icount", "shift=0,sleep=off")


def check_holds(t, icount):
    """Runs holds: every long system call completes, nothing panics (with
    a thread spinning on another CPU, a long hold used to end in the
    deadlock panic), and, under -icount, no hold exceeds HOLD_BOUND_US."""
    with Session(t.arch, cpus=t.cpus, mem=USERTESTS_MEM, append="holds panic=poweroff",
                 args=ICOUNT_ARGS if icount else ()) as s:
        s.wait_exit(HOLDS_TIMEOUT_S)
    out = s.text()
    if any("PANIC" in line for line in out):
        raise Failure("the kernel panicked", failure_evidence(s))
    holds = {m.group(1): int(m.group(2)) for m in map(HOLDS_LINE.match, out) if m}
    missing = [step for step in HOLDS_STEPS if step not in holds]
    if missing or "holds: done" not in out:
        raise Failure(f"holds did not finish (no line for {', '.join(missing) or 'done'})",
                      failure_evidence(s))
    poweroff = [m for m in map(POWEROFF_LINE.match, out) if m]
    if not poweroff or poweroff[-1].group(1) != "0":
        raise Failure("holds did not exit with status 0", failure_evidence(s))
    if icount:
        over = {k: v for k, v in holds.items() if v > HOLD_BOUND_US}
        if over:
            raise Failure(f"holds over {HOLD_BOUND_US} us: {over}", failure_evidence(s))
    return ", ".join(f"{k} {v} us" for k, v in holds.items())


FUZZ_LINE = re.compile(r"^seed_\d+: seed \d+: .*longest lock hold (\d+) us$")
FUZZ_SEEDS = 4


def check_fuzz_holds(t):
    """The fuzzer's seed set under -icount with one CPU: no random system
    call, however hostile its arguments, holds the lock over the bound."""
    with Session(t.arch, cpus=1, mem=USERTESTS_MEM, append="fuzz panic=poweroff",
                 args=ICOUNT_ARGS) as s:
        s.wait_exit(HOLDS_TIMEOUT_S)
    out = s.text()
    if any("PANIC" in line for line in out):
        raise Failure("the kernel panicked", failure_evidence(s))
    holds = [int(m.group(1)) for m in map(FUZZ_LINE.match, out) if m]
    if len(holds) != FUZZ_SEEDS or not any(USERTESTS_SUMMARY.match(line) for line in out):
        raise Failure(f"{len(holds)} of {FUZZ_SEEDS} seeds reported", failure_evidence(s))
    if max(holds) > HOLD_BOUND_US:
        raise Failure(f"a hold of {max(holds)} us, over {HOLD_BOUND_US} us", failure_evidence(s))
    return "longest hold per seed: " + ", ".join(f"{h} us" for h in holds)


def holds_tests(arch):
    yield QemuTest(f"holds/{arch}/fuzz-icount", arch, check_fuzz_holds, cpus=1,
                   mem=USERTESTS_MEM, needs=["fuzz"])
    # The bound is measured with one CPU: under -icount QEMU runs the CPUs
    # in turn on one host thread, and a hold then also counts the other
    # CPUs' turns (and a RISC-V remote TLB flush through OpenSBI does not
    # finish there at all). With 2 and 4 CPUs, in real time, the test is
    # that every call completes while another CPU waits for the lock.
    yield QemuTest(f"holds/{arch}/icount", arch, lambda t: check_holds(t, True),
                   cpus=1, mem=USERTESTS_MEM, needs=["holds"])
    for cpus in (2, 4):
        yield QemuTest(f"holds/{arch}/smp{cpus}", arch, lambda t: check_holds(t, False),
                       cpus=cpus, mem=USERTESTS_MEM, needs=["holds"])


# ---- Shell session --------------------------------------------------------

PROMPT = "$ "


class ShellLost(Failure):
    """The shell stopped answering: no later step can run."""


class Shell:
    """Drives sh over the console: type a line at the prompt, read what it
    printed up to the next prompt."""

    def __init__(self, s):
        self.s = s
        self.prompt_at = None   # index of the line holding the current prompt
        self.transcript = []    # the lines of the step being run

    def wait_prompt(self, timeout, after=-1):
        at = self.s.expect_prompt(PROMPT, timeout, after)
        if at is None:
            why = ("QEMU exited" if self.s.proc.poll() is not None
                   else f"no {PROMPT!r} prompt within {timeout} s")
            raise ShellLost(why, failure_evidence(self.s))
        self.prompt_at = at
        return at

    def type_line(self, line):
        """Types line and Enter at the prompt and waits for the next
        prompt; returns the lines printed in between. The shell echoes
        what it reads, so the prompt's line must read '$ <line>'."""
        start = self.prompt_at
        self.s.send(line + "\r")
        end = self.wait_prompt(SHELL_COMMAND_TIMEOUT_S, after=start)
        lines = self.s.text()
        self.transcript += lines[start:end] + [PROMPT]
        if lines[start] != PROMPT + line:
            raise Failure(f"the shell echoed {lines[start]!r}, expected "
                          f"{PROMPT + line!r}", self.evidence())
        return lines[start + 1:end]

    def evidence(self):
        return [f"command: {self.s.command()}", "transcript:",
                *("  | " + line for line in self.transcript)]


def step_ls(sh):
    out = sh.type_line("ls")
    want = {"init", "sh", "ls", "echo", "ps", "isolation"}
    missing = sorted(want - set(out))
    if missing:
        raise Failure(f"ls does not list {', '.join(missing)}", sh.evidence())
    bad = [name for name in out if name.startswith("bad-")]
    if bad:
        raise Failure(f"ls lists the test file {bad[0]}", sh.evidence())
    return f"{len(out)} programs"


def step_echo(sh):
    out = sh.type_line("echo hello weft")
    if out != ["hello weft"]:
        raise Failure(f"output {out!r}, expected ['hello weft']", sh.evidence())


def step_background(sh):
    """`echo bg &`: the shell prints [pid] and a prompt without waiting,
    the job prints bg (before or after that prompt), and the job is
    reported done before a later prompt."""
    start = sh.prompt_at
    line = "echo bg &"
    sh.s.send(line + "\r")
    either = r"^\[(\d+)\]$|^(?:\$ )?bg$"
    first = sh.s.expect(either, SHELL_COMMAND_TIMEOUT_S)
    second = first and sh.s.expect(either, SHELL_COMMAND_TIMEOUT_S)
    if not second:
        why = f"no '[pid]' and 'bg' lines within {SHELL_COMMAND_TIMEOUT_S} s"
        try:  # later steps can run if the shell is back at a prompt
            sh.wait_prompt(0, after=start)
        except ShellLost:
            sh.transcript = sh.s.text()[start:]
            raise ShellLost(why, sh.evidence()) from None
        sh.transcript = sh.s.text()[start:sh.prompt_at] + [PROMPT]
        raise Failure(why, sh.evidence())
    sh.transcript = sh.s.text()[start:]
    if sh.transcript[0] != PROMPT + line:
        raise Failure(f"the shell echoed {sh.transcript[0]!r}, expected "
                      f"{PROMPT + line!r}", sh.evidence())
    pid = next((m.group(1) for m in (first, second) if m.group(1)), None)
    if pid is None:
        raise Failure("two 'bg' lines and no '[pid]' line", sh.evidence())
    # Wait for the shell to be at a prompt before typing more. A job that
    # prints after the prompt ends the prompt's line ('$ bg'): the shell
    # then waits for input with no prompt left to see, so one Enter gets
    # a new one. Otherwise the prompt comes after both lines.
    if any(m.group(0) == PROMPT + "bg" for m in (first, second)):
        waiting_at = len(sh.s.text())
        sh.s.send("\r")
        sh.wait_prompt(SHELL_COMMAND_TIMEOUT_S, after=waiting_at)
    else:
        sh.wait_prompt(SHELL_COMMAND_TIMEOUT_S, after=start)
    # Then Enter until the job is reported done: it may end after the
    # prompt, and the shell reaps jobs only before a prompt.
    done = f"[{pid}] done: echo (exit 0)"
    deadline = time.monotonic() + SHELL_COMMAND_TIMEOUT_S
    while done not in sh.s.text()[start:sh.prompt_at]:
        if time.monotonic() > deadline:
            sh.transcript = sh.s.text()[start:sh.prompt_at] + [PROMPT]
            raise Failure(f"no {done!r} line within {SHELL_COMMAND_TIMEOUT_S} s",
                          sh.evidence())
        time.sleep(SHELL_REAP_POLL_S)
        sh.type_line("")
    sh.transcript = sh.s.text()[start:sh.prompt_at] + [PROMPT]
    return f"job pid {pid}"


def step_ps(sh):
    out = sh.type_line("ps")
    if not out or "PID" not in out[0].split():
        raise Failure("no header line with a PID column", sh.evidence())
    column = {name: i for i, name in enumerate(out[0].split())}
    for name in ("PPID", "NAME"):
        if name not in column:
            raise Failure(f"the header has no {name} column", sh.evidence())
    procs = {}  # name: (pid, ppid)
    for line in out[1:]:
        cells = line.split()
        if len(cells) == len(column) and cells[column["PID"]].isdigit():
            procs[cells[column["NAME"]]] = (int(cells[column["PID"]]),
                                            int(cells[column["PPID"]]))
    if procs.get("init", (None,))[0] != 1:
        raise Failure("no line for init with PID 1", sh.evidence())
    if "sh" not in procs:
        raise Failure("no line for sh", sh.evidence())
    if procs["sh"][1] != 1:
        raise Failure(f"sh's parent is {procs['sh'][1]}, expected init (1)", sh.evidence())
    if "ps" not in procs:
        raise Failure("no line for ps itself", sh.evidence())
    return f"{len(procs)} processes"


def step_unknown_command(sh):
    out = sh.type_line("nosuchprog")
    want = "sh: nosuchprog: no such program"
    if out != [want]:
        raise Failure(f"output {out!r}, expected [{want!r}]", sh.evidence())


WORKER_LINE = re.compile(r"^worker (\d+) \(pid (\d+)\): (.*)$")
FAULT_LINE = re.compile(r"^weft: pid (\d+) \((\S+)\) killed: (.*) at (0x[0-9a-f]+), "
                        r"pc 0x[0-9a-f]+$")


def step_isolation(sh):
    """isolation's worker 2 writes to address 0: the kernel kills it
    alone, with one line; the other three and the parent run on."""
    out = sh.type_line("isolation")
    head = next((m for m in (re.match(r"^isolation: (\d+) workers; worker (\d+) will "
                                      r"write to address 0$", line) for line in out) if m),
                None)
    if not head:
        raise Failure("no 'isolation: N workers; worker W will write to address 0' line",
                      sh.evidence())
    workers, faulting = int(head.group(1)), int(head.group(2))
    reports = [m for m in map(WORKER_LINE.match, out) if m]
    numbers = sorted(int(m.group(1)) for m in reports)
    if numbers != list(range(1, workers + 1)):
        raise Failure(f"reports for workers {numbers}, expected 1..{workers}", sh.evidence())
    killed = [m for m in reports if m.group(3) == "killed by fault (page fault)"]
    exited = [m for m in reports if re.fullmatch(r"exit \d+, checksum ok", m.group(3))]
    if len(killed) != 1 or int(killed[0].group(1)) != faulting:
        raise Failure(f"{len(killed)} workers killed by a page fault, expected worker "
                      f"{faulting} alone", sh.evidence())
    if len(exited) != workers - 1:
        raise Failure(f"{len(exited)} workers exited with the right checksum, expected "
                      f"{workers - 1}", sh.evidence())
    faults = [m for m in map(FAULT_LINE.match, out) if m]
    victim = killed[0].group(2)
    if len(faults) != 1:
        raise Failure(f"{len(faults)} 'weft: pid P (name) killed:' lines, expected 1",
                      sh.evidence())
    pid, name, kind, addr = faults[0].groups()
    if (pid, name, kind, int(addr, 16)) != (victim, "isolation", "page fault", 0):
        raise Failure(f"kernel line {faults[0].group(0)!r}, expected pid {victim} "
                      "(isolation) killed: page fault at 0x0", sh.evidence())
    if not any(re.fullmatch(r"isolation: parent \(pid \d+\) still running: ok", line)
               for line in out):
        raise Failure("no 'isolation: parent (pid P) still running: ok' line",
                      sh.evidence())
    return f"worker {faulting} (pid {victim}) killed, {len(exited)} exited"


# The steps of the session, in order: (part name, function). Each starts
# and ends at a prompt.
# `bomb KIND SECONDS &`: the kernel refuses more of the resource, the shell
# still runs ps meanwhile (after a fork bomb, from the memory reserve:
# free memory is then at most the reserve and this slack), and when the
# bomb ends every page is back (the bomb checks, in its last line).
BOMB_SECONDS = {"zombie": 3, "thread": 3, "mmap": 3, "fork": 6}
BOMB_FULL_SLACK_PAGES = 512
FREE_LINE = re.compile(r"^free memory: (\d+) of (\d+) pages")


def enter_until(sh, text, start, timeout):
    """Enter at each prompt until `text` was printed since line `start`."""
    deadline = time.monotonic() + timeout
    while not any(text in line for line in sh.s.text()[start:]):
        if time.monotonic() > deadline:
            sh.transcript = sh.s.text()[start:]
            raise Failure(f"no {text!r} line within {timeout} s", sh.evidence())
        time.sleep(SHELL_REAP_POLL_S)
        at = len(sh.s.text())
        sh.s.send("\r")
        sh.wait_prompt(SHELL_COMMAND_TIMEOUT_S, after=at)


def step_bombs(sh):
    seen = []
    for kind, seconds in BOMB_SECONDS.items():
        start = sh.prompt_at
        sh.s.send(f"bomb {kind} {seconds} &\r")
        full = sh.s.expect(rf"bomb: {kind}: full: .*, (\d+) of \d+ pages free, reserve (\d+)$",
                           SHELL_COMMAND_TIMEOUT_S)
        if not full:
            sh.transcript = sh.s.text()[start:]
            raise Failure(f"bomb {kind}: no 'full' line", sh.evidence())
        at = len(sh.s.text())
        sh.s.send("\r")
        sh.wait_prompt(SHELL_COMMAND_TIMEOUT_S, after=at)
        out = sh.type_line("ps")
        free = next((FREE_LINE.match(line) for line in out if FREE_LINE.match(line)), None)
        sh.transcript = sh.s.text()[start:]
        if not free:
            raise Failure(f"bomb {kind}: ps printed no free memory line", sh.evidence())
        limit = int(full.group(2)) + BOMB_FULL_SLACK_PAGES
        if kind == "fork" and int(free.group(1)) > limit:
            raise Failure(f"bomb fork: ps ran with {free.group(1)} pages free, over {limit}: "
                          "memory was not full", sh.evidence())
        enter_until(sh, f"bomb: {kind}: done: every page back", start,
                    seconds + SHELL_COMMAND_TIMEOUT_S)
        enter_until(sh, "done: bomb (exit 0)", start, SHELL_COMMAND_TIMEOUT_S)
        seen.append(f"{kind} ({full.group(1)} free)")
    return "ps ran beside each bomb: " + ", ".join(seen)


SHELL_STEPS = [
    ("ls", step_ls),
    ("echo", step_echo),
    ("background", step_background),
    ("ps", step_ps),
    ("unknown-command", step_unknown_command),
    ("isolation", step_isolation),
    ("bombs", step_bombs),
]


def check_shell(t):
    """Boots to the shell and types commands at it, reporting each step;
    the session fails if the shell is lost, the kernel panics or prints
    something no step expects (a process killed, the shell restarted)."""
    lost = no_prompt = None
    with t.session("panic=poweroff") as s:
        sh = Shell(s)
        try:
            sh.wait_prompt(SHELL_PROMPT_TIMEOUT_S)
            booted = s.matched_at
        except ShellLost as f:
            no_prompt = f.reason
        for part, step in SHELL_STEPS:
            if no_prompt or not t.wants(part):
                continue
            if lost:
                t.report(part, "SKIP", f"not run: the shell was lost in {lost}")
                continue
            sh.transcript = []
            try:
                info = step(sh)
                t.report(part, "PASS", info or "")
            except Failure as f:
                t.report(part, "FAIL", f.reason, f.evidence)
                if isinstance(f, ShellLost):
                    lost = part
        elapsed = time.monotonic() - s.started
    out = s.text()
    if any("PANIC" in line for line in out):
        raise Failure("the kernel panicked", failure_evidence(s))
    if no_prompt:
        raise Failure(f"no shell: {no_prompt}", failure_evidence(s))
    if lost:
        raise Failure(f"the shell stopped answering in step {lost}", failure_evidence(s))
    faults = [m for m in map(FAULT_LINE.match, out) if m]
    strays = [line for line in out if line.startswith("init: ")]
    strays += [m.group(0) for m in faults if m.group(2) != "isolation"]
    if strays:
        raise Failure(f"unexpected line {strays[0]!r}", failure_evidence(s))
    return f"first prompt after {booted:.1f} s, {elapsed:.1f} s in all"


def shell_tests(arch):
    yield QemuTest(f"shell/{arch}", arch, check_shell, cpus=SHELL_CPUS, mem=SHELL_MEM,
                   needs=["sh", "ls", "echo", "ps", "isolation", "bomb"],
                   parts=[part for part, _ in SHELL_STEPS])


def lock_lesson_tests(arch):
    """lockstat, gil, trace and the recursive-lock panic (giltests.py)."""
    return gil_tests(arch, QemuTest, Failure)


def gdb_suite(arch):
    """docs/gdb.md's workflow and the weft commands under GDB (gdbtests.py)."""
    return gdb_tests(arch, QemuTest, Failure)


def bench_smoke(arch):
    """`bench` with tiny counts: every benchmark runs (bench.py)."""
    return bench_smoke_tests(arch, QemuTest, Failure)


# Each yields the QemuTests of one architecture.
COURSE = ROOT / "docs" / "course.md"


def check_course(t):
    """docs/course.md: every demo its weeks table names is in a tested
    block, and every command of those blocks runs (scripts/lab.py's
    run_doc: make lines with make -n, shell commands at Weft's prompt,
    the GDB session)."""
    import lab
    blocks = lab.doc_blocks(COURSE, t.arch)
    rows = [line.split("|") for line in COURSE.read_text().splitlines()
            if re.match(r"\|\s*\d+\s*\|", line)]
    named = {c for row in rows for c in re.findall(r"`([^`]+)`", row[3])}
    if len(rows) < 10 or not named:
        raise Failure(f"docs/course.md: {len(rows)} weeks, {len(named)} demos named")

    def shown(cmd):
        if cmd.startswith("make "):
            return cmd in blocks["sh"]
        if cmd.startswith("weft "):
            return any(g.startswith(cmd.replace("GDB: ", "")) for g in blocks["gdb"])
        return any(w == cmd or w.startswith(cmd + " ") for w in blocks["weft"])
    missing = sorted(c for c in named if not shown(c.replace("GDB: ", "")))
    if missing:
        raise Failure(f"docs/course.md names {', '.join(missing)} but no tested block runs it")
    try:
        return lab.run_doc(COURSE, t.arch)
    except lab.LabError as e:
        lines = str(e).splitlines()
        raise Failure(lines[0], lines[1:])


def doc_tests(arch):
    yield QemuTest(f"docs/{arch}/course", arch, check_course, cpus=4)


def lab_tests(arch):
    """make labcheck's quick form (scripts/lab.py check --quick): each lab
    on one architecture, alternating, so both are covered. Its handout
    must build and score below full, its solution full. A tree that has
    no lab's solution (a handout, or a student's work) has nothing to
    check."""
    import lab
    for i, name in enumerate(lab.labs()):
        if lab.ARCHES[i % 2] != arch or not lab.has_solution(name):
            continue
        for what in ("handout", "solution"):
            def run(t, name=name, what=what):
                try:
                    return lab.check_tree(name, t.arch, what, quick=True)
                except (lab.LabError, subprocess.TimeoutExpired) as e:
                    lines = str(e).splitlines() or [f"{type(e).__name__} (no message)"]
                    raise Failure(lines[0], lines[1:])
            # 4 CPUs: the graders boot 4-CPU guests.
            yield QemuTest(f"labs/{name}/{arch}/{what}", arch, run, cpus=4)


QEMU_SUITES = [boot_tests, panic_tests, usertests_tests, tlbcheck_tests, ubsan_tests,
               holds_tests, shell_tests, lock_lesson_tests, gdb_suite, bench_smoke, doc_tests,
               lab_tests]


class HostCores:
    """Keeps the guests' CPUs within the host's cores. QEMU runs each guest
    CPU as a host thread; when there are more of them than cores, the host
    deschedules CPUs that hold or wait for the big kernel lock, and a run
    that takes seconds takes minutes (docs/gil.md). So a test waits until
    its CPUs fit next to those of the tests already running, in the order
    the tests asked; a guest with more CPUs than the host has cores runs
    alone."""

    def __init__(self, cores):
        self.cores = self.free = cores
        self.next = self.serving = 0
        self.cond = threading.Condition()

    @contextlib.contextmanager
    def take(self, cpus):
        n = min(cpus, self.cores)
        with self.cond:
            ticket, self.next = self.next, self.next + 1
            self.cond.wait_for(lambda: self.serving == ticket and self.free >= n)
            self.serving, self.free = self.serving + 1, self.free - n
            self.cond.notify_all()
        try:
            yield
        finally:
            with self.cond:
                self.free += n
                self.cond.notify_all()


HOST_CORES = HostCores(len(os.sched_getaffinity(0)))


SUITE_SECONDS = {}  # seconds each suite's tests ran, added up
SUITE_LOCK = threading.Lock()


def add_suite_time(name, seconds):
    suite = name.split("/")[0]
    with SUITE_LOCK:
        SUITE_SECONDS[suite] = SUITE_SECONDS.get(suite, 0) + seconds


def host_job(name, fn, *args):
    """A job run on the host, timed for its suite. (A QEMU test is timed
    in run_qemu_test once it has its host cores, not while it waits.)"""
    def job():
        began = time.monotonic()
        try:
            return fn(*args)
        finally:
            add_suite_time(name, time.monotonic() - began)
    return job


def run_qemu_test(t):
    """The test's own result, after those of the parts it reported."""
    if not t.kernel.exists():
        return [Result(t.name, "SKIP", f"{os.path.relpath(t.kernel, ROOT)} is not built")]
    if t.needs:
        names = initrd_names(t.arch, t.sanitize) or []
        missing = [n for n in t.needs if n not in names]
        if missing:
            return [Result(t.name, "SKIP", f"{', '.join(missing)} not in "
                           f"{os.path.relpath(initrd_path(t.arch, t.sanitize), ROOT)}")]
    try:
        with HOST_CORES.take(t.cpus):
            began = time.monotonic()
            try:
                info = t.run(t)
            finally:
                add_suite_time(t.name, time.monotonic() - began)
        result = Result(t.name, "PASS", info or "")
    except Failure as f:
        result = Result(t.name, "FAIL", f.reason, f.evidence)
    except Exception:  # a harness bug must still show up as a failure
        result = Result(t.name, "FAIL", "harness error",
                        traceback.format_exc().splitlines())
    return [*t.results, result]


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


# ---- Checks of the repository itself ---------------------------------------

# A QEMU command line: the program, then (past quotes, commas, brackets and
# line continuations) an option. "--version" and "--help" start nothing.
QEMU_COMMAND = re.compile(r"qemu-system-[\w%{}<>$]+(?=[\"',\[\]\s\\]*-(?!-?(version|help)))")
NIC_NONE = re.compile(r"-nic[\"',\s]*none")


def repository_files():
    """The project's files: what git tracks, or every file outside build/."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=False)
    if listed.returncode == 0 and listed.stdout:
        return [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    return [p for p in ROOT.rglob("*") if p.is_file()
            and not {"build", ".git"} & set(p.relative_to(ROOT).parts)]


def check_qemu_command_lines():
    """Every QEMU command line in the project is scripts/qemu.sh's or passes
    -nic none: without it QEMU's virt board adds a network card whose
    option ROM comes from a package that is not installed (ipxe-qemu, only
    recommended by qemu-system-*), and QEMU refuses to start."""
    found, bad = 0, []
    for path in repository_files():
        rel = str(path.relative_to(ROOT))
        if rel == "scripts/qemu.sh" or not path.is_file():
            continue
        try:
            lines = path.read_text().splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        for i, line in enumerate(lines):
            for m in QEMU_COMMAND.finditer(line):
                command, j = line[m.start():], i
                while command.rstrip().endswith(("\\", '"')) and j + 1 < len(lines):
                    j += 1                      # shell continuations, C strings
                    command += " " + lines[j].strip()
                found += 1
                if not NIC_NONE.search(command):
                    bad.append(f"{rel}:{i + 1}: {line.strip()}")
    if bad:
        return [Result("repo/qemu-command-lines", "FAIL",
                       f"{len(bad)} QEMU command lines without -nic none (use scripts/qemu.sh)",
                       bad)]
    return [Result("repo/qemu-command-lines", "PASS",
                   f"{found} command lines outside scripts/qemu.sh, all with -nic none")]


# ---- Driver ---------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description="Run Weft's tests.")
    ap.add_argument("--unit-only", action="store_true", help="only the host unit tests")
    ap.add_argument("--arch", choices=ARCHES, help="QEMU tests for this architecture only")
    ap.add_argument("-k", dest="patterns", action="append", default=[],
                    metavar="SUBSTRING",
                    help="only tests whose name contains SUBSTRING (repeatable)")
    ap.add_argument("--skip", dest="skips", action="append", default=[],
                    metavar="SUBSTRING",
                    help="leave out tests whose name contains SUBSTRING (repeatable)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="tests run at once (default 2, one per host core here)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    return ap.parse_args()


def selected(name, patterns):
    return not patterns or any(p in name for p in patterns)


def collect(args):
    """Jobs in the order their results are printed: (name, function)."""
    jobs = [job for job in collect_all(args)
            if not any(s in job[0] for s in args.skips)]
    return jobs


def collect_all(args):
    jobs = []
    if selected("repo/qemu-command-lines", args.patterns):
        jobs.append(("repo/qemu-command-lines",
                     host_job("repo/qemu-command-lines", check_qemu_command_lines)))
    for src in sorted(UNIT_SRC.glob("*_test.c")):
        name = f"unit/{src.stem}"
        if selected(name, args.patterns):
            jobs.append((name, host_job(name, run_unit_program, src)))
    if args.unit_only:
        return jobs
    for arch in ([args.arch] if args.arch else ARCHES):
        for suite in QEMU_SUITES:
            for t in suite(arch):
                if t.select(args.patterns):
                    parts = [f"{t.name}/{part}" for part in t.parts or () if t.wants(part)]
                    jobs.append(("\n".join([*parts, t.name]),
                                 lambda t=t: run_qemu_test(t)))
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
    print("time per suite, its tests' times added up: " +
          ", ".join(f"{suite} {secs:.1f} s" for suite, secs in SUITE_SECONDS.items()))
    print(f"({time.monotonic() - start:.1f} s)")
    summary = f"{counts['PASS']} passed, {counts['FAIL']} failed"
    if counts["SKIP"]:
        summary += f", {counts['SKIP']} skipped"
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
