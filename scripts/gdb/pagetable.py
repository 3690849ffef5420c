"""Page tables, read the way the MMU reads them.

Both ports walk PT_LEVELS levels of PT_ENTRIES eight-byte entries over
PAGE_SIZE pages (the kernel's constants: Sv39 on RISC-V, the 4 KiB
granule with 39-bit addresses on AArch64); what differs is how an entry
is encoded, which decode_riscv and decode_aarch64 spell out.
"""

from target import RISCV64, kernel_constants


def level_shift(level):
    """The lowest bit of an address that the table at this level of the
    walk indexes (level 0: the root table)."""
    c = kernel_constants()
    return c.PAGE_SHIFT + c.PT_INDEX_BITS * (c.PT_LEVELS - 1 - level)


def pt_index(va, level):
    return (va >> level_shift(level)) & (kernel_constants().PT_ENTRIES - 1)


def level_size(level):
    return 1 << level_shift(level)


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
    c = kernel_constants()
    flags = " ".join(name for bit, name in enumerate(RISCV_PTE_BITS) if pte >> bit & 1)
    if not pte & 1:
        return "invalid", 0, flags or "-"
    addr = ((pte >> 10) & ((1 << 44) - 1)) << c.PAGE_SHIFT
    if pte & 0xe == 0:
        return ("table" if level < c.PT_LEVELS - 1 else "invalid"), addr, flags
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
    last = kernel_constants().PT_LEVELS - 1
    addr = pte & 0x0000fffffffff000
    low = pte & 3
    if low == 3 and level < last:
        return "table", addr, "table"
    if low == 1 and level == last or low in (0, 2):
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
    last = kernel_constants().PT_LEVELS - 1
    return f"level {last - level}" if p is RISCV64 else f"level {level + 1}"


def decode_pte(p, pte, level):
    return (decode_riscv if p is RISCV64 else decode_aarch64)(pte, level)


def walk(mem, root_pa, va):
    """The entries a hardware walk of va reads, from the root table at
    root_pa: a list of (level, index, entry address, pte, kind, address,
    flags); the walk ends at a leaf or an invalid entry."""
    steps, table = [], root_pa
    for level in range(kernel_constants().PT_LEVELS):
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
