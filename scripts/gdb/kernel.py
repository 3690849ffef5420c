"""The kernel's objects: CPUs, processes, threads and the big kernel lock.

A Kernel is a snapshot of struct cpu cpus[], the process list and each
process's threads, read through a Memory (memory.py). The field names are
the kernel's own (kernel/include/cpu.h, proc.h, lock.h), decoded with its
debug information.
"""

import gdb

from memory import char_array
from target import (RISCV64, ctx_fp, kernel_constants, lookup_type, symbol_address,
                    symbolize, u64)

MAX_FRAMES = 32   # a frame-pointer walk gives up after this many


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
        return top - kernel_constants().KSTACK_SIZE, top


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


# ---- The big kernel lock -------------------------------------------------

def bkl_spinning(live):
    """Whether a CPU's PC is in the lock's wait loop."""
    if live is None or live.user:
        return False
    name = symbolize(live.pc)
    return any(f in name for f in ("lock_wait", "spin_lock", "bkl_acquire"))


def bkl_napping(mem, cpu_id):
    """Whether a CPU waiting for the lock naps in wfi (lock.c's bkl_nappers)."""
    return bool(u64(mem.var("bkl_nappers")) >> cpu_id & 1)


def ticket_summary(lock):
    nxt, serving, holder = int(lock["next"]), int(lock["serving"]), int(lock["holder"])
    held = 1 if holder >= 0 else 0
    waiting = ((nxt - serving) & 0xffffffff) - held
    who = f"held by cpu {holder}" if held else "free"
    return (f"big kernel lock: next ticket {nxt}, serving {serving}: {who}, "
            f"{max(waiting, 0)} waiting")


# ---- Threads' stacks and wait queues -------------------------------------

def waitq_threads(k, q):
    out, addr, seen = [], u64(q["head"]), set()
    while addr and addr not in seen and len(seen) < 4096:
        seen.add(addr)
        t = k.thread(addr)
        out.append(t)
        addr = u64(t.v["next"])
    return out


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
        record = fp + mem.consts.FRAME_RECORD_OFFSET
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
