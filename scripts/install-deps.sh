#!/bin/sh
# Install what building, running and testing Weft needs (Debian 12).
#
# Checks first and exits silently when everything is already there, so
# `make run` and `make test` can call it every time. Otherwise it runs
# apt-get once (through sudo when not root) for the whole package list.
# Running it twice is harmless. `scripts/install-deps.sh lint` also
# installs what `make format` and `make lint` need.
set -eu

PACKAGES="gcc-riscv64-unknown-elf gcc-aarch64-linux-gnu
binutils-riscv64-unknown-elf binutils-aarch64-linux-gnu
qemu-system-misc qemu-system-arm opensbi gdb-multiarch device-tree-compiler
cpio python3 gcc make libc6-dev
picolibc-riscv64-unknown-elf picolibc-aarch64-linux-gnu"

OPENSBI_FW=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf
PICOLIBC_DIRS="/usr/lib/picolibc/riscv64-unknown-elf /usr/lib/picolibc/aarch64-linux-gnu"

have() {
	command -v "$1" >/dev/null 2>&1
}

# Any one of several names will do (cross compilers come under a few).
have_one() {
	for tool in "$@"; do
		have "$tool" && return 0
	done
	return 1
}

missing=""
need() {
	missing="$missing $1"
}

have_one riscv64-unknown-elf-gcc riscv64-linux-gnu-gcc || need riscv64-gcc
have_one aarch64-none-elf-gcc aarch64-elf-gcc aarch64-linux-gnu-gcc || need aarch64-gcc
have_one riscv64-unknown-elf-addr2line riscv64-linux-gnu-addr2line || need riscv64-binutils
have_one aarch64-none-elf-addr2line aarch64-elf-addr2line aarch64-linux-gnu-addr2line ||
	need aarch64-binutils
for tool in qemu-system-riscv64 qemu-system-aarch64 gdb-multiarch dtc cpio python3 gcc make; do
	have "$tool" || need "$tool"
done
[ -f "$OPENSBI_FW" ] || need opensbi
for dir in $PICOLIBC_DIRS; do
	[ -d "$dir" ] || need "$dir"
done
# The host compiler must be able to build a program (libc6-dev).
[ -f /usr/include/stdio.h ] || need libc6-dev
if [ "${1:-}" = lint ]; then
	PACKAGES="$PACKAGES clang-format cppcheck"
	for tool in clang-format cppcheck; do
		have "$tool" || need "$tool"
	done
fi

[ -z "$missing" ] && exit 0

echo "install-deps: missing:$missing" >&2
if ! have apt-get; then
	echo "install-deps: no apt-get here; install the equivalents of:" >&2
	echo "  $PACKAGES" | tr '\n' ' ' >&2
	echo >&2
	exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if ! have sudo; then
		echo "install-deps: not root and no sudo; run as root:" >&2
		echo "  apt-get install $PACKAGES" | tr '\n' ' ' >&2
		echo >&2
		exit 1
	fi
	SUDO="sudo"
fi

echo "install-deps: apt-get update" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
# shellcheck disable=SC2086 # the package list is meant to split into words
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES
