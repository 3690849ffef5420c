"""GDB tests: the debugging workflow of docs/gdb.md, against QEMU's stub.

For each architecture, two runs of QEMU halted for GDB (scripts/debug.sh,
booting `pingpong`, which keeps two processes calling each other), each
driven by gdb-multiarch with the project's scripts (scripts/gdb/):

  gdb/<arch>/commands   scripted with scripts/debug.sh directly: a context
                        switch stepped through (sp lands in the next
                        thread's kernel stack), and every weft command
                        checked for the pids, names and fields it must
                        show, cross-checked against GDB's own view.
  gdb/<arch>/docs       the commands of docs/gdb.md exactly as written
                        (`make debug`, `make gdb`, then every command of
                        the blocks marked tested), checked for errors and
                        for what the walk-through says happens.

Each reports its checks as parts. GDB is driven one command at a time
over a pipe: after each command an `echo` prints a marker, and the output
up to the marker is that command's. Every command has a time limit and the
whole session a deadline; QEMU (in its own process group) is always
killed at the end. QEMU runs in a boot.Session; the checks raise the
harness's Failure. test.py runs these through gdb_tests(); alone, still
through test.py's machinery:

    python3 scripts/gdbtests.py [riscv64|aarch64] [--build DIR]

The kernel's constants the checks need (KSTACK_SIZE, KERNEL_VA_OFFSET)
come from build/<arch>/weft_constants.py, which make generates from the
kernel's headers for the GDB scripts, read by the scripts' own reader.

Standard library only.
"""

import contextlib
import importlib.util
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from boot import ROOT, Session  # noqa: E402

DEBUG_SH = ROOT / "scripts" / "debug.sh"
DOC = ROOT / "docs" / "gdb.md"

CPUS = 2
MEM = "256M"
# The scripted session's program: enough rounds to outlast any session.
BOOTARGS = "pingpong 100000000"
# Time limits (seconds). A command that stops at a breakpoint takes well
# under a second; boot to the 21st context switch about one.
COMMAND_TIMEOUT_S = 30
SESSION_DEADLINE_S = 90
QEMU_LISTEN_TIMEOUT_S = 15
# Context switches to let pass before looking: by then init has started
# pingpong, which has forked its server (pids 1, 2 and 3).
SWITCHES_BEFORE = 20
SWITCHTRACE_COUNT = 6
# What GDB or the weft commands print when something went wrong.
ERROR_PATTERNS = re.compile(
    r"Python Exception|Error occurred in Python|Undefined command|No symbol "
    r"|Cannot access memory|^weft: no |not defined|Traceback|Remote connection closed"
    r"|Connection refused|Ignoring packet error|Error in sourced command file"
    r"|No stack|^weft: no machine attached", re.M)

ARCH_REGS = {
    "riscv64": {"prev": "$a0", "next": "$a1", "ret": "ra", "cpu": "$tp",
                "arch": "riscv:rv64"},
    "aarch64": {"prev": "$x0", "next": "$x1", "ret": "x30", "cpu": "$TPIDR_EL1",
                "arch": "aarch64"},
}
# What a backtrace in user mode must show: a function of pingpong or of
# the libweft calls it makes.
USER_FUNCTIONS = re.compile(r"\b(main|serve|ipc_call|ipc_reply_recv|ipc_recv|ipc_trap|ipc_exchange)\b")


# The harness's Failure class (scripts/test.py's), which gdb_tests()
# receives: every check raises it, through fail().
Failure = None
TRANSCRIPT = None   # a file to append every session's commands and output to


def fail(reason, evidence=()):
    raise Failure(reason, evidence)


# ---- The kernel's constants --------------------------------------------------

# The GDB scripts' reader of that file, loaded by its path: scripts/gdb/
# is not a package.
_spec = importlib.util.spec_from_file_location("weft_gdb_constants",
                                               ROOT / "scripts" / "gdb" / "constants.py")
constants = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(constants)


def build_constants(build):
    """The constants make generated for the kernel in build."""
    try:
        return constants.load(build)
    except OSError as e:
        fail(f"no {e.filename}: make generates it with the kernel")
    except (ValueError, AttributeError) as e:
        fail(f"the kernel's constants for GDB: {e}")


# ---- QEMU and GDB -------------------------------------------------------------

def free_port():
    """A TCP port nothing listens on now (the system's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Whether something listens on 127.0.0.1:port (from /proc/net/tcp)."""
    want = f"0100007F:{port:04X}"
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(line.split()[1] == want and line.split()[3] == "0A" for line in lines)


def wait_listening(qemu, port, timeout):
    """Whether QEMU's stub listens on port within timeout; False as soon
    as the program starting QEMU (the session's command) has ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(port):
            return True
        if qemu.proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


class GdbTimeout(Exception):
    pass


class Gdb:
    """gdb-multiarch reading commands from a pipe, one at a time."""

    def __init__(self, cmd, env):
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.text = ""
        self.cond = threading.Condition()
        self.eof = False
        self.count = 0
        self.transcript = []   # (command, output)
        self.deadline = time.monotonic() + SESSION_DEADLINE_S
        self.stuck = False     # a command never finished: GDB reads no more
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            with self.cond:
                if not chunk:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.text += chunk.decode(errors="replace")
                self.cond.notify_all()

    def _wait_for(self, pattern, start, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = pattern.search(self.text, start)
                if m:
                    return m
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    return None
                self.cond.wait(left)

    def startup(self, timeout):
        """Output up to the first prompt after connecting."""
        return self.run("echo", timeout)

    def run(self, command, timeout=COMMAND_TIMEOUT_S):
        """Run one command (possibly several lines, e.g. python ... end);
        returns what it printed. The time limit is the command's own, and
        never beyond the session's deadline."""
        timeout = max(0.0, min(timeout, self.deadline - time.monotonic()))
        self.count += 1
        marker = f"@@weft-test-{self.count}@@"
        with self.cond:
            start = len(self.text)
        try:
            self.proc.stdin.write(f"{command}\necho \\n{marker}\\n\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass
        m = self._wait_for(re.compile(re.escape(marker) + r"\n"), start, timeout)
        with self.cond:
            out = self.text[start:m.start()] if m else self.text[start:]
        out = clean(out)
        self.transcript.append((command, out))
        if not m:
            self.stuck = True
            why = "GDB exited" if self.eof else f"no answer within {timeout:.0f} s"
            raise GdbTimeout(f"{command.splitlines()[0]!r}: {why}")
        return out

    def quit(self, timeout=10):
        """Send quit and wait for GDB to end (not if it is stuck)."""
        if self.stuck:
            return False
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):   # ValueError: closed already
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self.reader.join(timeout=5)
        if TRANSCRIPT:
            with open(TRANSCRIPT, "a") as f:
                f.write(f"#### {' '.join(self.cmd)}\n")
                for command, text in self.transcript:
                    f.write(f"(gdb) {command}\n{text}\n")

    def evidence(self, last=12):
        out = []
        for command, text in self.transcript[-last:]:
            out.append(f"(gdb) {command.splitlines()[0]}")
            out += ["  | " + line for line in text.splitlines()[-40:]]
        return out


