"""User mode under GDB: user programs' symbols, and running to user code.

Each user program is linked at the same address, so GDB can hold the
symbols of one at a time. UserSymbols keeps track of which; on_stop loads
the right one whenever GDB stops on a CPU in user mode, `weft usersyms`
loads one by hand and `weft touser` runs until a CPU enters user mode.
"""

import os

import gdb

from kernel import Kernel
from memory import Memory
from target import RISCV64, build_dir, kernel_constants, port, symbol_address, u64

# The kernel's trap-return instruction, labelled in arch/riscv64/trap.S
# (its sret) and arch/aarch64/vectors.S (its eret).
TRAP_RETURN_INSN = "trap_return_insn"


def user_dir():
    """Where the unstripped user programs are: next to the kernel's ELF,
    in user/ ($(BUILD)/user/<name>)."""
    return os.path.join(build_dir(), "user")


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
        if not user or u64(frame.read_register("pc")) >= kernel_constants().USER_VA_END:
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
        ret = symbol_address(TRAP_RETURN_INSN)
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
