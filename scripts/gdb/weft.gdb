# GDB settings for debugging Weft under QEMU. scripts/debug.sh gdb passes
# this file and weft.py (the weft commands) to gdb-multiarch; nothing needs
# to go into ~/.gdbinit. docs/gdb.md explains the workflow.

# stepi/next move only the CPU GDB is looking at; the others stay stopped,
# so the kernel's state holds still while you step through it. (A step that
# waits for another CPU, such as a spin on a lock it holds, never ends:
# Ctrl-C, then "continue".) "continue" runs every CPU.
set scheduler-locking step

# Structures one field per line.
set print pretty on

# Show the instruction at each stop in code without source lines.
set disassemble-next-line auto