def clean(out):
    """A command's output without GDB's prompts and the marker's newline."""
    out = out.replace("(gdb) ", "")
    return out[:-1] if out.endswith("\n") else out


def gdb_env(port=None):
    """The environment of QEMU and GDB: the caller's, without the variables
    that would change the run (and without an outer make's, so `make`
    runs as typed at a shell)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GDBPORT", "BOOTARGS", "QEMU_MACHINE", "QEMU_CPU", "QEMU_BIOS",
                        "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    if port is not None:
        env["GDBPORT"] = str(port)
    # No colours or terminal queries in a pipe.
    env["TERM"] = "dumb"
    return env


# ---- Reading GDB's answers ------------------------------------------------------

def value_of(out):
    """The value of a `p` command's output ($N = value)."""
    m = re.search(r"\$\d+ = (.*)", out)
    if not m:
        return None
    text = m.group(1).split()[0]
    try:
        return int(text, 0)
    except ValueError:
        return None


def register(out, name):
    m = re.search(rf"^{re.escape(name)}\s+(0x[0-9a-f]+)", out, re.M)
    return int(m.group(1), 16) if m else None


def table(out):
    """Rows of a weft table: the header's column names, then the rows split
    on whitespace (the last column keeps its spaces)."""
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0].split()
    rows = []
    for line in lines[1:]:
        words = line.split(None, len(header) - 1)
        if len(words) >= len(header) - 1:
            rows.append(words)
    return rows


# A row of weft threads: tid, pid, name, state, cpu, [cpu N], pc, sp, where.
THREAD_ROW = re.compile(r"^\s*(\d+)\s+(\d+|-)\s+(\S+)\s+(\S+)\s+(\d+)\s+(?:cpu (\d+))?"
                        r"\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(.*)$", re.M)
# A row of weft ipc: endpoint, owner, refs, state, senders, receivers.
ENDPOINT_ROW = re.compile(r"^(0x[0-9a-f]+)\s+(\d+ \(\S+\)|0x[0-9a-f]+)\s+(\d+)\s+(alive|dead)"
                          r"\s+(tid \S+|-)\s+(tid \S+|-)$", re.M)
# A row of weft handles (and of weft ipc's handle list): pid, handle,
# object, type, rights, badge.
HANDLE_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(0x[0-9a-f]+)\s+(endpoint|notification)"
                        r"\s+([s-][r-][g-][m-])\s+(\d+)$", re.M)
# A row of weft cpus: cpu, hwid, GDB thread, online, current, mode, BKL, pc.
CPU_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+|\?)\s+(yes|no)\s+(idle|-|tid \d+ \(\S+\))"
                     r"\s+(user|kernel|\?)\s+(holds|spins|-)\s+(.*)$", re.M)


# ---- The scripted session ---------------------------------------------------------

class Parts:
    """Collects the checks of one session as parts of a QemuTest."""

    def __init__(self, t, gdb):
        self.t, self.gdb, self.failed = t, gdb, []

    def check(self, part, fn):
        if not self.t.wants(part):
            return None
        try:
            info = fn()
            self.t.report(part, "PASS", info or "")
            return True
        except GdbTimeout as e:
            self.failed.append(part)
            self.t.report(part, "FAIL", f"GDB did not answer: {e}", self.gdb.evidence())
            raise
        except Exception as e:  # noqa: BLE001 - a check's failure, or a bug in it
            self.failed.append(part)
            reason = getattr(e, "reason", None) or f"{type(e).__name__}: {e}"
            evidence = list(getattr(e, "evidence", ()) or self.gdb.evidence(6))
            self.t.report(part, "FAIL", reason, evidence)
            return False


def expect(cond, reason, gdb, last=3):
    if not cond:
        fail(reason, gdb.evidence(last))


@contextlib.contextmanager
def debug_session(arch, build, port, bootargs, qemu_cmd=None, gdb_cmd=None,
                  gdb_port_env=True):
    """QEMU halted for GDB, and GDB attached: yields (qemu, gdb, what GDB
    printed as it started), qemu being the boot.Session of the command
    that starts QEMU. Both are always stopped at the end."""
    env = gdb_env(port)
    env["BOOTARGS"] = bootargs
    qemu = Session(arch, command=qemu_cmd or [str(DEBUG_SH), "qemu", arch, str(CPUS), MEM,
                                              str(build)], env=env)
    gdb = None
    try:
        if not wait_listening(qemu, port, QEMU_LISTEN_TIMEOUT_S):
            status = qemu.proc.poll()
            why = (f"{qemu.cmd[0]} {qemu.cmd[1]} exited with status {status} before QEMU "
                   "listened" if status is not None else
                   f"QEMU's GDB stub is not listening on port {port} after "
                   f"{QEMU_LISTEN_TIMEOUT_S} s")
            fail(why, ["command: " + " ".join(qemu.cmd),
                       *("  | " + x for x in qemu.tail(20))])
        gdb = Gdb(gdb_cmd or [str(DEBUG_SH), "gdb", arch, str(CPUS), MEM, str(build)],
                  gdb_env(port if gdb_port_env else None))
        try:
            out = gdb.startup(COMMAND_TIMEOUT_S)
        except GdbTimeout:
            fail("GDB did not start", gdb.evidence())
        yield qemu, gdb, out
    finally:
        if gdb is not None:
            gdb.quit()
            gdb.close()
        qemu.close()


STEP_LIMIT = 64  # stepi's a context switch may take (it takes 15 to 30)


def step_out_of_switch(gdb):
    """stepi until the CPU is out of arch_context_switch (one round trip to
    GDB for the whole loop); fails if it is still inside after STEP_LIMIT.
    Returns the instructions stepped."""
    out = gdb.run(f"""python
n = 0
while n < {STEP_LIMIT}:
    n += 1
    gdb.execute("stepi", to_string=True)
    if not gdb.execute("info symbol $pc", to_string=True).startswith("arch_context_switch"):
        break
print("stepped", n)
end""")
    m = re.search(r"stepped (\d+)", out)
    expect(m and int(m.group(1)) < STEP_LIMIT, "the CPU never left arch_context_switch", gdb)
    return int(m.group(1))


