#!/bin/sh
# Debug Weft with GDB: QEMU halted with its GDB stub, and gdb-multiarch
# attached to it with the project's commands. `make debug` and `make gdb`
# run this, in two terminals; docs/gdb.md is the guide.
#
#   scripts/debug.sh qemu ARCH CPUS MEM BUILD
#       Boot BUILD/kernel.elf halted before its first instruction (-S),
#       with the GDB stub on a free TCP port of this machine, which it
#       prints and records in BUILD/gdbport. GDBPORT=N picks the port;
#       BOOTARGS="..." is the kernel command line (default: empty, so init
#       starts the shell; e.g. BOOTARGS="pingpong 100000").
#
#   scripts/debug.sh gdb ARCH CPUS MEM BUILD [gdb arguments...]
#       gdb-multiarch with scripts/gdb/weft.gdb and weft.py, the kernel's
#       symbols and the architecture set, attached to the port in GDBPORT
#       or BUILD/gdbport. Further arguments go to gdb (e.g. -batch -x FILE).
set -eu

usage() {
	echo "usage: $0 qemu|gdb riscv64|aarch64 CPUS MEM BUILD [gdb arguments...]" >&2
	exit 2
}

[ $# -ge 5 ] || usage
mode=$1 arch=$2 cpus=$3 mem=$4 build=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
portfile=$build/gdbport
# How make names this build in the hints printed below.
makevars="ARCH=$arch"
[ "$build" = "build/$arch" ] || makevars="$makevars BUILD=$build"

case "$arch" in
riscv64) gdbarch=riscv:rv64 ;;
aarch64) gdbarch=aarch64 ;;
*) usage ;;
esac

# The first TCP port from 1234 (GDB's customary one) that nothing on this
# machine listens on, so several QEMUs can wait for GDB at once.
free_port() {
	python3 -c '
import socket
for port in range(1234, 1234 + 1000):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
'
}

case "$mode" in
qemu)
	kernel=$build/kernel.elf
	if [ ! -f "$kernel" ]; then
		echo "$0: no $kernel: build it first (make $makevars)" >&2
		exit 1
	fi
	port=${GDBPORT:-$(free_port)}
	if [ -z "$port" ]; then
		echo "$0: no free TCP port from 1234 on: set GDBPORT" >&2
		exit 1
	fi
	echo "$port" >"$portfile"
	echo "debug: QEMU ($arch, $cpus CPUs, $mem) is halted; its GDB stub listens on port $port"
	echo "debug: in another terminal: make gdb $makevars    (Ctrl-A x quits QEMU)"
	# Not exec: the port file goes when QEMU does, also when QEMU and this
	# script are stopped by a signal (the trap waits for QEMU to end). The
	# stub listens on this machine only (127.0.0.1).
	status=0
	trap 'status=129' HUP
	trap 'status=130' INT
	trap 'status=143' TERM
	"$here/qemu.sh" "$arch" -smp "$cpus" -m "$mem" -kernel "$kernel" \
		-append "${BOOTARGS:-}" -S -gdb "tcp:127.0.0.1:$port" || status=$?
	if [ "$(cat "$portfile" 2>/dev/null)" = "$port" ]; then
		rm -f "$portfile"
	fi
	exit $status
	;;
gdb)
	port=${GDBPORT:-$(cat "$portfile" 2>/dev/null || true)}
	if [ -z "$port" ]; then
		echo "$0: no QEMU waiting for GDB ($portfile is missing): run" \
			"'make debug $makevars' in another terminal first" >&2
		exit 1
	fi
	if ! command -v gdb-multiarch >/dev/null 2>&1; then
		echo "$0: gdb-multiarch is missing (scripts/install-deps.sh installs it)" >&2
		exit 1
	fi
	# In this order: the settings in weft.gdb need a connected target.
	exec gdb-multiarch -q \
		-ex "set architecture $gdbarch" \
		-x "$here/gdb/weft.py" \
		-ex "file $build/kernel.elf" \
		-ex "target remote 127.0.0.1:$port" \
		-x "$here/gdb/weft.gdb" \
		"$@"
	;;
*)
	usage
	;;
esac
