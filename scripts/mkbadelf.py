#!/usr/bin/env python3
"""Write the executables that exec must refuse.

    scripts/mkbadelf.py riscv64|aarch64 OUTDIR

Every file starts from one small, valid program, `minimal`, also written:
a text segment (R-X) whose code loads a word from its data segment (RW-)
and exits with it (42). Each bad-<kind> file then differs from `minimal` in
exactly one way, so a kernel that runs `minimal` but refuses bad-<kind> has
caught that one defect. usertests runs them all and expects -ENOEXEC, but
-ENOMEM for bad-huge-memsz: that file is well formed, its data segment
only asks for more memory than any machine Weft runs on has.
"""

import os
import struct
import sys

PAGE = 0x1000
TEXT_VADDR = 0x400000
DATA_VADDR = TEXT_VADDR + PAGE
TEXT_OFFSET = PAGE
DATA_OFFSET = 2 * PAGE
EXIT_CODE = 42

ELF_HEADER = struct.Struct("<4sBBBBB7xHHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")
PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
ET_REL, ET_EXEC = 1, 2
EM_X86_64 = 62
ELF_MAX_PHDRS = 16  # kernel/include/elf.h
USER_LIMIT = 64 << 30  # USER_HEAP_LIMIT in kernel/include/vm.h: programs end below
HUGE_MEMSZ = 32 << 30  # in user space, and more than any guest's RAM

# Per architecture: ELF machine and flags, the code of `minimal`, an address
# in the kernel half and the first address past user space.
ARCHES = {
    "riscv64": {
        "machine": 243,  # EM_RISCV
        "flags": 0x5,  # RVC, double-float ABI: what user programs use
        "code": [
            0x00401537,  # lui  a0, 0x401     a0 = DATA_VADDR
            0x00052503,  # lw   a0, 0(a0)     a0 = the exit code
            0x00100893,  # li   a7, 1         SYS_exit
            0x00000073,  # ecall
            0x0000006F,  # j    .
        ],
        "kernel_vaddr": 0xFFFFFFC080200000,
        "user_end": 1 << 38,  # Sv39: the low half ends here
    },
    "aarch64": {
        "machine": 183,  # EM_AARCH64
        "flags": 0,
        "code": [
            0xD2A00800,  # movz x0, #0x40, lsl #16
            0xF2820000,  # movk x0, #0x1000   x0 = DATA_VADDR
            0xB9400000,  # ldr  w0, [x0]      w0 = the exit code
            0xD2800028,  # mov  x8, #1        SYS_exit
            0xD4000001,  # svc  #0
            0x14000000,  # b    .
        ],
        "kernel_vaddr": 0xFFFFFF8040200000,
        "user_end": 1 << 39,  # TTBR0 with 39-bit addresses ends here
    },
}


def minimal(arch):
    """The description of the valid program; every kind edits a copy."""
    code = b"".join(struct.pack("<I", word) for word in arch["code"])
    data = struct.pack("<Q", EXIT_CODE)
    return {
        "magic": b"\x7fELF",
        "class": 2,  # ELFCLASS64
        "data": 1,  # ELFDATA2LSB
        "type": ET_EXEC,
        "machine": arch["machine"],
        "flags": arch["flags"],
        "entry": TEXT_VADDR,
        "phoff": ELF_HEADER.size,
        "phentsize": PROGRAM_HEADER.size,
        "phnum": None,  # None: as many as there are segments
        "segments": [
            {"flags": PF_R | PF_X, "offset": TEXT_OFFSET,
             "vaddr": TEXT_VADDR, "filesz": len(code), "memsz": len(code),
             "bytes": code},
            {"flags": PF_R | PF_W, "offset": DATA_OFFSET,
             "vaddr": DATA_VADDR, "filesz": len(data), "memsz": PAGE,
             "bytes": data},
        ],
        "truncate": None,
    }


def assemble(elf):
    """The file's bytes for a description."""
    segments = elf["segments"]
    phnum = len(segments) if elf["phnum"] is None else elf["phnum"]
    size = max([ELF_HEADER.size + len(segments) * PROGRAM_HEADER.size] +
               [s["offset"] + len(s["bytes"]) for s in segments])
    image = bytearray(size)
    ELF_HEADER.pack_into(
        image, 0, elf["magic"], elf["class"], elf["data"], 1, 0, 0,
        elf["type"], elf["machine"], 1, elf["entry"], elf["phoff"], 0,
        elf["flags"], ELF_HEADER.size, elf["phentsize"], phnum, 0, 0, 0)
    for i, s in enumerate(segments):
        PROGRAM_HEADER.pack_into(
            image, ELF_HEADER.size + i * PROGRAM_HEADER.size, PT_LOAD,
            s["flags"], s["offset"], s["vaddr"], s["vaddr"], s["filesz"],
            s["memsz"], PAGE)
        image[s["offset"]:s["offset"] + len(s["bytes"])] = s["bytes"]
    if elf["truncate"] is not None:
        del image[elf["truncate"]:]
    return bytes(image)