def check_commands(t, build=None):
    """The scripted session: see the module's docstring."""
    arch = t.arch
    build = ROOT / (build or f"build/{arch}")
    consts = build_constants(build)
    # A build tree of symlinks: debug.sh records the port in it, and
    # `debug.sh gdb` finds the port there (no GDBPORT), with no other run
    # of the tests sharing the file.
    port = free_port()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="weft-gdb-") as tmpname:
        tmp = Path(tmpname)
        for name in ("kernel.elf", "user", constants.FILENAME):
            os.symlink(build / name, tmp / name)
        with debug_session(arch, tmp, port, BOOTARGS, gdb_port_env=False) as (qemu, gdb,
                                                                               startup):
            parts = commands_session(t, gdb, startup, arch, build, consts, tmp, port)
        leftover = (tmp / "gdbport").exists()
    elapsed = time.monotonic() - started
    if parts.failed:
        fail(f"{len(parts.failed)} checks failed: {', '.join(parts.failed)}",
             ["qemu console (last lines):", *("  | " + x for x in qemu.tail(15))])
    if leftover:
        fail("debug.sh left its gdbport file behind after QEMU ended")
    return f"{elapsed:.1f} s"


def commands_session(t, gdb, startup, arch, build, consts, tmp, port):
    """The checks of the commands test, as parts; returns the Parts."""
    regs = ARCH_REGS[arch]
    kstack = consts.KSTACK_SIZE
    parts = Parts(t, gdb)
    facts = {}
    try:
        parts.check("startup", lambda: check_startup(gdb, startup, regs, tmp, port))
        parts.check("switch", lambda: check_switch(gdb, regs, kstack, facts))
        parts.check("ps", lambda: check_ps(gdb, facts))
        parts.check("threads", lambda: check_threads(gdb, facts))
        parts.check("cpus", lambda: check_cpus(gdb, regs, facts))
        parts.check("lock", lambda: check_lock(gdb, facts))
        parts.check("ipc", lambda: check_ipc(gdb, facts))
        parts.check("handles", lambda: check_handles(gdb, consts, facts))
        parts.check("bt", lambda: check_bt(gdb, facts))
        parts.check("pagewalk", lambda: check_pagewalk(gdb, arch, build, consts))
        parts.check("switchtrace", lambda: check_switchtrace(gdb, facts))
        parts.check("usersyms-auto", lambda: check_usersyms_auto(gdb, build))
        parts.check("usersyms-manual", lambda: check_usersyms_manual(gdb, build))
        parts.check("help", lambda: check_help(gdb))
        parts.check("constants", lambda: check_constants(gdb, build, consts))
    except GdbTimeout:
        pass
    return parts


def check_startup(gdb, out, regs, build, port):
    """debug.sh recorded the port; GDB has the architecture, the kernel's
    symbols and the connection, with no error."""
    recorded = (build / "gdbport").read_text().strip() if (build / "gdbport").exists() else None
    expect(recorded == str(port), f"{build}/gdbport holds {recorded!r}, expected {port}", gdb)
    expect(not ERROR_PATTERNS.search(out), "errors while GDB started", gdb)
    expect(f'The target architecture is set to "{regs["arch"]}"' in out,
           "the architecture was not set", gdb)
    expect("kernel.elf" in out and f"127.0.0.1:{port}" in out,
           "the kernel's symbols or the connection are missing", gdb)
    sched = gdb.run("show scheduler-locking")
    expect('"step"' in sched, "scheduler-locking is not 'step' (weft.gdb not read?)", gdb)
    return f"port {port} from the gdbport file"


def check_switch(gdb, regs, kstack, facts):
    """Step through one whole arch_context_switch: the saved context is
    the old thread's, and afterwards sp is the next thread's saved sp, in
    its kernel stack, and the PC its saved return address."""
    gdb.run("break arch_context_switch")
    gdb.run("continue")
    gdb.run(f"continue {SWITCHES_BEFORE}")
    where = gdb.run("info symbol $pc")
    expect(where.startswith("arch_context_switch"), "not stopped at arch_context_switch", gdb)
    prev_tid = value_of(gdb.run(f"p ((struct thread *){regs['prev']})->tid"))
    next_tid = value_of(gdb.run(f"p ((struct thread *){regs['next']})->tid"))
    next_proc = value_of(gdb.run(f"p/x ((struct thread *){regs['next']})->proc"))
    top = value_of(gdb.run(f"p/x ((struct thread *){regs['next']})->kstack_top"))
    saved_sp = value_of(gdb.run(f"p/x ((struct thread *){regs['next']})->ctx.sp"))
    ctx_pc = "ra" if regs["ret"] == "ra" else "lr"
    saved_pc = value_of(gdb.run(f"p/x ((struct thread *){regs['next']})->ctx.{ctx_pc}"))
    cpu = value_of(gdb.run(f"p ((struct cpu *){regs['cpu']})->id"))
    old_sp = value_of(gdb.run("p/x $sp"))
    expect(None not in (prev_tid, next_tid, top, saved_sp, saved_pc, cpu, old_sp),
           "could not read the threads' fields", gdb, 8)
    steps = step_out_of_switch(gdb)
    sp = value_of(gdb.run("p/x $sp"))
    pc = value_of(gdb.run("p/x $pc"))
    prev_saved_sp = value_of(gdb.run(f"p/x ((struct thread *){regs['prev']})->ctx.sp"))
    bt = gdb.run("bt")
    expect(prev_saved_sp == old_sp, f"the old thread's ctx.sp is {prev_saved_sp:#x}, "
           f"expected its sp before the switch {old_sp:#x}", gdb)
    expect(sp == saved_sp, f"sp {sp:#x} after the switch, expected the next "
           f"thread's ctx.sp {saved_sp:#x}", gdb)
    expect(top - kstack <= sp < top, f"sp {sp:#x} is not in the next thread's kernel "
           f"stack [{top - kstack:#x}, {top:#x})", gdb)
    expect(pc == saved_pc, f"pc {pc:#x} after the switch, expected ctx.{ctx_pc} "
           f"{saved_pc:#x}", gdb)
    expect("switch_to" in bt or "thread_trampoline" in bt,
           "the backtrace after the switch is not in switch_to", gdb)
    facts.update(prev_tid=prev_tid, next_tid=next_tid, cpu=cpu,
                 next_is_idle=not next_proc)
    return (f"tid {prev_tid} -> tid {next_tid} on cpu {cpu} in {steps} steps, "
            f"sp {sp:#x} in [{top - kstack:#x}, {top:#x})")


