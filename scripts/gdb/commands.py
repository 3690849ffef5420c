"""The weft commands that read the kernel's state: processes, threads,
CPUs, the big kernel lock, IPC, page tables, backtraces; and the switch
trace. Each reads a fresh Kernel snapshot through a Memory and prints it;
none writes guest memory or registers.
"""

import gdb

from kernel import (Kernel, Process, Thread, bkl_napping, bkl_spinning, frame_walk,
                    threads_on_cpu, ticket_summary, user_pc_of, waitq_threads)
from memory import Memory, char_array
from pagetable import level_name, level_size, size_name, walk
from target import kernel_constants, lookup_type, port, source_line, symbolize, u64


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


def rights_text(rights):
    """A handle's rights as the letters s(end) r(eceive) g(rant) m(int),
    '-' for each one missing: "sr--" can send and receive."""
    c = kernel_constants()
    bits = ((c.RIGHT_SEND, "s"), (c.RIGHT_RECV, "r"), (c.RIGHT_GRANT, "g"), (c.RIGHT_MINT, "m"))
    return "".join(letter if rights & bit else "-" for bit, letter in bits)


def process_label(k, addr):
    p = next((p for p in k.processes if p.addr == addr), None)
    return f"{p.pid} ({p.name})" if p else f"{addr:#x}"


def handle_rows(mem, k, processes):
    """The handle tables of `processes`: one line per handle in use, with
    its object (an endpoint or a notification), rights and badge."""
    kobj_type = lookup_type("struct kobject")
    lines = [f"{'PID':>5} {'HANDLE':>6}  {'OBJECT':<18} {'TYPE':<12} {'RIGHTS':<6} BADGE"]
    for p in processes:
        table = p.v["handles"]
        lo, hi = table.type.strip_typedefs().range()
        for h in range(lo, hi + 1):
            obj = u64(table[h]["obj"])
            if not obj:
                continue
            kind = str(mem.at(obj, kobj_type)["type"]).replace("KOBJ_", "").lower()
            lines.append(f"{p.pid:>5} {h:>6}  {obj:#018x} {kind:<12} "
                         f"{rights_text(int(table[h]['rights'])):<6} {u64(table[h]['badge'])}")
    return lines


class WeftHandles(gdb.Command):
    """List handle tables: each handle's object, rights and badge.

Usage: weft handles [PID]       (no PID: every process)

One line per handle in use (struct process, handles[]): the process, the
handle number, the kernel object it names and its type, its rights as
four letters, s(end) r(eceive) g(rant) m(int) with '-' for each one it
lacks, and the badge messages sent through it carry (0: none)."""

    def __init__(self):
        super().__init__("weft handles", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        with Memory() as mem:
            k = Kernel(mem)
            procs = ([k.process_by_pid(parse_int(argv[0], "pid"))] if argv
                     else sorted(k.processes, key=lambda p: p.pid))
            print("\n".join(handle_rows(mem, k, procs)))


class WeftIpc(gdb.Command):
    """List the IPC endpoints, who waits on them, calls in progress, handles.

Usage: weft ipc

One line per endpoint in the kernel's list (kernel/ipc.c `endpoints`):
its address, the process that created it (it dies with that process),
references, whether it is dead, the threads blocked sending (a call or a
send, message parked) and receiving. Then the name registry (each name's
endpoint, or "reserved", the process that holds the name, and the rights
a lookup gives), every caller waiting for a reply with the server thread
that owes it, and every process's handles as "weft handles" shows them."""

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
                owner_text = process_label(k, u64(ep["owner"]))
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
                holder = u64(registry[i]["owner"])
                if not holder:
                    continue
                ep = u64(registry[i]["ep"])
                what = (f"endpoint {ep:#x}, lookup gives "
                        f"{rights_text(int(registry[i]['rights']))}" if ep else "reserved")
                print(f"registry: {char_array(registry[i]['name'])!r} -> {what}, "
                      f"held by {process_label(k, holder)}")
            for t in k.threads:
                server = u64(t.v["served_by"])
                if server and not bool(t.v["reply_ready"]):
                    print(f"call: {t.label()} waits for the reply of "
                          f"{k.thread(server).label()}")
            print("\n".join(handle_rows(mem, k, sorted(k.processes, key=lambda p: p.pid))))


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
                kernel_va = pa + mem.consts.KERNEL_VA_OFFSET
                print(f"va {va:#x} -> pa {pa:#x} (kernel va {kernel_va:#x})")
            else:
                print(f"va {va:#x} is not mapped")


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
