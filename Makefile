# Weft: build, run and test.
#
#   make                  build build/$(ARCH)/kernel.elf
#   make run              boot it in QEMU (Ctrl-A x quits)
#   make test             every test, both architectures
#   make bench            benchmarks (make trace: the GIL demo's timeline)
#   make soak             the system-call fuzzer for SOAK_MINUTES (10) per arch
#   make debug / make gdb QEMU halted for GDB / GDB attached to it
#   make fuzz-host        the parsers' fuzz harnesses under libFuzzer (clang)
#   make handout LAB=<lab> DEST=<dir>   a lab's starting tree (docs/labs.md)
#   make solution LAB=<lab> DEST=<dir>  the same with its reference solution
#   make grade LAB=<lab>  score this tree's work on a lab (ARCH= for one)
#   make labcheck         every lab's handout and solution, both architectures
#   ARCH=riscv64|aarch64  CPUS=4  MEM=512M  CROSS_COMPILE=<prefix>
#   BOOTARGS="prog args"  make run/debug boot into that command, not the shell
#   SANITIZE=ubsan        the kernel with UBSan checks, in build/$(ARCH)-ubsan

ARCH ?= riscv64
# 4 CPUs, or as many as the host has cores if it has fewer: a guest with
# more CPUs than the host has cores waits for the host at lock hand-overs,
# which skews the lock lesson (docs/gil.md). CPUS=N picks any count.
HOST_CORES := $(shell nproc 2>/dev/null || echo 4)
CPUS ?= $(if $(filter 1 2 3,$(HOST_CORES)),$(HOST_CORES),4)
MEM ?= 512M
SANITIZE ?=
ifneq ($(filter-out ubsan,$(SANITIZE)),)
$(error SANITIZE must be ubsan or empty, not '$(SANITIZE)')
endif
BUILD ?= build/$(ARCH)$(if $(SANITIZE),-$(SANITIZE))

ifeq ($(ARCH),riscv64)
CROSS_CANDIDATES := riscv64-unknown-elf- riscv64-linux-gnu-
ARCH_CFLAGS := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
else ifeq ($(ARCH),aarch64)
CROSS_CANDIDATES := aarch64-none-elf- aarch64-elf- aarch64-linux-gnu-
ARCH_CFLAGS := -mgeneral-regs-only -mno-outline-atomics -mcmodel=small
else
$(error ARCH must be riscv64 or aarch64, not '$(ARCH)')
endif

CROSS_COMPILE ?= $(firstword $(foreach p,$(CROSS_CANDIDATES),\
	$(if $(shell command -v $(p)gcc 2>/dev/null),$(p))))
CC := $(CROSS_COMPILE)gcc
LD := $(CROSS_COMPILE)ld

# -O2 with frame pointers: fast, and backtraces and GDB still work.
# OPT=-Og builds a kernel whose every variable GDB can show.
OPT ?= -O2
INCLUDES := -Ikernel/include -Iarch/$(ARCH)/include -Iarch/$(ARCH)
CFLAGS := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -ffreestanding -fno-builtin \
	-nostdlib -fno-common -fno-stack-protector -fno-pie -fno-omit-frame-pointer \
	-fno-tree-loop-distribute-patterns -MMD -MP $(INCLUDES) $(ARCH_CFLAGS)
ASFLAGS := $(CFLAGS) -D__ASSEMBLER__
LDFLAGS := -nostdlib -static -no-pie --build-id=none -z max-page-size=4096 \
	-T linker/$(ARCH).ld