def check_ps(gdb, facts):
    """init (1), pingpong (2) and its forked server pingpong (3), alive,
    each with its parent and its thread."""
    out = gdb.run("weft ps")
    expect(not ERROR_PATTERNS.search(out), "weft ps failed", gdb)
    rows = {int(r[0]): r for r in table(out) if r[0].isdigit()}
    want = {1: ("0", "init"), 2: ("1", "pingpong"), 3: ("2", "pingpong")}
    for pid, (ppid, name) in want.items():
        row = rows.get(pid)
        expect(row is not None, f"no row for pid {pid}", gdb)
        expect((row[1], row[2], row[-1]) == (ppid, "alive", name),
               f"pid {pid}: ppid/state/name {row[1]}/{row[2]}/{row[-1]}, "
               f"expected {ppid}/alive/{name}", gdb)
        expect(re.fullmatch(r"\d+(,\d+)*", row[3]), f"pid {pid}: threads {row[3]!r}", gdb)
    expect(set(rows) == set(want), f"pids {sorted(rows)}, expected 1, 2, 3", gdb)
    facts["ps_threads"] = {pid: {int(x) for x in rows[pid][3].split(",")} for pid in rows}
    return "pids 1 (init), 2 and 3 (pingpong)"


def check_threads(gdb, facts):
    """One row per thread of each process (the tids weft ps lists), one
    idle thread per CPU, the next thread running on the stopped CPU, and
    the blocked ones saved in switch_to."""
    out = gdb.run("weft threads")
    expect(not ERROR_PATTERNS.search(out), "weft threads failed", gdb)
    rows = THREAD_ROW.findall(out)
    by_pid = {}
    for r in rows:
        if r[1] != "-":
            by_pid.setdefault(int(r[1]), set()).add(int(r[0]))
    expect(by_pid == facts["ps_threads"], f"threads by pid {by_pid}, weft ps says "
           f"{facts['ps_threads']}", gdb)
    idle = [r for r in rows if r[0] == "0" and r[2] == "idle"]
    expect(len(idle) == CPUS, f"{len(idle)} idle threads, expected {CPUS}", gdb)
    if not facts["next_is_idle"]:
        mine = [r for r in rows if int(r[0]) == facts["next_tid"]]
        expect(mine and mine[0][3] == "running" and mine[0][5] == str(facts["cpu"]),
               f"tid {facts['next_tid']} is not running on cpu {facts['cpu']}", gdb)
    blocked = [r for r in rows if r[3] == "blocked"]
    expect(blocked and all("switch_to" in r[8] for r in blocked),
           "a blocked thread's saved PC is not in switch_to", gdb)
    return f"{len(rows)} threads, {len(blocked)} blocked"


def check_cpus(gdb, regs, facts):
    """Every CPU online; the stopped one runs the next thread, in the
    kernel, holding the big kernel lock; GDB's thread numbers lead to the
    right CPU."""
    out = gdb.run("weft cpus")
    expect(not ERROR_PATTERNS.search(out), "weft cpus failed", gdb)
    rows = {int(r[0]): r for r in CPU_ROW.findall(out)}
    expect(sorted(rows) == list(range(CPUS)), f"cpus {sorted(rows)}", gdb)
    expect(all(r[3] == "yes" for r in rows.values()), "a CPU is not online", gdb)
    row = rows[facts["cpu"]]
    name = "init" if facts["next_tid"] == 1 else "pingpong"
    current = "idle" if facts["next_is_idle"] else f"tid {facts['next_tid']} ({name})"
    expect(row[4:7] == (current, "kernel", "holds"),
           f"cpu {facts['cpu']}: {row[4:7]}, expected {current}, kernel, holds", gdb)
    for cpu, r in rows.items():
        other = gdb.run(f"thread {r[2]}")
        expect("Switching to thread" in other, f"thread {r[2]} did not switch", gdb)
        if r[5] == "kernel":
            got = value_of(gdb.run(f"p ((struct cpu *){regs['cpu']})->id"))
            expect(got == cpu, f"GDB thread {r[2]} is cpu {got}, weft cpus says {cpu}", gdb)
    gdb.run(f"thread {row[2]}")
    m = re.search(r"held by cpu (\d+), (\d+) waiting", out)
    expect(m and int(m.group(1)) == facts["cpu"], "the ticket line does not name the holder",
           gdb)
    return f"cpu {facts['cpu']} holds the lock"


def check_lock(gdb, facts):
    """Holder, ticket arithmetic (waiting = next - serving - 1) and the
    per-CPU statistics agree with big_kernel_lock and cpus[] as GDB reads
    them."""
    out = gdb.run("weft lock")
    expect(not ERROR_PATTERNS.search(out), "weft lock failed", gdb)
    nxt = value_of(gdb.run("p big_kernel_lock.next"))
    serving = value_of(gdb.run("p big_kernel_lock.serving"))
    holder = value_of(gdb.run("p big_kernel_lock.holder"))
    holder_pc = value_of(gdb.run("p/x big_kernel_lock.holder_pc"))
    expect(holder == facts["cpu"], f"big_kernel_lock.holder is {holder}", gdb)
    m = re.search(r"next ticket (\d+), serving (\d+): held by cpu (\d+), (\d+) waiting", out)
    expect(m, "no ticket line", gdb)
    expect([int(x) for x in m.groups()] == [nxt, serving, holder, nxt - serving - 1],
           f"ticket line {m.group(0)!r}, expected next {nxt}, serving {serving}, "
           f"holder {holder}, {nxt - serving - 1} waiting", gdb)
    expect(re.search(rf"taken at {holder_pc:#x} ", out), "the holder's PC is not shown", gdb)
    for cpu in range(CPUS):
        acquired = value_of(gdb.run(f"p cpus[{cpu}].bkl_stats.acquired"))
        row = re.search(rf"^\s+{cpu}\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$", out, re.M)
        expect(row and int(row.group(1)) == acquired and acquired > 0,
               f"cpu {cpu}: acquired {row and row.group(1)}, cpus[{cpu}] says {acquired}", gdb)
    return f"next {nxt}, serving {serving}, holder cpu {holder}"


