"""The kernel being debugged: its port, its constants and its symbols.

The port is the architecture GDB is set to. The constants come from
weft_constants.py in the build directory of the kernel ELF GDB has loaded
(make generates it from the kernel's headers; constants.py reads it), so
they are always those of the kernel being debugged.
"""

import os
import re

import gdb

import constants

U64 = (1 << 64) - 1


class Port:
    """What differs between the two architectures."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


RISCV64 = Port(
    name="riscv64",
    arg_regs=("a0", "a1"),
    ctx_pc="ra",
)
AARCH64 = Port(
    name="aarch64",
    arg_regs=("x0", "x1"),
    ctx_pc="lr",
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


# ---- The build ---------------------------------------------------------------

def build_dir():
    """The directory of the kernel ELF GDB has loaded ($(BUILD))."""
    path = gdb.current_progspace().filename
    if path is None:
        raise gdb.GdbError("weft: the kernel's symbols are not loaded "
                           "(file build/<arch>/kernel.elf)")
    return os.path.dirname(path)


_constants = {}   # build directory -> its kernel's constants


def kernel_constants():
    """The constants of the kernel being debugged (KSTACK_SIZE, PAGE_SHIFT,
    KERNEL_VA_OFFSET, ...: see constants.py), read once per build."""
    where = build_dir()
    if where not in _constants:
        try:
            _constants[where] = constants.load(where)
        except OSError as e:
            raise gdb.GdbError(f"weft: no kernel constants ({e.strerror}: {e.filename}); "
                               "make builds them with the kernel") from None
        except (ValueError, AttributeError) as e:
            raise gdb.GdbError(f"weft: bad kernel constants: {e}") from None
    return _constants[where]


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