def data_segment(elf):
    return elf["segments"][1]


def kinds(arch):
    """(name, edit) pairs: each edit introduces one defect."""
    def bad_magic(e):
        e["magic"] = b"\x7fELG"

    def class32(e):
        e["class"] = 1  # ELFCLASS32

    def big_endian(e):
        e["data"] = 2  # ELFDATA2MSB

    def machine(e):
        e["machine"] = EM_X86_64

    def not_executable_type(e):
        e["type"] = ET_REL

    def phentsize(e):
        e["phentsize"] = 32

    def phdr_outside(e):
        # The table starts inside the file but runs off its end.
        e["phoff"] = DATA_OFFSET + 8 - PROGRAM_HEADER.size

    def truncated(e):
        e["truncate"] = 40  # in the middle of the ELF header

    def no_segments(e):
        e["phnum"] = 0

    def segment_outside_file(e):
        data_segment(e)["filesz"] = 3 * PAGE
        data_segment(e)["memsz"] = 3 * PAGE

    def filesz_over_memsz(e):
        data_segment(e)["memsz"] = 4

    def misaligned(e):
        # vaddr and offset no longer agree modulo the page size.
        data_segment(e)["vaddr"] = DATA_VADDR + 0x800

    def overlap(e):
        data_segment(e)["vaddr"] = TEXT_VADDR

    def entry_in_data(e):
        e["entry"] = DATA_VADDR

    def entry_unmapped(e):
        e["entry"] = 0x10000000

    def kernel_segment(e):
        data_segment(e)["vaddr"] = arch["kernel_vaddr"]

    def past_user_space(e):
        data_segment(e)["vaddr"] = arch["user_end"] - PAGE
        data_segment(e)["memsz"] = 2 * PAGE

    def wraps_around(e):
        data_segment(e)["vaddr"] = (1 << 64) - PAGE
        data_segment(e)["memsz"] = 2 * PAGE

    def writable_and_executable(e):
        data_segment(e)["flags"] = PF_R | PF_W | PF_X

    def too_many_headers(e):
        # The table still ends inside the file; the headers past the two
        # segments are zeros (PT_NULL).
        e["phnum"] = ELF_MAX_PHDRS + 1

    def huge_memsz(e):
        # Well formed and inside user space: exec runs out of memory
        # (-ENOMEM), and must give back every page it took.
        data_segment(e)["memsz"] = HUGE_MEMSZ

    def low_vaddr(e):
        # Page 0 stays unmapped, so that a null pointer always faults.
        data_segment(e)["vaddr"] = 0

    def past_user_limit(e):
        # Starts below the programs' limit and ends past it, well inside
        # the hardware's user half (unlike past-user).
        data_segment(e)["vaddr"] = USER_LIMIT - PAGE
        data_segment(e)["memsz"] = 2 * PAGE

    def empty_segment(e):
        # A third loadable segment that holds nothing (kernel/elf.c says
        # why it is refused).
        e["segments"].append(
            {"flags": PF_R, "offset": 0, "vaddr": DATA_VADDR + PAGE,
             "filesz": 0, "memsz": 0, "bytes": b""})

    return [
        ("magic", bad_magic),
        ("class32", class32),
        ("bigendian", big_endian),
        ("machine", machine),
        ("type", not_executable_type),
        ("phentsize", phentsize),
        ("phdr-outside", phdr_outside),
        ("truncated", truncated),
        ("no-segments", no_segments),
        ("seg-outside-file", segment_outside_file),
        ("filesz", filesz_over_memsz),
        ("misaligned", misaligned),
        ("overlap", overlap),
        ("entry-data", entry_in_data),
        ("entry-unmapped", entry_unmapped),
        ("kernel-seg", kernel_segment),
        ("past-user", past_user_space),
        ("wrap", wraps_around),
        ("wx", writable_and_executable),
        ("phnum-limit", too_many_headers),
        ("huge-memsz", huge_memsz),
        ("low-vaddr", low_vaddr),
        ("past-limit", past_user_limit),
        ("empty-seg", empty_segment),
    ]


def write(path, image):
    with open(path, "wb") as f:
        f.write(image)
    os.chmod(path, 0o755)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ARCHES:
        sys.exit("usage: mkbadelf.py riscv64|aarch64 OUTDIR")
    arch = ARCHES[sys.argv[1]]
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    for name in os.listdir(outdir):
        if name.startswith("bad-"):
            os.remove(os.path.join(outdir, name))
    write(os.path.join(outdir, "minimal"), assemble(minimal(arch)))
    for name, edit in kinds(arch):
        elf = minimal(arch)
        edit(elf)
        write(os.path.join(outdir, "bad-" + name), assemble(elf))


if __name__ == "__main__":
    main()
