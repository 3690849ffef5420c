"""GDB commands for Weft: the kernel's own view of a stopped machine.

Loaded by scripts/debug.sh gdb (gdb-multiarch -x scripts/gdb/weft.py), with
the kernel ELF as GDB's symbol file and QEMU's GDB stub as the target. GDB
sees one thread per CPU; these commands add what the kernel knows:

    weft ps                      processes
    weft threads                 threads, with the context each one saved
    weft cpus                    what every CPU runs, and the big kernel lock
    weft lock                    the big kernel lock: holder, waiters, statistics
    weft ipc                     IPC endpoints and who waits on them
    weft pagewalk PID VA         walk a process's page table by hand
    weft bt TID                  backtrace of a thread that is not running
    weft switchtrace [N|off]     print every context switch
    weft touser                  run until a CPU enters user mode
    weft usersyms [PROGRAM]      load a user program's symbols

and loads a user program's symbols by itself whenever GDB stops in user
mode. `help weft <command>` has the details; docs/gdb.md the walk-through.

How kernel memory is read. QEMU's stub reads memory through the MMU of the
CPU GDB is looking at, with that CPU's privilege: a CPU stopped in user mode
cannot read kernel memory at all. So these commands switch the stub to
physical addresses while they run (QEMU's PhyMemMode) and translate kernel
addresses themselves: the direct map is KERNEL_VA_OFFSET + physical, kernel
stacks are found by walking the kernel's page table. Structures are read
whole and decoded with the kernel's own debug information, so the field
names below are the kernel's (kernel/include/proc.h, cpu.h, lock.h).

Everything here only reads: no command writes guest memory or registers.
"""

import os
import re

import gdb

# ---- What the kernel's headers say (scripts/gdbtests.py checks these
# against the headers, so they cannot drift apart) ----------------------

KSTACK_SIZE = 16 * 1024      # kernel/include/vm.h
PAGE_SHIFT = 12              # 4 KiB pages on both ports
PT_LEVELS = 3                # both MMUs walk three levels ...
PT_INDEX_BITS = 9            # ... of 512 eight-byte entries
PT_ENTRIES = 1 << PT_INDEX_BITS
DIRECT_MAP_SIZE = 64 << 30   # KSTACK_AREA = KERNEL_VA_OFFSET + 64 GiB
U64 = (1 << 64) - 1
MAX_FRAMES = 32              # a frame-pointer walk gives up after this many
RETURN_SEARCH_INSNS = 128    # trap_return's sret / exception_return's eret is within


class Port:
    """What differs between the two architectures."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


RISCV64 = Port(
    name="riscv64",
    kernel_va_offset=0xffffffc000000000,   # arch/riscv64/include/arch_types.h
    user_va_end=0x4000000000,
    frame_record_offset=-16,               # {caller fp, ra} just below fp
    arg_regs=("a0", "a1"),
    ctx_pc="ra",
    return_insn="sret",
    return_from="trap_return",
)
AARCH64 = Port(
    name="aarch64",
    kernel_va_offset=0xffffff8000000000,   # arch/aarch64/include/arch_types.h
    user_va_end=0x8000000000,
    frame_record_offset=0,                 # {caller fp, lr} at fp
    arg_regs=("x0", "x1"),
    ctx_pc="lr",
    return_insn="eret",
    return_from="exception_return",
)


def port():
    """The port of the program being debugged."""
    try:
        name = gdb.selected_inferior().architecture().name()
    except (gdb.error, AttributeError):
        name = gdb.selected_frame().architecture().name()
    if name.startswith("riscv"):
        return RISCV64
    if name.startswith("aarch64"):
        return AARCH64
    raise gdb.GdbError(f"weft: unknown architecture {name!r} "
                       "(expected riscv:rv64 or aarch64)")


def u64(value):
    return int(value) & U64


def ctx_fp(p, ctx):
    """The frame pointer a thread saved: s0 on RISC-V, x29 on AArch64."""
    return u64(ctx["s"][0]) if p is RISCV64 else u64(ctx["fp"])


# ---- Symbols -------------------------------------------------------------

def symbol_address(name):
    """Address of a kernel variable or function, global or file-static, or
    of a label of the symbol table alone (assembly, the linker script)."""
    sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if sym is not None:
        return u64(sym.value().address)
    try:
        return u64(gdb.parse_and_eval(f"(unsigned long)&'{name}'"))
    except gdb.error:
        raise gdb.GdbError(f"weft: no symbol {name!r}: is the kernel's ELF loaded "
                           "(file build/<arch>/kernel.elf)?") from None


def lookup_type(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise gdb.GdbError(f"weft: no type {name!r} in the debug information") from None


def symbolize(pc, is_return=False):
    """'function+offset', innermost inlined function first, or '??'.
    A return address is looked up one byte back: after a call to a
    function that does not return it may already be the next function."""
    look = pc - 1 if is_return else pc
    try:
        block = gdb.block_for_pc(look)
    except RuntimeError:
        block = None
    names = []
    while block is not None:
        if block.function is not None:
            names.append((block.function.print_name, block.start))
        block = block.superblock
    if not names:
        return info_symbol(look, pc - look)
    outer, start = names[-1]
    text = f"{outer}+{pc - start:#x}"
    if len(names) > 1:
        text += " [inlined: " + " <- ".join(n for n, _ in names[:-1]) + "]"
    return text


def info_symbol(pc, extra=0):
    """'symbol+offset' of pc (+ extra bytes) from the symbol table alone
    (assembly routines have no debug blocks), or '??'."""
    try:
        out = gdb.execute(f"info symbol {pc:#x}", to_string=True)
    except gdb.error:
        return "??"
    m = re.match(r"(\S+)(?: \+ (\d+))? in section", out)
    if not m:
        return "??"
    return f"{m.group(1)}+{int(m.group(2) or 0) + extra:#x}"


def source_line(pc, is_return=False):
    sal = gdb.find_pc_line(pc - 1 if is_return else pc)
    if sal.symtab is None:
        return ""
    return f" at {sal.symtab.filename}:{sal.line}"


# ---- Reading kernel memory -----------------------------------------------

def _stub_packet(packet):
    try:
        out = gdb.execute(f"maintenance packet {packet}", to_string=True)
    except gdb.error:
        return None
    m = re.search(r'received: "(.*)"', out)
    return m.group(1) if m else None


class CpuLive:
    """One CPU as GDB sees it right now: its GDB thread and registers."""

    def __init__(self, thread, pc, sp, user, cpu_ptr):
        self.thread, self.pc, self.sp = thread, pc, sp
        self.user, self.cpu_ptr = user, cpu_ptr


def read_live_cpus(p):
    """The registers of every CPU (GDB thread), keyed by QEMU's CPU index.
    Reads registers only, never memory; restores GDB's selection."""
    inferior = gdb.selected_inferior()
    try:
        was_thread = gdb.selected_thread()
    except gdb.error:
        was_thread = None
    if was_thread is None:
        return {}
    try:
        was_level = gdb.selected_frame().level()
    except gdb.error:
        was_level = 0
    live = {}
    try:
        for thread in inferior.threads():
            thread.switch()
            frame = gdb.newest_frame()
            regs = {}
            for reg in ("pc", "sp", "priv", "tp", "sscratch", "cpsr", "TPIDR_EL1"):
                try:
                    regs[reg] = u64(frame.read_register(reg))
                except (ValueError, gdb.error):
                    pass
            if p is RISCV64:
                # sscratch holds the struct cpu while user code runs (and
                # in the few instructions around sret and trap entry where
                # tp is the user's); 0 in the kernel, where tp holds it.
                user = regs.get("priv", 1) == 0
                cpu_ptr = regs.get("sscratch") or regs.get("tp", 0)
            else:
                user = (regs.get("cpsr", 0x5) >> 2) & 3 == 0
                cpu_ptr = regs.get("TPIDR_EL1", 0)
            index = thread.ptid[1] - 1
            live[index] = CpuLive(thread, regs.get("pc", 0), regs.get("sp", 0),
                                  user, cpu_ptr)
    finally:
        was_thread.switch()
        if was_level:
            gdb.execute(f"frame {was_level}", to_string=True)
    return live