def check_ipc(gdb, facts):
    """pingpong's endpoint: the kernel's endpoints list, owned by pid 2,
    alive; the server (pid 3) waits on it or the caller waits for it."""
    out = gdb.run("weft ipc")
    expect(not ERROR_PATTERNS.search(out), "weft ipc failed", gdb)
    ep = value_of(gdb.run("p/x 'ipc.c'::endpoints"))
    rows = ENDPOINT_ROW.findall(out)
    expect(len(rows) == 1, f"{len(rows)} endpoints, expected pingpong's one", gdb)
    r = rows[0]
    expect(int(r[0], 16) == ep, f"endpoint {r[0]}, the kernel's list starts at {ep:#x}", gdb)
    expect(r[1] == "2 (pingpong)" and r[3] == "alive",
           f"endpoint {r}: expected owner 2 (pingpong), alive", gdb)
    receiving = r[5] == "tid 3"
    calling = "call: tid 2 (pingpong) waits for the reply of tid 3 (pingpong)" in out
    if (facts["prev_tid"], facts["next_tid"]) == (2, 3):
        # The caller blocked for the reply; the server runs to give it.
        expect(calling and not receiving, "expected tid 2's call waiting for tid 3", gdb)
    elif facts["prev_tid"] == 3:
        # The server replied and blocked in its next receive.
        expect(receiving and not calling, "expected tid 3 among the receivers", gdb)
    else:
        expect(receiving or calling, "nobody waits on or for the endpoint", gdb)
    handles = HANDLE_ROW.findall(out)
    want = [("2", r[0], "s---"), ("3", r[0], "-r--")]
    expect(sorted((h[0], h[2], h[4]) for h in handles) == want,
           f"weft ipc lists the handles {handles}, expected pingpong's two: pid 2's can "
           "only send, pid 3's only receive", gdb)
    facts["endpoint"] = r[0]
    return "server receiving" if receiving else "call in progress"


def process_expression(gdb, pid):
    """A GDB expression for the struct process * of pid: processes, then
    ->next until the pid matches."""
    expr = "processes"
    for _ in range(16):
        if value_of(gdb.run(f"p {expr}->pid")) == pid:
            return expr
        expr += "->next"
    expect(False, f"pid {pid} is not in the kernel's process list", gdb)
    return None


def check_handles(gdb, consts, facts):
    """weft handles PID: pingpong's client (pid 2) holds one handle to its
    endpoint that can only send, its server (pid 3) one that can only
    receive (each dropped the rest after the fork); neither has a badge.
    The kernel's own table agrees."""
    kernel_rights = {2: consts.RIGHT_SEND, 3: consts.RIGHT_RECV}
    for pid, rights in ((2, "s---"), (3, "-r--")):
        out = gdb.run(f"weft handles {pid}")
        expect(not ERROR_PATTERNS.search(out), "weft handles failed", gdb)
        rows = HANDLE_ROW.findall(out)
        expect(len(rows) == 1, f"pid {pid}: {len(rows)} handles, expected 1", gdb)
        _, handle, obj, kind, got, badge = rows[0]
        expect((obj, kind, got, badge) == (facts.get("endpoint", obj), "endpoint", rights, "0"),
               f"pid {pid}: handle {rows[0]}, expected the endpoint with {rights}, badge 0",
               gdb)
        table = value_of(gdb.run(f"p {process_expression(gdb, pid)}->handles[{handle}].rights"))
        expect(table == kernel_rights[pid],
               f"pid {pid}: the kernel says rights {table}, weft handles {rights}", gdb)
    every = HANDLE_ROW.findall(gdb.run("weft handles"))
    expect({h[0] for h in every} >= {"2", "3"}, "weft handles without a pid misses pingpong",
           gdb)
    return "pid 2 s---, pid 3 -r--"


def check_bt(gdb, facts):
    """init (tid 1) is blocked in wait(): its saved context walks back
    through sched_block and proc_wait to the system call, and its trap
    frame gives its user PC."""
    out = gdb.run("weft bt 1")
    expect(not ERROR_PATTERNS.search(out), "weft bt failed", gdb)
    expect("tid 1 (init), blocked, from its saved context" in out, "not from the saved "
           "context", gdb)
    for name in ("switch_to", "sched_block", "proc_wait", "syscall_dispatch"):
        expect(re.search(rf"^#\d+\s+0x[0-9a-f]+ in .*{name}", out, re.M),
               f"no {name} frame", gdb)
    expect(re.search(r"^user pc 0x[0-9a-f]+ in init", out, re.M), "no user pc line", gdb)
    live = gdb.run(f"weft bt {facts['next_tid']}") if not facts["next_is_idle"] else ""
    if live:
        expect(f"is live on cpu {facts['cpu']}" in live and "#0" in live,
               "the running thread did not get GDB's backtrace", gdb)
    return f"{len(re.findall(r'^#', out, re.M))} frames"


def elf_bytes_at(path, va, n):
    """n bytes of the ELF file's loadable segment at virtual address va."""
    data = Path(path).read_bytes()
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        ptype, _, offset, vaddr, _, filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize)
        if ptype == 1 and vaddr <= va < vaddr + filesz:
            at = offset + va - vaddr
            return data[at:at + n]
    return None


