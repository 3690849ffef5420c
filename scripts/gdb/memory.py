"""Reading a stopped machine: the CPUs' registers and kernel memory.

QEMU's stub reads memory through the MMU of the CPU GDB is looking at, with
that CPU's privilege: a CPU stopped in user mode cannot read kernel memory
at all. So Memory switches the stub to physical addresses while it is in
use (QEMU's PhyMemMode) and translates kernel addresses itself: the direct
map is KERNEL_VA_OFFSET + physical, kernel stacks are found by walking the
kernel's page table. Structures are read whole and decoded with the
kernel's own debug information.
"""

import re

import gdb

from pagetable import translate
from target import RISCV64, kernel_constants, lookup_type, port, symbol_address, u64


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
        self.consts = kernel_constants()
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
        c = self.consts
        off = c.KERNEL_VA_OFFSET
        if off <= va < off + c.DIRECT_MAP_SIZE:
            return va - off
        if va < off:
            raise gdb.MemoryError(f"weft: {va:#x} is not a kernel address")
        page, offset = va >> c.PAGE_SHIFT, va & (c.PAGE_SIZE - 1)
        if page not in self._pages:
            pa = translate(self, self.kernel_root(), va - offset)
            if pa is None:
                raise gdb.MemoryError(f"weft: kernel address {va:#x} is not mapped")
            self._pages[page] = pa
        return self._pages[page] | offset

    # -- raw reads --

    def read_phys(self, pa, size):
        return bytes(self.inferior.read_memory(pa, size))

    def read(self, va, size):
        """size bytes at kernel virtual address va."""
        out, page_size = b"", self.consts.PAGE_SIZE
        while size > 0:
            chunk = min(size, page_size - (va & (page_size - 1)))
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