class Memory:
    """Reads kernel structures, whatever mode the CPUs are in.

        with Memory() as mem:
            cpu0 = mem.at(symbol_address("cpus"), lookup_type("struct cpu"))

    physical=True (the default) switches QEMU's stub to physical addresses
    for the duration and translates addresses here; physical=False reads
    through the selected CPU's MMU (fine when it is in the kernel, as at a
    kernel breakpoint). If the stub has no physical mode, reads are virtual.
    live=True first reads every CPU's registers (mem.live), which selects
    each GDB thread in turn: not allowed in a breakpoint's stop().
    """

    def __init__(self, physical=True, live=True):
        self.want_physical, self.want_live = physical, live

    def __enter__(self):
        self.port = port()
        self.inferior = gdb.selected_inferior()
        if self.inferior.pid == 0:
            raise gdb.GdbError("weft: no machine attached (make debug, then make gdb; "
                               "or target remote 127.0.0.1:PORT)")
        # Registers first: GDB must not look at code or stacks by physical address.
        self.live = read_live_cpus(self.port) if self.want_live else {}
        self.physical = self.want_physical and _stub_packet("Qqemu.PhyMemMode:1") == "OK"
        self._kernel_root = None
        self._pages = {}
        return self

    def __exit__(self, *exc):
        if self.physical:
            _stub_packet("Qqemu.PhyMemMode:0")
            # Anything GDB cached meanwhile was read by physical address.
            try:
                gdb.execute("maintenance flush dcache", to_string=True)
            except gdb.error:
                pass
        return False

    # -- addresses --

    def kernel_root(self):
        if self._kernel_root is None:
            self._kernel_root = self.u64(symbol_address("kernel_root_pa"))
        return self._kernel_root

    def to_phys(self, va):
        """Physical address of kernel virtual address va."""
        if not self.physical:
            return va
        off = self.port.kernel_va_offset
        if off <= va < off + DIRECT_MAP_SIZE:
            return va - off
        if va < off:
            raise gdb.MemoryError(f"weft: {va:#x} is not a kernel address")
        page = va >> PAGE_SHIFT
        if page not in self._pages:
            pa = translate(self, self.kernel_root(), va & ~0xfff)
            if pa is None:
                raise gdb.MemoryError(f"weft: kernel address {va:#x} is not mapped")
            self._pages[page] = pa
        return self._pages[page] | (va & 0xfff)

    # -- raw reads --

    def read_phys(self, pa, size):
        return bytes(self.inferior.read_memory(pa, size))

    def read(self, va, size):
        """size bytes at kernel virtual address va."""
        out = b""
        while size > 0:
            chunk = min(size, 0x1000 - (va & 0xfff))
            out += self.read_phys(self.to_phys(va), chunk)
            va, size = va + chunk, size - chunk
        return out

    def u64(self, va):
        return int.from_bytes(self.read(va, 8), "little")

    def phys_u64(self, pa):
        return int.from_bytes(self.read_phys(pa, 8), "little")

    # -- typed reads --

    def at(self, va, gdbtype):
        """The object of type gdbtype at va, read whole: a gdb.Value whose
        fields need no further reads (pointer fields still hold kernel
        addresses, to pass to at() again)."""
        gdbtype = gdbtype.strip_typedefs()
        return gdb.Value(self.read(va, gdbtype.sizeof), gdbtype)

    def var(self, name, typename=None):
        """A kernel variable's value."""
        sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
        if sym is None:
            raise gdb.GdbError(f"weft: no symbol {name!r}")
        gdbtype = lookup_type(typename) if typename else sym.type
        return self.at(u64(sym.value().address), gdbtype)


def char_array(value):
    """A char[N] field as a Python string, up to its NUL."""
    n = value.type.strip_typedefs().range()[1] + 1
    data = bytes(int(value[i]) & 0xff for i in range(n))
    return data.split(b"\0", 1)[0].decode(errors="replace")