def check_pagewalk(gdb, arch, build, consts):
    """pingpong's code page: three levels, a user-executable read-only
    leaf, and the physical page holds the program's bytes; &cpus in the
    kernel's table: a kernel read-write page at &cpus minus the offset."""
    va = 0x400000
    out = gdb.run(f"weft pagewalk 2 {va:#x}")
    expect(not ERROR_PATTERNS.search(out), "weft pagewalk failed", gdb)
    steps = re.findall(r"^\s+level \d \[\s*\d+\] pte (0x[0-9a-f]+) at pa 0x[0-9a-f]+: (.*)$",
                       out, re.M)
    expect(len(steps) == 3 and "table" in steps[0][1] and "table" in steps[1][1],
           "expected two tables and a leaf", gdb)
    leaf = steps[2][1]
    if arch == "riscv64":
        flags = set(leaf.split(": ", 1)[1].split())
        expect({"V", "R", "X", "U"} <= flags and "W" not in flags,
               f"code page flags {sorted(flags)}, expected V R X U, not W", gdb)
    else:
        expect("AP=11" in leaf and "UXN=0" in leaf and "PXN=1" in leaf,
               "code page: expected AP=11 (read-only at EL0 and EL1), UXN=0, PXN=1", gdb)
    m = re.search(rf"va {va:#x} -> pa (0x[0-9a-f]+)", out)
    expect(m, "no 'va -> pa' line", gdb)
    pa = int(m.group(1), 16)
    gdb.run("maintenance packet Qqemu.PhyMemMode:1")
    try:
        words = gdb.run(f"x/2gx {pa:#x}")
    finally:
        gdb.run("maintenance packet Qqemu.PhyMemMode:0")
    got = [int(x, 16) for x in re.findall(r"0x[0-9a-f]{16}", words)]
    want = elf_bytes_at(build / "user" / "pingpong", va, 16)
    expect(want is not None and got == list(struct.unpack("<QQ", want)),
           f"the page at pa {pa:#x} holds {[hex(x) for x in got]}, not pingpong's "
           "first bytes", gdb)
    out = gdb.run("weft pagewalk 0 &cpus")
    expect(not ERROR_PATTERNS.search(out), "weft pagewalk 0 failed", gdb)
    cpus = value_of(gdb.run("p/x &cpus"))
    m = re.search(r"-> pa (0x[0-9a-f]+)", out)
    expect(m and int(m.group(1), 16) == cpus - consts.KERNEL_VA_OFFSET,
           f"&cpus = {cpus:#x} should map to pa {cpus - consts.KERNEL_VA_OFFSET:#x}", gdb)
    leaf = out.splitlines()[-2]
    if arch == "riscv64":
        expect(re.search(r": V R W G A D$", leaf), f"kernel data page {leaf!r}", gdb)
    else:
        expect("AP=00" in leaf and "UXN=1" in leaf and "PXN=1" in leaf,
               f"kernel data page {leaf!r}", gdb)
    return f"va {va:#x} -> pa {pa:#x}"


SWITCH_LINE = re.compile(r"^cpu (\d+): tid (\d+) \((\S+)\) -> tid (\d+) \((\S+)\)$", re.M)


def check_switchtrace(gdb, facts):
    """N lines in the documented form, each CPU's chain consistent (the
    thread switched to is the next one switched from), names matching
    the tids, then a stop."""
    gdb.run("delete")
    on = gdb.run(f"weft switchtrace {SWITCHTRACE_COUNT}")
    expect("weft switchtrace: on" in on, "not turned on", gdb)
    out = gdb.run("continue")
    lines = SWITCH_LINE.findall(out)
    expect(len(lines) == SWITCHTRACE_COUNT, f"{len(lines)} switch lines, expected "
           f"{SWITCHTRACE_COUNT}", gdb)
    expect(f"weft switchtrace: {SWITCHTRACE_COUNT} switches, stopped" in out,
           "no stop after the count", gdb)
    last = {}
    names = {0: "idle", 1: "init"}
    for cpu, a, an, b, bn in lines:
        for tid, name in ((int(a), an), (int(b), bn)):
            expect(names.setdefault(tid, name) == name, f"tid {tid} named {name} and "
                   f"{names[tid]}", gdb)
        expect(cpu not in last or last[cpu] == a,
               f"cpu {cpu} switched to tid {last.get(cpu)}, then from tid {a}", gdb)
        last[cpu] = b
    off = gdb.run("weft switchtrace off")
    expect("off" in off, "not turned off", gdb)
    return f"{len(lines)} switches"


def check_usersyms_auto(gdb, build):
    """weft touser stops at a user instruction with pingpong's symbols
    loaded; a stop in user mode with another program's symbols loads the
    right ones by itself; the backtrace names user functions."""
    out = gdb.run("weft touser")
    expect(not ERROR_PATTERNS.search(out), "weft touser failed", gdb)
    expect(re.search(r"weft touser: pid (2|3) \(pingpong\) returns to user mode", out),
           "did not return to pingpong in user mode", gdb)
    bt = gdb.run("bt")
    expect(USER_FUNCTIONS.search(bt) and "user/" in bt,
           "the user backtrace names no function of pingpong", gdb)
    gdb.run("weft usersyms init")
    step = gdb.run("stepi")
    expect(re.search(r"weft: in user mode, pid \d \(pingpong\): loaded its symbols", step),
           "stopping in user mode did not load pingpong's symbols", gdb)
    where = gdb.run("info symbol $pc")
    expect(f"{build.name}/user/pingpong" in where or "/user/pingpong" in where,
           f"$pc is {where!r}, not in pingpong", gdb)
    bt = gdb.run("bt")
    expect(USER_FUNCTIONS.search(bt), "no user function in the backtrace", gdb)
    frames = ", ".join(sorted(set(USER_FUNCTIONS.findall(bt))))
    return f"user backtrace: {frames}"


def check_usersyms_manual(gdb, build):
    """weft usersyms PROGRAM replaces the loaded program; an unknown one
    is refused; weft ps still works from a CPU in user mode."""
    out = gdb.run("weft usersyms init")
    expect("symbols of user program init loaded" in out, "init not loaded", gdb)
    main = gdb.run("info address main")
    expect(re.search(r'Symbol "main" is a function at address 0x[0-9a-f]+', main),
           "no main", gdb)
    files = gdb.run("python print([o.filename for o in gdb.objfiles()])")
    expect("user/init" in files and "user/pingpong" not in files,
           f"objfiles {files}: expected init instead of pingpong", gdb)
    bad = gdb.run("weft usersyms nosuchprogram")
    expect("no user program" in bad, "an unknown program was not refused", gdb)
    ps = gdb.run("weft ps")
    expect(re.search(r"^\s+2\s+1\s+alive", ps, re.M),
           "weft ps from a CPU in user mode does not show pid 2", gdb)
    return "init replaces pingpong"


SUBCOMMANDS = ("ps", "threads", "cpus", "lock", "ipc", "handles", "pagewalk", "bt",
               "switchtrace", "touser", "usersyms")


def check_help(gdb):
    """help weft lists every command, and each has a usage text."""
    out = gdb.run("help weft")
    for sub in SUBCOMMANDS:
        expect(re.search(rf"^weft {sub} -- ", out, re.M), f"help weft lists no {sub}", gdb)
        text = gdb.run(f"help weft {sub}")
        expect(f"Usage: weft {sub}" in text, f"help weft {sub} has no usage line", gdb)
    return f"{len(SUBCOMMANDS)} commands"


