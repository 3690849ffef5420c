"""GDB commands for Weft: the kernel's own view of a stopped machine.

Loaded by scripts/debug.sh gdb (gdb-multiarch -x scripts/gdb/weft.py), with
the kernel ELF as GDB's symbol file and QEMU's GDB stub as the target. GDB
sees one thread per CPU; these commands add what the kernel knows:

    weft ps                      processes
    weft threads                 threads, with the context each one saved
    weft cpus                    what every CPU runs, and the big kernel lock
    weft lock                    the big kernel lock: holder, waiters, statistics
    weft ipc                     IPC endpoints and who waits on them
    weft handles [PID]           handle tables: objects, rights, badges
    weft pagewalk PID VA         walk a process's page table by hand
    weft bt TID                  backtrace of a thread that is not running
    weft switchtrace [N|off]     print every context switch
    weft touser                  run until a CPU enters user mode
    weft usersyms [PROGRAM]      load a user program's symbols

and loads a user program's symbols by itself whenever GDB stops in user
mode. `help weft <command>` has the details; docs/gdb.md the walk-through.

This file only registers them. The work is done by the modules beside it,
each on one subject:

    target.py      the kernel being debugged: port, constants, symbols
    constants.py   reads the constants make takes from the kernel's headers
                   (build/<arch>/weft_constants.py, from weft_constants.py.in)
    memory.py      reading registers and kernel memory from any CPU
    pagetable.py   page-table walks, entries decoded as the MMU does
    kernel.py      the kernel's CPUs, processes, threads and lock
    commands.py    the commands that show them, and the switch trace
    usermode.py    user programs' symbols; weft touser, weft usersyms

Everything here only reads: no command writes guest memory or registers.
"""

import os
import sys

import gdb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from commands import (WeftBt, WeftCpus, WeftHandles, WeftIpc, WeftLock,  # noqa: E402
                      WeftPagewalk, WeftPrefix, WeftPs, WeftSwitchtrace, WeftThreads)
from usermode import WeftTouser, WeftUsersyms, on_stop  # noqa: E402


def register():
    WeftPrefix()
    WeftPs()
    WeftThreads()
    WeftCpus()
    WeftLock()
    WeftIpc()
    WeftHandles()
    WeftPagewalk()
    WeftBt()
    WeftSwitchtrace()
    WeftTouser()
    WeftUsersyms()
    gdb.events.stop.connect(on_stop)


register()