# ---- Page tables ----------------------------------------------------------

def pt_index(va, level):
    return (va >> (PAGE_SHIFT + PT_INDEX_BITS * (PT_LEVELS - 1 - level))) & (PT_ENTRIES - 1)


def level_size(level):
    return 1 << (PAGE_SHIFT + PT_INDEX_BITS * (PT_LEVELS - 1 - level))


def size_name(size):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size >> shift} {unit}"
    return f"{size} B"


RISCV_PTE_BITS = ("V", "R", "W", "X", "U", "G", "A", "D")


def decode_riscv(pte, level):
    """(kind, address, flags) of a Sv39 entry: kind is 'invalid', 'table'
    or 'leaf'. V=valid; R/W/X all clear means a pointer to the next table;
    the physical page number sits at bit 10."""
    flags = " ".join(name for bit, name in enumerate(RISCV_PTE_BITS) if pte >> bit & 1)
    if not pte & 1:
        return "invalid", 0, flags or "-"
    addr = ((pte >> 10) & ((1 << 44) - 1)) << PAGE_SHIFT
    if pte & 0xe == 0:
        return ("table" if level < PT_LEVELS - 1 else "invalid"), addr, flags
    return "leaf", addr, flags


AARCH64_AP = {
    0: "EL1 read-write, EL0 none",
    1: "EL1 read-write, EL0 read-write",
    2: "EL1 read-only, EL0 none",
    3: "EL1 read-only, EL0 read-only",
}


def decode_aarch64(pte, level):
    """(kind, address, flags) of a 4 KiB-granule descriptor: bits[1:0] are
    0b11 for a table (levels 1-2 of the walk) or a page (last level), 0b01
    for a block; the output address is bits 47:12."""
    addr = pte & 0x0000fffffffff000
    low = pte & 3
    if low == 3 and level < PT_LEVELS - 1:
        return "table", addr, "table"
    if low == 1 and level == PT_LEVELS - 1 or low in (0, 2):
        return "invalid", 0, "-"
    ap = pte >> 6 & 3
    flags = [f"AP={ap:02b} ({AARCH64_AP[ap]})",
             f"UXN={pte >> 54 & 1}", f"PXN={pte >> 53 & 1}",
             f"AF={pte >> 10 & 1}", f"nG={pte >> 11 & 1}",
             f"SH={pte >> 8 & 3}", f"AttrIndx={pte >> 2 & 7}"]
    return "leaf", addr & ~(level_size(level) - 1), " ".join(flags)


def level_name(p, level):
    """A walk step as each architecture numbers it: Sv39 counts levels
    down from 2 to 0, Arm's 39-bit walk goes from level 1 to level 3."""
    return f"level {PT_LEVELS - 1 - level}" if p is RISCV64 else f"level {level + 1}"


def decode_pte(p, pte, level):
    return (decode_riscv if p is RISCV64 else decode_aarch64)(pte, level)


def walk(mem, root_pa, va):
    """The entries a hardware walk of va reads, from the root table at
    root_pa: a list of (level, index, entry address, pte, kind, address,
    flags); the walk ends at a leaf or an invalid entry."""
    steps, table = [], root_pa
    for level in range(PT_LEVELS):
        index = pt_index(va, level)
        entry_pa = table + 8 * index
        pte = mem.phys_u64(entry_pa)
        kind, addr, flags = decode_pte(mem.port, pte, level)
        steps.append((level, index, entry_pa, pte, kind, addr, flags))
        if kind != "table":
            break
        table = addr
    return steps


def translate(mem, root_pa, va):
    """Physical address of va under the table at root_pa, or None."""
    steps = walk(mem, root_pa, va)
    level, _, _, _, kind, addr, _ = steps[-1]
    if kind != "leaf":
        return None
    return addr | (va & (level_size(level) - 1))


# ---- The kernel's objects --------------------------------------------------

class Cpu:
    def __init__(self, index, addr, value):
        self.index, self.addr, self.v = index, addr, value
        self.id = int(value["id"])


class Thread:
    """A struct thread: addr is its kernel address (also &thread->ctx)."""

    def __init__(self, addr, value, proc=None, cpu=None):
        self.addr, self.v, self.proc = addr, value, proc
        self.idle_of = cpu   # the CPU whose idle thread this is
        self.tid = int(value["tid"]) if proc is not None else 0
        self.name = proc.name if proc is not None else "idle"
        self.pid = proc.pid if proc is not None else None

    def state(self):
        if self.idle_of is not None:   # its state field stays "running"
            return "running" if u64(self.idle_of.v["current"]) == self.addr else "idle"
        return str(self.v["state"]).replace("THREAD_", "").lower()

    def label(self):
        return f"tid {self.tid} ({self.name})"

    def stack_range(self):
        top = u64(self.v["kstack_top"])
        return top - KSTACK_SIZE, top


class Process:
    def __init__(self, addr, value):
        self.addr, self.v = addr, value
        self.pid = int(value["pid"])
        self.name = char_array(value["name"])