def check_constants(gdb, build, consts):
    """The constants make generated from the kernel's headers
    (build/<arch>/weft_constants.py) have sane values, and they are the
    ones the GDB scripts use."""
    c = consts
    va_bits = c.PAGE_SHIFT + c.PT_INDEX_BITS * c.PT_LEVELS
    sane = [
        ("4 KiB pages, 3 levels of 512 entries (what the page-table decoders read)",
         (c.PAGE_SIZE, c.PT_LEVELS, c.PT_ENTRIES) == (4096, 3, 512)),
        ("KSTACK_SIZE is whole pages", c.KSTACK_SIZE > 0 and c.KSTACK_SIZE % c.PAGE_SIZE == 0),
        ("KERNEL_VA_OFFSET is in the top 2^39 bytes",
         (1 << 64) - (1 << va_bits) <= c.KERNEL_VA_OFFSET < 1 << 64),
        ("the direct map is whole GiB within the kernel half",
         c.DIRECT_MAP_SIZE > 0 and c.DIRECT_MAP_SIZE % (1 << 30) == 0
         and c.KSTACK_AREA < 1 << 64),
        ("USER_VA_END is in the lower 2^39 bytes", 0 < c.USER_VA_END <= 1 << va_bits),
        ("FRAME_RECORD_OFFSET is -16 or 0", c.FRAME_RECORD_OFFSET in (-16, 0)),
        ("the rights are four different bits",
         sorted((c.RIGHT_SEND, c.RIGHT_RECV, c.RIGHT_GRANT, c.RIGHT_MINT)) == [1, 2, 4, 8]),
    ]
    bad = [what for what, ok in sane if not ok]
    expect(not bad, f"{build}/{constants.FILENAME}: not so: {'; '.join(bad)}", gdb)
    names = sorted(vars(c))
    out = gdb.run("python import target; c = target.kernel_constants(); "
                  f"print({', '.join('c.' + n for n in names)})")
    got = [int(x) for x in out.split()[-len(names):]]
    want = [getattr(c, n) for n in names]
    expect(got == want, f"the GDB scripts have {got}, {constants.FILENAME} says {want} "
           f"({', '.join(names)})", gdb)
    return (f"{len(names)} constants, KSTACK_SIZE {c.KSTACK_SIZE:#x}, "
            f"KERNEL_VA_OFFSET {c.KERNEL_VA_OFFSET:#x}")


# ---- docs/gdb.md --------------------------------------------------------------------

FENCE = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```\s*$", re.M | re.S)


def doc_blocks(text=None):
    """(language, tags, lines) of every fenced block of docs/gdb.md."""
    text = DOC.read_text() if text is None else text
    return [(m.group(1), m.group(2).split(), m.group(3).splitlines())
            for m in FENCE.finditer(text)]


def doc_commands(arch):
    """The shell and GDB commands docs/gdb.md shows for arch, in order."""
    shell, gdbcmds = [], []
    for lang, tags, lines in doc_blocks():
        if not tags or tags[0] != "tested" or (len(tags) > 1 and arch not in tags[1:]):
            continue
        for line in lines:
            if lang == "sh":
                words = shlex.split(line, comments=True)
                if words:
                    shell.append(words)
            elif line.strip() and not line.lstrip().startswith("#"):
                gdbcmds.append(line.strip())
    return shell, gdbcmds


def check_doc_blocks(t):
    """Every command block of docs/gdb.md is marked tested (for one or
    both architectures); every weft command the text names is run by one;
    every documented command exists."""
    text = DOC.read_text()
    bad = [f"```{lang} {' '.join(tags)}" for lang, tags, _ in doc_blocks(text)
           if lang in ("sh", "gdb", "console", "bash", "shell", "")
           and (not tags or tags[0] != "tested")]
    if bad:
        fail(f"docs/gdb.md has command blocks not marked tested: {bad[0]!r}")
    run = set()
    for arch in ("riscv64", "aarch64"):
        _, cmds = doc_commands(arch)
        run |= {" ".join(c.split()[:2]) for c in cmds if c.startswith("weft ")}
    named = set(re.findall(r"`(weft [a-z]+)", text))
    missing = sorted(named - run)
    if missing:
        fail(f"docs/gdb.md names {', '.join(missing)} but no tested block runs it")
    absent = sorted(f"weft {s}" for s in SUBCOMMANDS if f"weft {s}" not in run)
    if absent:
        fail(f"docs/gdb.md does not show {', '.join(absent)}")
    return f"{len(run)} weft commands shown and run"


def check_docs(t, build=None):
    """Runs docs/gdb.md's commands for t.arch exactly as written (with
    build, BUILD=build added to both make commands)."""
    arch = t.arch
    shell, cmds = doc_commands(arch)
    if build is not None:
        shell = [w + [f"BUILD={build}"] if w[:1] == ["make"] else w for w in shell]
    debug = [w for w in shell if w[:2] == ["make", "debug"]]
    gdbrun = [w for w in shell if w[:2] == ["make", "gdb"]]
    other = [w for w in shell if w[:2] not in (["make", "debug"], ["make", "gdb"])]
    if other or len(debug) != 1 or len(gdbrun) != 1:
        fail(f"docs/gdb.md's shell commands for {arch} should be one `make debug` and one "
             f"`make gdb` (got {[' '.join(w) for w in shell]})")
    if f"ARCH={arch}" not in debug[0] or f"ARCH={arch}" not in gdbrun[0]:
        fail(f"the {arch} commands of docs/gdb.md do not say ARCH={arch}")
    if not cmds:
        fail(f"docs/gdb.md has no tested GDB commands for {arch}")
    port = free_port()
    started = time.monotonic()
    with debug_session(arch, None, port, "", qemu_cmd=debug[0],
                       gdb_cmd=gdbrun[0]) as (qemu, gdb, startup):
        parts = Parts(t, gdb)
        outputs = []
        try:
            parts.check("startup", lambda: expect(not ERROR_PATTERNS.search(startup),
                                                  "errors while GDB started", gdb))
            for cmd in cmds:
                if cmd == "quit":
                    break
                outputs.append((cmd, gdb.run(cmd)))
            parts.check("no-errors", lambda: doc_errors(gdb, outputs))
            parts.check("walkthrough", lambda: doc_walkthrough(gdb, arch, build, outputs))
            parts.check("user-mode", lambda: doc_user_mode(gdb, outputs))
            quit_ok = "quit" not in cmds or gdb.quit()
            parts.check("quit", lambda: expect(quit_ok, "GDB did not end after quit", gdb))
        except GdbTimeout as e:
            parts.failed.append("session")
            t.report("session", "FAIL", f"GDB did not answer: {e}", gdb.evidence())
    elapsed = time.monotonic() - started
    if parts.failed:
        fail(f"{len(parts.failed)} checks failed: {', '.join(parts.failed)}",
             ["qemu console (last lines):", *("  | " + x for x in qemu.tail(15))])
    return f"{len(outputs)} commands, {elapsed:.1f} s"


