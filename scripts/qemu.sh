#!/bin/sh
# Boot QEMU for one architecture: the only place that knows its command line.
#
#   scripts/qemu.sh riscv64|aarch64 [more QEMU arguments...]
#
# The machine, CPU model and firmware can be changed through the environment,
# which is how the tests boot other configurations:
#   QEMU_MACHINE   e.g. virt,gic-version=3 or virt,virtualization=on
#   QEMU_CPU       e.g. cortex-a53, max, rv64,sstc=false, sifive-u54
#   QEMU_BIOS      RISC-V firmware, e.g. .../opensbi/generic/fw_jump.elf
#
# Both boards get -nic none: the virt board's default network card is not
# needed, and its option ROM comes from a package (ipxe-qemu) that a
# --no-install-recommends install leaves out, without which QEMU refuses to
# start. Every QEMU command line in the project passes it (make test checks).
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 riscv64|aarch64 [qemu arguments...]" >&2
	exit 2
fi
arch=$1
shift

case "$arch" in
riscv64)
	# -bios default: QEMU's bundled OpenSBI, which enters the kernel in
	# S-mode with a0 = hart id and a1 = the FDT.
	if [ -n "${QEMU_CPU:-}" ]; then
		set -- -cpu "$QEMU_CPU" "$@"
	fi
	exec qemu-system-riscv64 -machine "${QEMU_MACHINE:-virt}" \
		-bios "${QEMU_BIOS:-default}" -nic none -nographic "$@"
	;;
aarch64)
	if [ -n "${QEMU_BIOS:-}" ]; then
		set -- -bios "$QEMU_BIOS" "$@"
	fi
	exec qemu-system-aarch64 -machine "${QEMU_MACHINE:-virt}" \
		-cpu "${QEMU_CPU:-cortex-a72}" -nic none -nographic "$@"
	;;
*)
	echo "$0: unknown architecture '$arch' (riscv64 or aarch64)" >&2
	exit 2
	;;
esac