class Kernel:
    """A snapshot of the kernel's CPUs, processes and threads."""

    def __init__(self, mem):
        self.mem = mem
        self.cpu_type = lookup_type("struct cpu")
        self.thread_type = lookup_type("struct thread")
        self.process_type = lookup_type("struct process")
        base = symbol_address("cpus")
        ncpus = int(mem.var("ncpus"))
        self.cpus = [Cpu(i, base + i * self.cpu_type.sizeof,
                         mem.at(base + i * self.cpu_type.sizeof, self.cpu_type))
                     for i in range(max(ncpus, 0))]
        self.cpus_base = base
        self.processes = []
        self.threads = []
        seen = set()
        addr = u64(mem.var("processes"))
        while addr and addr not in seen and len(seen) < 4096:
            seen.add(addr)
            p = Process(addr, mem.at(addr, self.process_type))
            self.processes.append(p)
            addr = u64(p.v["next"])
        for p in self.processes:
            p.threads = self._thread_list(p, p.v["threads"])
            p.exited = self._thread_list(p, p.v["exited"])
            self.threads += p.threads + p.exited
        idle_offset = self._field_offset(self.cpu_type, "idle")
        for c in self.cpus:
            addr = c.addr + idle_offset
            self.threads.append(Thread(addr, c.v["idle"], None, c))
        self.by_addr = {t.addr: t for t in self.threads}

    @staticmethod
    def _field_offset(gdbtype, name):
        for f in gdbtype.strip_typedefs().fields():
            if f.name == name:
                return f.bitpos // 8
        raise gdb.GdbError(f"weft: {gdbtype} has no field {name}")

    def _thread_list(self, p, head):
        out, addr, seen = [], u64(head), set()
        while addr and addr not in seen and len(seen) < 4096:
            seen.add(addr)
            t = Thread(addr, self.mem.at(addr, self.thread_type), p)
            out.append(t)
            addr = u64(t.v["proc_next"])
        return out

    def thread(self, addr):
        """The thread at addr, reading it if no list holds it."""
        addr = u64(addr)
        if addr in self.by_addr:
            return self.by_addr[addr]
        v = self.mem.at(addr, self.thread_type)
        proc_addr = u64(v["proc"])
        proc = next((p for p in self.processes if p.addr == proc_addr), None)
        if proc is None and proc_addr:
            proc = Process(proc_addr, self.mem.at(proc_addr, self.process_type))
        cpu = None
        if not proc_addr:
            cpu = next((c for c in self.cpus if c.addr + self._field_offset(
                self.cpu_type, "idle") == addr), None)
        t = Thread(addr, v, proc, cpu)
        self.by_addr[addr] = t
        return t

    def thread_by_tid(self, tid):
        found = [t for t in self.threads if t.proc is not None and t.tid == tid]
        if not found:
            raise gdb.GdbError(f"weft: no thread with tid {tid} (see weft threads)")
        return found[0]

    def process_by_pid(self, pid):
        for p in self.processes:
            if p.pid == pid:
                return p
        raise gdb.GdbError(f"weft: no process with pid {pid} (see weft ps)")

    def cpu_of_pointer(self, ptr):
        """The Cpu a struct cpu pointer names, or None."""
        size = self.cpu_type.sizeof
        if ptr < self.cpus_base or (ptr - self.cpus_base) % size:
            return None
        index = (ptr - self.cpus_base) // size
        return self.cpus[index] if index < len(self.cpus) else None

    def live_cpu(self, c):
        """The CpuLive (GDB thread and registers) of Cpu c, or None. The
        per-CPU register (tp/sscratch, TPIDR_EL1) says which struct cpu a
        CPU is; before it is set, the hardware id must match QEMU's index."""
        for live in self.mem.live.values():
            if live.cpu_ptr == c.addr:
                return live
        for index, live in self.mem.live.items():
            if self.cpu_of_pointer(live.cpu_ptr) is None and index == int(c.v["hwid"]):
                return live
        return None

    def current(self, c):
        return self.thread(c.v["current"])

    def live_thread(self, t):
        """(Cpu, CpuLive) if t's registers are live on a CPU now: it is
        that CPU's current thread in user mode, or the CPU's sp lies in
        t's kernel stack (mid-switch, that decides whose registers they
        are)."""
        lo, hi = t.stack_range()
        for c in self.cpus:
            live = self.live_cpu(c)
            if live is None:
                continue
            if live.user and u64(c.v["current"]) == t.addr:
                return c, live
            if not live.user and lo <= live.sp <= hi:
                return c, live
        return None


def threads_on_cpu(k, t):
    """'cpu N' if t is some CPU's current thread, else ''."""
    for c in k.cpus:
        if u64(c.v["current"]) == t.addr:
            return f"cpu {c.id}"
    return ""


# ---- Commands --------------------------------------------------------------

class WeftPrefix(gdb.Command):
    """Weft kernel commands: processes, threads, CPUs, the lock, IPC, page tables.

Type "help weft <command>" for each. They read the kernel's structures
from a stopped machine (any CPU, in user mode or in the kernel) and
never change it. See docs/gdb.md."""

    def __init__(self):
        super().__init__("weft", gdb.COMMAND_USER, gdb.COMPLETE_NONE, True)


def parse_int(text, what):
    try:
        return u64(gdb.parse_and_eval(text))
    except gdb.error as e:
        raise gdb.GdbError(f"weft: bad {what} {text!r}: {e}") from None