KERNEL_SRCS := $(filter-out kernel/ubsan.c,$(wildcard kernel/*.c)) $(wildcard kernel/*.S) \
	$(wildcard arch/$(ARCH)/*.c) $(wildcard arch/$(ARCH)/*.S)

# SANITIZE=ubsan: GCC checks every operation C leaves undefined and calls
# kernel/ubsan.c's handlers, which panic with the check, file and line.
# Every check of -fsanitize=undefined (its vptr and return checks are for
# C++ and do nothing here), plus bounds-strict: a struct's last member is
# an array of its declared size, not a flexible array. Left out: the float
# checks, which -fsanitize=undefined leaves out too (the kernel has no
# floating point). Every check reports and stops (-fno-sanitize-recover).
# User programs are built as always.
ifeq ($(SANITIZE),ubsan)
KERNEL_SRCS += kernel/ubsan.c
CFLAGS += -fsanitize=undefined,bounds-strict -fno-sanitize-recover=all -DKERNEL_UBSAN=1
$(BUILD)/kernel/ubsan.c.o: CFLAGS += -fno-sanitize=all
endif
KERNEL_OBJS := $(patsubst %,$(BUILD)/%.o,$(KERNEL_SRCS))

.PHONY: all kernel run test bench clean format lint deps unit debug gdb trace soak fuzz-host \
	handout solution grade labcheck
all: kernel
kernel: $(BUILD)/kernel.elf $(BUILD)/weft_constants.py

$(BUILD)/kernel.elf: $(KERNEL_OBJS) linker/$(ARCH).ld
	$(LD) $(LDFLAGS) -o $@ $(KERNEL_OBJS)

$(BUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -c -o $@ $<

-include $(KERNEL_OBJS:.o=.d)

# The kernel constants the GDB scripts use, computed by the preprocessor
# from the kernel's headers (scripts/gdb/weft_constants.py.in says how).
$(BUILD)/weft_constants.py: scripts/gdb/weft_constants.py.in
	@mkdir -p $(dir $@)
	$(CC) -E -P -x c -ffreestanding $(INCLUDES) -MMD -MP -MF $@.d -MT $@ -o $@.i $<
	(echo "# Made by make from $<: do not edit."; sed -n 's/^weft_constant_//p' $@.i) >$@
	@rm -f $@.i

-include $(BUILD)/weft_constants.py.d

# The user programs, packed into $(BUILD)/initrd.cpio, become part of the
# kernel image through kernel/initrd_blob.S.
include user/user.mk
$(BUILD)/kernel/initrd_blob.S.o: $(BUILD)/initrd.cpio
$(BUILD)/kernel/initrd_blob.S.o: ASFLAGS += -DINITRD_PATH='"$(BUILD)/initrd.cpio"'

# The targets a new user types install what is missing first, then
# rebuild in a fresh make so the toolchain is detected after the install.
deps:
	@scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory kernel
	@$(if $(filter file,$(origin CPUS)),$(if $(filter 4,$(CPUS)),,echo "run: $(CPUS) CPUs, \
		not 4: this host has $(HOST_CORES) cores (CPUS=4 to override; docs/gil.md)"))
	scripts/qemu.sh $(ARCH) -smp $(CPUS) -m $(MEM) -kernel $(BUILD)/kernel.elf \
		$(if $(BOOTARGS),-append '$(BOOTARGS)')

test: deps
	@$(MAKE) --no-print-directory ARCH=riscv64 kernel
	@$(MAKE) --no-print-directory ARCH=aarch64 kernel
	@$(MAKE) --no-print-directory ARCH=riscv64 SANITIZE=ubsan kernel
	@$(MAKE) --no-print-directory ARCH=aarch64 SANITIZE=ubsan kernel
	python3 scripts/test.py

# QEMU halted with its GDB stub (port printed; GDBPORT= picks one), and
# gdb-multiarch with the project's scripts attached to it.
debug: deps
	@$(MAKE) --no-print-directory kernel
	scripts/debug.sh qemu $(ARCH) $(CPUS) $(MEM) $(BUILD)

gdb:
	scripts/debug.sh gdb $(ARCH) $(CPUS) $(MEM) $(BUILD)

# The GIL demo under the per-CPU trace: build/trace.json (Perfetto,
# chrome://tracing) and build/trace.svg (one lane per CPU).
trace: deps
	@$(MAKE) --no-print-directory kernel
	scripts/tracerun.sh $(ARCH) $(if $(filter command line,$(origin CPUS)),$(CPUS),2) \
		$(MEM) $(BUILD)/kernel.elf build

bench: deps
	@$(MAKE) --no-print-directory ARCH=riscv64 kernel
	@$(MAKE) --no-print-directory ARCH=aarch64 kernel
	python3 scripts/bench.py $(if $(filter command line,$(origin ARCH)),$(ARCH))

unit:
	python3 scripts/test.py --unit-only

# The system-call fuzzer for SOAK_MINUTES (default 10) on each architecture
# (ARCH= picks one): seeds, figures, and no panic, hang or leaked page.
SOAK_MINUTES ?= 10
soak: deps
	@$(MAKE) --no-print-directory ARCH=riscv64 kernel
	@$(MAKE) --no-print-directory ARCH=aarch64 kernel
	python3 scripts/soak.py --minutes $(SOAK_MINUTES) \
		$(if $(filter command line,$(origin ARCH)),$(ARCH))

# The host fuzz harnesses under libFuzzer, FUZZ_SECONDS each. Needs clang;
# without it, says so and does nothing (docs/testing.md).
FUZZ_SECONDS ?= 60
fuzz-host:
	python3 scripts/fuzzhost.py --seconds $(FUZZ_SECONDS)

# The labs (docs/labs.md). grade and labcheck build what they need.
LAB_NAMES := $(notdir $(patsubst %/README.md,%,$(wildcard labs/*/README.md)))
define need_lab
$(if $(filter $(LAB_NAMES),$(LAB)),,$(error LAB=<name> is needed, one of: $(LAB_NAMES)))
endef

handout solution: deps
	$(need_lab)
	$(if $(DEST),,$(error DEST=<directory> is needed: where the tree goes))
	python3 scripts/lab.py $@ $(LAB) $(DEST)

grade: deps
	$(need_lab)
	python3 scripts/lab.py grade $(LAB) $(if $(filter command line,$(origin ARCH)),$(ARCH))

labcheck: deps
	python3 scripts/lab.py check $(LABS)

FORMAT_SRCS = $(shell find kernel arch tests/unit user labs -name '*.[ch]')
format:
	@scripts/install-deps.sh lint
	clang-format -i $(FORMAT_SRCS)

# cppcheck reads the initialisers of GCC's register variables (the IPC
# trap in user/lib/ipc.c) as statements without effect: not a finding.
lint:
	@scripts/install-deps.sh lint
	clang-format --dry-run -Werror $(FORMAT_SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -Ikernel/include kernel arch tests/unit
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr --suppress=constStatement:user/lib/ipc.c \
		-Ikernel/include -Iuser/lib user $(wildcard labs/*/user)

clean:
	rm -rf build