def doc_errors(gdb, outputs):
    """No command of the guide prints an error. One stop line is exempt:
    the guide loads the wrong program's symbols on purpose (`weft usersyms
    init` while pingpong runs), so GDB prints the next stop with them, and
    decoding a stranger's arguments may fail; the scripts then load the
    right symbols, and everything from that line on is checked."""
    previous = ""
    for cmd, out in outputs:
        reload = re.search(r"^weft: in user mode, .*: loaded its symbols", out, re.M)
        if previous.startswith("weft usersyms") and reload:
            out = out[reload.start():]
        m = ERROR_PATTERNS.search(out)
        expect(not m, f"{cmd!r} printed {m.group(0)!r}" if m else "", gdb, 40)
        previous = cmd
    return f"{len(outputs)} commands"


def find_output(outputs, pattern, nth=0):
    hits = [out for cmd, out in outputs if re.fullmatch(pattern, cmd)]
    return hits[nth] if len(hits) > nth else None


def doc_walkthrough(gdb, arch, build, outputs):
    """What the walk-through says: after the restore, sp and the return
    address are the next thread's saved ones, sp is inside its kernel
    stack, and the backtrace is that thread's, in switch_to."""
    kstack = build_constants(ROOT / (build or f"build/{arch}")).KSTACK_SIZE
    regs = ARCH_REGS[arch]
    nxt = re.escape(f"((struct thread *){regs['next']})")
    top = value_of(find_output(outputs, rf"p/x {nxt}->kstack_top") or "")
    ctx = find_output(outputs, rf"p/x {nxt}->ctx") or ""
    m_sp = re.search(r"\bsp = (0x[0-9a-f]+)", ctx)
    m_pc = re.search(rf"\b{'ra' if arch == 'riscv64' else 'lr'} = (0x[0-9a-f]+)", ctx)
    shown = [out for cmd, out in outputs if cmd.startswith("info registers sp")]
    expect(top and m_sp and m_pc and len(shown) >= 3,
           "the walk-through no longer prints kstack_top, ctx and the registers 3 times",
           gdb, 40)
    sp, ret = register(shown[-1], "sp"), register(shown[-1], regs["ret"])
    expect(sp == int(m_sp.group(1), 16), f"sp after the switch {sp:#x}, the next thread "
           f"saved {m_sp.group(1)}", gdb, 40)
    expect(ret == int(m_pc.group(1), 16), f"{regs['ret']} after the switch {ret:#x}, the "
           f"next thread saved {m_pc.group(1)}", gdb, 40)
    expect(top - kstack <= sp < top, f"sp {sp:#x} is not in [{top - kstack:#x}, {top:#x})",
           gdb, 40)
    bts = [out for cmd, out in outputs if cmd == "bt"]
    expect(bts and ("switch_to" in bts[0] or "thread_trampoline" in bts[0]),
           "the first bt is not in switch_to", gdb, 40)
    ps = find_output(outputs, r"weft ps") or ""
    expect(re.search(r"^\s+3\s+2\s+alive\s+\S+\s+pingpong$", ps, re.M),
           "weft ps shows no pingpong server (pid 3)", gdb, 40)
    return f"sp {sp:#x} in [{top - kstack:#x}, {top:#x})"


def doc_user_mode(gdb, outputs):
    """weft touser then bt shows pingpong's functions; after loading init
    by hand, a stop in user mode loads pingpong again by itself."""
    bts = [out for cmd, out in outputs if cmd == "bt"]
    expect(len(bts) >= 3 and USER_FUNCTIONS.search(bts[1]) and USER_FUNCTIONS.search(bts[2]),
           "the user-mode backtraces name no function of pingpong", gdb, 40)
    steps = [out for cmd, out in outputs if cmd == "stepi"]
    expect(any("loaded its symbols" in s for s in steps),
           "no automatic symbol loading after weft usersyms init", gdb, 40)
    at = next((i for i, (cmd, _) in enumerate(outputs) if cmd.startswith("weft switchtrace")),
              None)
    trace = next((out for cmd, out in outputs[at:] if cmd == "continue"), "") \
        if at is not None else ""
    expect(SWITCH_LINE.search(trace), "weft switchtrace printed no switch", gdb, 40)
    return "user functions in the backtraces"


# ---- Suites ---------------------------------------------------------------------------

def gdb_tests(arch, qemu_test, failure, build=None):
    """The GDB tests of one architecture, as QemuTests of the harness
    (test.py's QemuTest and Failure classes); build: a build tree other
    than build/<arch>, relative to the top of the tree."""
    global Failure
    Failure = failure
    if arch == "riscv64":   # once: the text of the guide itself
        yield qemu_test("gdb/docs-blocks", arch, check_doc_blocks, needs=[])
    yield qemu_test(f"gdb/{arch}/commands", arch, lambda t: check_commands(t, build),
                    cpus=CPUS, mem=MEM, needs=["pingpong"],
                    parts=["startup", "switch", "ps", "threads", "cpus", "lock", "ipc",
                           "handles", "bt", "pagewalk", "switchtrace", "usersyms-auto",
                           "usersyms-manual", "help", "constants"])
    yield qemu_test(f"gdb/{arch}/docs", arch, lambda t: check_docs(t, build),
                    cpus=CPUS, mem=MEM, needs=["pingpong"],
                    parts=["startup", "no-errors", "walkthrough", "user-mode", "quit"])


# ---- Alone ------------------------------------------------------------------------------

def main(argv):
    """The GDB tests alone, run and reported as test.py runs them."""
    import argparse
    import test
    ap = argparse.ArgumentParser(description="Run the GDB tests alone.")
    ap.add_argument("arch", nargs="*", default=["riscv64", "aarch64"])
    ap.add_argument("--build", metavar="DIR",
                    help="use the build tree DIR/<arch> (default: build/<arch>); the "
                    "docs test adds BUILD=DIR/<arch> to its make commands")
    ap.add_argument("--transcript", metavar="FILE",
                    help="append every GDB session's commands and output to FILE")
    args = ap.parse_args(argv)
    global TRANSCRIPT
    TRANSCRIPT = args.transcript
    failed = 0
    for arch in args.arch:
        build = str(Path(args.build) / arch) if args.build else None
        for t in gdb_tests(arch, test.QemuTest, test.Failure, build):
            for r in test.run_qemu_test(t):
                print(r.line(), flush=True)
                for line in r.evidence if r.status == "FAIL" else ():
                    print("    " + line)
                failed += r.status == "FAIL"
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