class WeftPs(gdb.Command):
    """List the processes: pid, parent, state, threads and name.

Usage: weft ps

STATE is alive, dying (exit, kill or a fault happened; its threads are
leaving) or zombie (ended, waiting for its parent's wait). THREADS lists
the tids of its live threads; exited ones not yet joined are in brackets."""

    def __init__(self):
        super().__init__("weft ps", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        with Memory() as mem:
            k = Kernel(mem)
            print(f"{'PID':>5} {'PPID':>5}  {'STATE':<7} {'THREADS':<16} NAME")
            for p in sorted(k.processes, key=lambda p: p.pid):
                parent = u64(p.v["parent"])
                ppid = next((q.pid for q in k.processes if q.addr == parent), 0)
                state = str(p.v["state"]).replace("PROCESS_", "").lower()
                if state == "alive" and bool(p.v["dying"]):
                    state = "dying"
                tids = ",".join(str(t.tid) for t in p.threads)
                if p.exited:
                    tids += " [" + ",".join(str(t.tid) for t in p.exited) + "]"
                print(f"{p.pid:>5} {ppid:>5}  {state:<7} {tids or '-':<16} {p.name}")


class WeftThreads(gdb.Command):
    """List the threads: tid, process, state, CPU, and the context each saved.

Usage: weft threads

SAVED PC and SAVED SP come from the thread's struct arch_context (ctx), the
registers arch_context_switch stored when the thread last gave up its CPU:
the PC is the return address into switch_to (or thread_trampoline for a
thread that never ran). For a thread that runs now (ON shows its CPU) they
are stale: use "thread N" and "bt" with N from "weft cpus". Idle threads
(one per CPU) have tid 0."""

    def __init__(self):
        super().__init__("weft threads", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        with Memory() as mem:
            k = Kernel(mem)
            p = mem.port
            print(f"{'TID':>5} {'PID':>5}  {'NAME':<12} {'STATE':<9} {'CPU':>3}  "
                  f"{'ON':<6} {'SAVED PC':<18} {'SAVED SP':<18} WHERE")
            for t in k.threads:
                ctx = t.v["ctx"]
                pc, sp = u64(ctx[p.ctx_pc]), u64(ctx["sp"])
                pid = "-" if t.pid is None else str(t.pid)
                where = symbolize(pc, is_return=True) if pc else "-"
                cpu = t.idle_of.id if t.idle_of else int(t.v["cpu"])
                print(f"{t.tid:>5} {pid:>5}  {t.name:<12} {t.state():<9} {cpu:>3}  "
                      f"{threads_on_cpu(k, t):<6} {pc:#018x} {sp:#018x} {where}")


def bkl_spinning(live):
    """Whether a CPU's PC is in the lock's wait loop."""
    if live is None or live.user:
        return False
    name = symbolize(live.pc)
    return any(f in name for f in ("lock_wait", "spin_lock", "bkl_acquire"))


def bkl_napping(mem, cpu_id):
    """Whether a CPU waiting for the lock naps in wfi (lock.c's bkl_nappers)."""
    return bool(u64(mem.var("bkl_nappers")) >> cpu_id & 1)


class WeftCpus(gdb.Command):
    """Show every CPU: what it runs, its mode, and the big kernel lock.

Usage: weft cpus

GDB shows one thread per CPU; the GDB column is that thread's number
("thread N" selects the CPU). CURRENT is cpus[i].current, MODE whether the
CPU is in user mode or in the kernel, BKL "holds" for the CPU in
big_kernel_lock.holder, "spins" for a CPU waiting in the ticket loop and
"naps" for one that waits asleep in wfi until the holder wakes it.
The last line counts the tickets: next - serving = holder + waiters."""

    def __init__(self):
        super().__init__("weft cpus", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        with Memory() as mem:
            k = Kernel(mem)
            lock = mem.var("big_kernel_lock")
            holder = int(lock["holder"])
            print(f"{'CPU':>3} {'HWID':>5} {'GDB':>4}  {'ONLINE':<6} {'CURRENT':<22} "
                  f"{'MODE':<6} {'BKL':<6} PC")
            for c in k.cpus:
                live = k.live_cpu(c)
                cur = k.current(c) if u64(c.v["current"]) else None
                current = cur.label() if cur and cur.proc else "idle" if cur else "-"
                bkl = ("holds" if holder == c.id else "naps" if bkl_napping(mem, c.id)
                       else "spins" if bkl_spinning(live) else "-")
                if live:
                    gdbnum, mode = str(live.thread.num), "user" if live.user else "kernel"
                    where = f"{live.pc:#x} {symbolize(live.pc)}"
                else:
                    gdbnum, mode, where = "?", "?", "?"
                online = "yes" if bool(c.v["online"]) else "no"
                print(f"{c.id:>3} {int(c.v['hwid']):>5} {gdbnum:>4}  {online:<6} "
                      f"{current:<22} {mode:<6} {bkl:<6} {where}")
            print(ticket_summary(lock))


def ticket_summary(lock):
    nxt, serving, holder = int(lock["next"]), int(lock["serving"]), int(lock["holder"])
    held = 1 if holder >= 0 else 0
    waiting = ((nxt - serving) & 0xffffffff) - held
    who = f"held by cpu {holder}" if held else "free"
    return (f"big kernel lock: next ticket {nxt}, serving {serving}: {who}, "
            f"{max(waiting, 0)} waiting")


class WeftLock(gdb.Command):
    """Show the big kernel lock: holder, where it was taken, waiters, statistics.

Usage: weft lock

The BKL is a ticket lock (kernel/lock.c): a CPU takes ticket `next` and
spins until `serving` reaches it. So next - serving counts the holder and
the CPUs waiting behind it. The holder PC is where it was taken (bkl_acquire is inline there).
The statistics are cpus[i].bkl_stats, in timer counter units (the time
base, e.g. 10 MHz on QEMU's RISC-V virt board, 62.5 MHz on Arm)."""

    def __init__(self):
        super().__init__("weft lock", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        with Memory() as mem:
            k = Kernel(mem)
            lock = mem.var("big_kernel_lock")
            holder = int(lock["holder"])
            print(ticket_summary(lock))
            if holder >= 0:
                c = next((c for c in k.cpus if c.id == holder), None)
                cur = k.current(c) if c is not None else None
                who = f" running {cur.label()}" if cur and cur.proc else " (idle)"
                pc = u64(lock["holder_pc"])
                print(f"  holder: cpu {holder}{who if cur else ''}")
                print(f"  taken at {pc:#x} {symbolize(pc)}"
                      f"{source_line(pc)}, at time {int(lock['since'])}")
            spinning = [c.id for c in k.cpus if bkl_spinning(k.live_cpu(c))
                        and c.id != holder]
            if spinning:
                print("  spinning now: " + ", ".join(f"cpu {i}" for i in spinning))
            print(f"  {'CPU':>3} {'ACQUIRED':>10} {'CONTENDED':>10} {'SPIN':>12} "
                  f"{'HELD':>12} {'MAX HOLD':>10}")
            for c in k.cpus:
                s = c.v["bkl_stats"]
                print(f"  {c.id:>3} {int(s['acquired']):>10} {int(s['contended']):>10} "
                      f"{int(s['spin_ticks']):>12} {int(s['held_ticks']):>12} "
                      f"{int(s['max_hold']):>10}")


def waitq_threads(k, q):
    out, addr, seen = [], u64(q["head"]), set()
    while addr and addr not in seen and len(seen) < 4096:
        seen.add(addr)
        t = k.thread(addr)
        out.append(t)
        addr = u64(t.v["next"])
    return out


class WeftIpc(gdb.Command):
    """List the IPC endpoints, who waits on them, and calls in progress.

Usage: weft ipc

One line per endpoint in the kernel's list (kernel/ipc.c `endpoints`):
its address, the process that created it (it dies with that process),
references, whether it is dead, the threads blocked sending (a call or a
send, message parked) and receiving. Then the name registry, and every
caller waiting for a reply, with the server thread that owes it."""

    def __init__(self):
        super().__init__("weft ipc", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        with Memory() as mem:
            k = Kernel(mem)
            ep_type = lookup_type("struct endpoint")
            print(f"{'ENDPOINT':<18} {'OWNER':<16} {'REFS':>4}  {'STATE':<5} "
                  f"{'SENDERS':<24} RECEIVERS")
            addr, seen, names = u64(mem.var("endpoints")), set(), {}
            while addr and addr not in seen and len(seen) < 4096:
                seen.add(addr)
                ep = mem.at(addr, ep_type)
                owner_addr = u64(ep["owner"])
                owner = next((p for p in k.processes if p.addr == owner_addr), None)
                owner_text = f"{owner.pid} ({owner.name})" if owner else f"{owner_addr:#x}"
                senders = [f"{t.tid}({'call' if bool(t.v['ipc_is_call']) else 'send'})"
                           for t in waitq_threads(k, ep["senders"])]
                receivers = [str(t.tid) for t in waitq_threads(k, ep["receivers"])]
                state = "dead" if bool(ep["dead"]) else "alive"
                print(f"{addr:#018x} {owner_text:<16} {int(ep['obj']['refs']):>4}  "
                      f"{state:<5} {'tid ' + ','.join(senders) if senders else '-':<24} "
                      f"{'tid ' + ','.join(receivers) if receivers else '-'}")
                names[addr] = owner_text
                addr = u64(ep["next"])
            if not seen:
                print("(no endpoints)")
            registry = mem.var("registry")
            lo, hi = registry.type.strip_typedefs().range()
            for i in range(lo, hi + 1):
                ep = u64(registry[i]["ep"])
                if ep:
                    print(f"registry: {char_array(registry[i]['name'])!r} -> endpoint {ep:#x}")
            for t in k.threads:
                server = u64(t.v["served_by"])
                if server and not bool(t.v["reply_ready"]):
                    print(f"call: {t.label()} waits for the reply of "
                          f"{k.thread(server).label()}")


class WeftPagewalk(gdb.Command):
    """Walk a process's page table for one virtual address, level by level.

Usage: weft pagewalk PID VA       (PID 0: the kernel's own table)

Starts at the process's root table (process->as->root), takes 9 bits of
VA per level (3 levels of 512 entries, 4 KiB pages) and decodes each
entry the way the MMU does: a RISC-V Sv39 PTE (V R W X U G A D bits,
physical page number at bit 10) or an AArch64 descriptor (bits[1:0]
table/block/page, address bits 47:12, AP, UXN, PXN). Tables are read by
physical address; the kernel reaches them at KERNEL_VA_OFFSET + pa.
On AArch64 the kernel half is TTBR1's table, not the process's."""

    def __init__(self):
        super().__init__("weft pagewalk", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if len(argv) != 2:
            raise gdb.GdbError("usage: weft pagewalk PID VA")
        pid = parse_int(argv[0], "pid")
        va = parse_int(argv[1], "address")
        with Memory() as mem:
            p = mem.port
            if not mem.physical:
                raise gdb.GdbError("weft: the stub has no physical-memory mode")
            if pid == 0:
                root = mem.kernel_root()
                print(f"kernel page table: root at pa {root:#x}, va {va:#x}")
            else:
                k = Kernel(mem)
                proc = k.process_by_pid(pid)
                as_ptr = u64(proc.v["as"])
                if not as_ptr:
                    raise gdb.GdbError(f"weft: pid {pid} has no address space (a zombie)")
                aspace = mem.at(as_ptr, lookup_type("struct address_space"))
                root = mem.to_phys(u64(aspace["root"]))
                print(f"pid {pid} ({proc.name}): root table at pa {root:#x} "
                      f"(asid {int(aspace['asid'])}), va {va:#x}")
            steps = walk(mem, root, va)
            for level, index, entry_pa, pte, kind, addr, flags in steps:
                if kind == "table":
                    what = f"table at pa {addr:#x}"
                elif kind == "leaf":
                    what = f"{size_name(level_size(level))} page at pa {addr:#x}: {flags}"
                else:
                    what = "invalid"
                print(f"  {level_name(p, level)} [{index:3}] pte {pte:#018x} "
                      f"at pa {entry_pa:#x}: {what}")
            level, kind, addr = steps[-1][0], steps[-1][4], steps[-1][5]
            if kind == "leaf":
                pa = addr | (va & (level_size(level) - 1))
                print(f"va {va:#x} -> pa {pa:#x} (kernel va {pa + p.kernel_va_offset:#x})")
            else:
                print(f"va {va:#x} is not mapped")


def frame_walk(mem, t):
    """[(pc, fp)] from a thread's saved context by its frame records."""
    p = mem.port
    ctx = t.v["ctx"]
    pc, fp = u64(ctx[p.ctx_pc]), ctx_fp(p, ctx)
    lo, hi = t.stack_range()
    text_lo, text_hi = symbol_address("__kernel_start"), symbol_address("__text_end")
    frames = []
    while len(frames) < MAX_FRAMES and text_lo <= pc < text_hi:
        frames.append((pc, fp))
        record = fp + p.frame_record_offset
        if not lo <= record <= hi - 16 or record & 7:
            break
        try:
            caller_fp, ra = mem.u64(record), mem.u64(record + 8)
        except gdb.MemoryError:
            break
        if caller_fp <= fp and caller_fp != 0:
            break   # frames go up the stack; anything else is not a record
        pc, fp = ra, caller_fp
    return frames


def user_pc_of(mem, t):
    """The user PC saved in a thread's trap frame, or None."""
    if t.proc is None:
        return None
    tf_addr = u64(t.v["tf"])
    if not tf_addr:
        return None
    tf = mem.at(tf_addr, lookup_type("struct trap_frame"))
    return u64(tf["sepc"] if mem.port is RISCV64 else tf["elr"])


class WeftBt(gdb.Command):
    """Backtrace of a thread from the context it saved when it switched out.

Usage: weft bt TID       (TID 0: an idle thread; then give its CPU: weft bt 0 CPU)

A thread that is not running left its callee-saved registers in
thread->ctx. The walk starts there (PC = ctx.ra on RISC-V, ctx.lr on
AArch64; frame pointer = ctx.s[0] / ctx.fp) and follows the frame records
the compiler keeps with -fno-omit-frame-pointer: {caller's fp, return
address}, 16 bytes below fp on RISC-V and at fp on AArch64. The user PC
of the thread's trap frame ends the list. A thread whose registers are
live on a CPU gets GDB's own backtrace of that CPU instead."""

    def __init__(self):
        super().__init__("weft bt", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError("usage: weft bt TID")
        tid = int(parse_int(argv[0], "tid"))
        live_thread = None
        with Memory() as mem:
            k = Kernel(mem)
            if tid == 0:
                cpu = int(parse_int(argv[1], "cpu")) if len(argv) > 1 else 0
                c = next((c for c in k.cpus if c.id == cpu), None)
                if c is None:
                    raise gdb.GdbError(f"weft: no cpu {cpu}")
                t = next(t for t in k.threads if t.idle_of is c)
            else:
                t = k.thread_by_tid(tid)
            on = k.live_thread(t)
            if on is not None:
                c, live = on
                print(f"{t.label()} is live on cpu {c.id} (GDB thread {live.thread.num}):")
                live_thread = live.thread
            else:
                print(f"{t.label()}, {t.state()}, from its saved context:")
                frames = frame_walk(mem, t)
                for i, (pc, fp) in enumerate(frames):
                    print(f"#{i:<2} {pc:#018x} in {symbolize(pc, is_return=True)}"
                          f"{source_line(pc, is_return=True)}")
                upc = user_pc_of(mem, t)
                if upc is not None and t.state() != "dead":
                    print(f"user pc {upc:#x} in {t.name} (the trap frame; "
                          f"weft usersyms {t.name} names it)")
        if live_thread is not None:
            was = gdb.selected_thread()
            live_thread.switch()
            try:
                gdb.execute("bt")
            finally:
                was.switch()


# ---- Context switch trace -----------------------------------------------

class SwitchTraceBreakpoint(gdb.Breakpoint):
    """At arch_context_switch: print the switch and carry on."""

    def __init__(self, limit):
        super().__init__("arch_context_switch", internal=True)
        self.limit, self.count = limit, 0

    def stop(self):
        p = port()
        frame = gdb.newest_frame()
        prev_addr = u64(frame.read_register(p.arg_regs[0]))
        next_addr = u64(frame.read_register(p.arg_regs[1]))
        # The CPU is in the kernel here: plain virtual reads work.
        with Memory(physical=False, live=False) as mem:
            t_type = lookup_type("struct thread")
            prev = Thread(prev_addr, mem.at(prev_addr, t_type))
            nxt = Thread(next_addr, mem.at(next_addr, t_type))
            for t in (prev, nxt):
                proc = u64(t.v["proc"])
                if proc:
                    t.proc = Process(proc, mem.at(proc, lookup_type("struct process")))
                    t.tid, t.name, t.pid = int(t.v["tid"]), t.proc.name, t.proc.pid
        # switch_to set next->cpu to this CPU before calling.
        print(f"cpu {int(nxt.v['cpu'])}: {prev.label()} -> {nxt.label()}")
        self.count += 1
        if self.limit and self.count >= self.limit:
            print(f"weft switchtrace: {self.count} switches, stopped")
            return True
        return False


class WeftSwitchtrace(gdb.Command):
    """Print every context switch: "cpu C: tid A (prog) -> tid B (prog)".

Usage: weft switchtrace [N]     trace, and stop after N switches
       weft switchtrace off     stop tracing

Sets a breakpoint on arch_context_switch(&prev->ctx, &next->ctx) that
reads its two arguments (a0/a1 on RISC-V, x0/x1 on AArch64; ctx is the
first member of struct thread, so they point at the threads), prints one
line and lets the CPU continue. "continue" then runs with the trace on.
An idle thread shows as "tid 0 (idle)"."""

    def __init__(self):
        super().__init__("weft switchtrace", gdb.COMMAND_USER)
        self.bp = None

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if self.bp is not None and self.bp.is_valid():
            self.bp.delete()
        self.bp = None
        if arg == "off":
            print("weft switchtrace: off")
            return
        limit = int(parse_int(arg, "count")) if arg else 0
        self.bp = SwitchTraceBreakpoint(limit)
        print("weft switchtrace: on" + (f", stopping after {limit} switches" if limit else "")
              + ' ("continue" to run)')


# ---- User mode ----------------------------------------------------------------

def user_dir():
    """Where the unstripped user programs are: next to the kernel's ELF,
    in user/ ($(BUILD)/user/<name>)."""
    sym = gdb.lookup_global_symbol("kernel_main")
    if sym is None or sym.symtab is None:
        raise gdb.GdbError("weft: the kernel's symbols are not loaded")
    return os.path.join(os.path.dirname(sym.symtab.objfile.filename), "user")


class UserSymbols:
    """The one user program whose symbols are loaded. All programs are
    linked at the same address, so only one can be loaded at a time."""

    def __init__(self):
        self.path = None
        self.auto = True

    def load(self, program, quiet=False):
        path = program if os.sep in program else os.path.join(user_dir(), program)
        if not os.path.isfile(path):
            raise gdb.GdbError(f"weft: no user program {path} (is it built?)")
        if self.path == path and any(o.filename == path for o in gdb.objfiles()):
            return False
        confirm = gdb.parameter("confirm")
        gdb.execute("set confirm off", to_string=True)
        try:
            for objfile in gdb.objfiles():
                if self.path and objfile.filename == self.path:
                    gdb.execute(f"remove-symbol-file {self.path}", to_string=True)
                    break
            gdb.execute(f"add-symbol-file {path}", to_string=True)
        finally:
            gdb.execute(f"set confirm {'on' if confirm else 'off'}", to_string=True)
        self.path = path
        if not quiet:
            print(f"weft: symbols of user program {os.path.basename(path)} loaded ({path})")
        return True


USER_SYMBOLS = UserSymbols()


def running_program(mem, k):
    """(program name, pid) of the process on the selected CPU, or None."""
    try:
        thread = gdb.selected_thread()
    except gdb.error:
        return None
    if thread is None:
        return None
    live = mem.live.get(thread.ptid[1] - 1)
    if live is None:
        return None
    c = k.cpu_of_pointer(live.cpu_ptr)
    if c is None:
        return None
    t = k.current(c)
    if t.proc is None:
        return None
    return t.proc.name, t.proc.pid


def on_stop(event):
    """Stopped in user mode: load the symbols of the program running there."""
    if not USER_SYMBOLS.auto:
        return
    try:
        p = port()
        thread = gdb.selected_thread()
        if thread is None:
            return
        frame = gdb.newest_frame()
        if p is RISCV64:
            user = u64(frame.read_register("priv")) == 0
        else:
            user = (u64(frame.read_register("cpsr")) >> 2) & 3 == 0
        if not user or u64(frame.read_register("pc")) >= p.user_va_end:
            return
        with Memory() as mem:
            found = running_program(mem, Kernel(mem))
        if found is None:
            return
        name, pid = found
        if USER_SYMBOLS.load(name, quiet=True):
            print(f"weft: in user mode, pid {pid} ({name}): loaded its symbols")
    except (gdb.error, gdb.GdbError, gdb.MemoryError, ValueError) as e:
        print(f"weft: could not load user symbols: {e}")


class WeftUsersyms(gdb.Command):
    """Load the symbols of a user program, replacing the previous one.

Usage: weft usersyms PROGRAM      e.g. weft usersyms pingpong
       weft usersyms              the program running on the selected CPU
       weft usersyms auto|manual  load them by itself at every stop in user mode (default: auto)

The unstripped programs are in $(BUILD)/user/<name>, next to kernel.elf.
All are linked at the same address, so GDB holds one at a time; with
"auto", a stop in user mode loads the program of the process that runs on
the CPU GDB is looking at. Breakpoints in user code are by address: they
stop any process whose code has that address."""

    def __init__(self):
        super().__init__("weft usersyms", gdb.COMMAND_USER, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg in ("auto", "manual"):
            USER_SYMBOLS.auto = arg == "auto"
            print(f"weft usersyms: {arg}")
            return
        if not arg:
            with Memory() as mem:
                found = running_program(mem, Kernel(mem))
            if found is None:
                raise gdb.GdbError("weft: no process runs on the selected CPU")
            arg = found[0]
        if not USER_SYMBOLS.load(arg):
            print(f"weft: symbols of {os.path.basename(USER_SYMBOLS.path)} already loaded")


def find_insn(routine, mnemonic):
    """Address of the first `mnemonic` instruction from symbol `routine`,
    or None. The code is read from the ELF file: a CPU stopped in user
    mode cannot read kernel memory."""
    arch = gdb.selected_inferior().architecture()
    trust = gdb.parameter("trust-readonly-sections")
    gdb.execute("set trust-readonly-sections on", to_string=True)
    try:
        pc = symbol_address(routine)
        for _ in range(RETURN_SEARCH_INSNS):
            insn = arch.disassemble(pc)[0]
            if insn["asm"].split()[0] == mnemonic:
                return pc
            pc += insn["length"]
    finally:
        gdb.execute(f"set trust-readonly-sections {'on' if trust else 'off'}",
                    to_string=True)
    return None


class WeftTouser(gdb.Command):
    """Run until a CPU returns to user mode; stop at its first user instruction.

Usage: weft touser

Stops at the kernel's return instruction (sret in trap_return on RISC-V,
eret in exception_return on AArch64) until one returns to user mode (the
saved mode in sstatus.SPP / SPSR_EL1 says so), then runs to the address it
returns to (sepc / ELR_EL1). The user program's symbols load by
themselves, so "bt" then shows user functions."""

    def __init__(self):
        super().__init__("weft touser", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        p = port()
        ret = find_insn(p.return_from, p.return_insn)
        if ret is None:
            raise gdb.GdbError(f"weft: no {p.return_insn} in {p.return_from}")
        for _ in range(1000):
            bp = gdb.Breakpoint(f"*{ret:#x}", internal=True, temporary=True)
            try:
                gdb.execute("continue", to_string=True)
            finally:
                if bp.is_valid():
                    bp.delete()
            frame = gdb.newest_frame()
            if u64(frame.read_register("pc")) != ret:
                print("weft touser: stopped elsewhere")
                return
            if p is RISCV64:
                to_user = (u64(frame.read_register("sstatus")) >> 8) & 1 == 0
                target = u64(frame.read_register("sepc"))
            else:
                to_user = u64(frame.read_register("SPSR_EL1")) & 0xf == 0
                target = u64(frame.read_register("ELR_EL1"))
            if to_user:
                break
        else:
            raise gdb.GdbError("weft touser: no return to user mode")
        # Its program's symbols now, so that the stop already shows them.
        with Memory() as mem:
            found = running_program(mem, Kernel(mem))
        if found is not None:
            USER_SYMBOLS.load(found[0], quiet=True)
            print(f"weft touser: pid {found[1]} ({found[0]}) returns to user "
                  f"mode at {target:#x}; its symbols are loaded")
        bp = gdb.Breakpoint(f"*{target:#x}", internal=True, temporary=True)
        try:
            gdb.execute("continue")
        finally:
            if bp.is_valid():
                bp.delete()


def register():
    WeftPrefix()
    WeftPs()
    WeftThreads()
    WeftCpus()
    WeftLock()
    WeftIpc()
    WeftPagewalk()
    WeftBt()
    WeftSwitchtrace()
    WeftTouser()
    WeftUsersyms()
    gdb.events.stop.connect(on_stop)


register()
