#!/bin/sh
# Install what building, running and testing Weft needs (Debian 12 or 13).
#
#   scripts/install-deps.sh          install what is missing (make run/test do)
#   scripts/install-deps.sh lint     the same, plus what make format/lint need
#   scripts/install-deps.sh --check  list each step's needs and whether this
#                                    machine has them; install nothing
#
# It checks first and exits silently when everything is already there, so
# `make run` and `make test` can call it every time. Otherwise it runs
# apt-get once (through sudo when not root) for the whole package list,
# with --no-install-recommends: a package that only a recommendation would
# bring must be listed here, or a fresh machine will not have it. Running
# it twice is harmless.
set -eu

# One line a requirement: the step that needs it, the Debian package that
# provides it, and what to look for (cmd:NAME a program on PATH, file:PATH;
# any one of several alternatives will do). QEMU's own OpenSBI (-bios
# default) is in qemu-system-data on Debian 12; on Debian 13 it is a link
# into the opensbi package, installed here for fw_jump anyway.
REQUIREMENTS="
build gcc-riscv64-unknown-elf cmd:riscv64-unknown-elf-gcc cmd:riscv64-linux-gnu-gcc
build gcc-aarch64-linux-gnu cmd:aarch64-none-elf-gcc cmd:aarch64-elf-gcc cmd:aarch64-linux-gnu-gcc
build picolibc-riscv64-unknown-elf file:/usr/lib/picolibc/riscv64-unknown-elf
build picolibc-aarch64-linux-gnu file:/usr/lib/picolibc/aarch64-linux-gnu
build cpio cmd:cpio
build python3 cmd:python3
build make cmd:make
build binutils-riscv64-unknown-elf cmd:riscv64-unknown-elf-addr2line cmd:riscv64-linux-gnu-addr2line
build binutils-aarch64-linux-gnu cmd:aarch64-none-elf-addr2line cmd:aarch64-elf-addr2line cmd:aarch64-linux-gnu-addr2line
run qemu-system-misc cmd:qemu-system-riscv64
run qemu-system-misc file:/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin
run qemu-system-arm cmd:qemu-system-aarch64
test opensbi file:/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin file:/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.elf
test gdb-multiarch cmd:gdb-multiarch
test device-tree-compiler cmd:dtc
test gcc cmd:gcc
test libc6-dev file:/usr/include/stdio.h
test git cmd:git
lint clang-format cmd:clang-format
lint cppcheck cmd:cppcheck
"

have() {
	command -v "$1" >/dev/null 2>&1
}

# present WHAT...: is any one of them here?
present() {
	for what in "$@"; do
		case "$what" in
		cmd:*) have "${what#cmd:}" && return 0 ;;
		file:*) [ -e "${what#file:}" ] && return 0 ;;
		esac
	done
	return 1
}

mode=install
steps="build run test"
case "${1:-}" in
"") ;;
lint) steps="$steps lint" ;;
--check)
	mode=check
	steps="$steps lint"
	;;
*)
	echo "usage: $0 [lint | --check]" >&2
	exit 2
	;;
esac

packages=""
missing=""
echo "$REQUIREMENTS" | {
	while read -r step package whats; do
		[ -n "$step" ] || continue
		case " $steps " in *" $step "*) ;; *) continue ;; esac
		# shellcheck disable=SC2086 # the alternatives are meant to split
		if present $whats; then
			state=ok
		else
			state=MISSING
			missing="$missing $package"
		fi
		case " $packages " in *" $package "*) ;; *) packages="$packages $package" ;; esac
		if [ "$mode" = check ]; then
			printf '%-6s %-30s %-8s %s\n' "$step" "$package" "$state" \
				"$(echo "$whats" | sed 's/cmd://g; s/file://g; s/ / or /g')"
		fi
	done

	if [ "$mode" = check ]; then
		[ -z "$missing" ] && echo "install-deps: everything is here" && exit 0
		echo "install-deps: missing:$missing"
		exit 1
	fi
	[ -z "$missing" ] && exit 0

	echo "install-deps: missing:$missing" >&2
	if ! have apt-get; then
		echo "install-deps: no apt-get here; install the equivalents of:$packages" >&2
		exit 1
	fi
	SUDO=""
	if [ "$(id -u)" -ne 0 ]; then
		if ! have sudo; then
			echo "install-deps: not root and no sudo; run as root:" >&2
			echo "  apt-get install --no-install-recommends$packages" >&2
			exit 1
		fi
		SUDO="sudo"
	fi
	echo "install-deps: apt-get update" >&2
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
	# shellcheck disable=SC2086 # the package list is meant to split into words
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages
}
