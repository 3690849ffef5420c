# User space: libweft, the programs in user/bin/, and the initrd that carries
# them into the kernel image. Included by the top Makefile, which provides
# ARCH, BUILD, CROSS_COMPILE and CC.
#
#   $(BUILD)/initrd.cpio      cpio (newc) archive: every user/bin/<name>.c as
#                             <name> (debug info stripped), the labs' test
#                             programs (labs/<lab>/user/<name>.c), the
#                             hand-made `minimal` program and the bad-* ELF
#                             files
#   $(BUILD)/user/<name>      the same programs unstripped, for GDB
#
# User code is ordinary C against picolibc (Debian's build), linked by
# linker/user.ld with libweft's own start-up code instead of picolibc's crt0.

USER_BUILD := $(BUILD)/user
USER_INITRD_DIR := $(USER_BUILD)/initrd

ifeq ($(ARCH),riscv64)
PICOLIBC_DIR ?= /usr/lib/picolibc/riscv64-unknown-elf
# The full application ISA with hardware floating point; picolibc's
# rv64imafdc/lp64d multilib matches it.
USER_ARCH_CFLAGS := -march=rv64gc -mabi=lp64d -mcmodel=medany
else
PICOLIBC_DIR ?= $(firstword $(wildcard /usr/lib/picolibc/aarch64-none-elf \
	/usr/lib/picolibc/aarch64-linux-gnu))
# Atomics inline: the out-of-line helpers probe the CPU through the
# auxiliary vector, which Weft does not provide.
USER_ARCH_CFLAGS := -mno-outline-atomics
endif

USER_CFLAGS := --specs=$(PICOLIBC_DIR)/picolibc.specs -std=gnu11 -O2 -g \
	-Wall -Wextra -Werror -fno-pie -fno-stack-protector \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
	-ffunction-sections -fdata-sections -MMD -MP \
	-Ikernel/include -Iuser/lib $(USER_ARCH_CFLAGS)
USER_LDFLAGS := --specs=$(PICOLIBC_DIR)/picolibc.specs $(USER_ARCH_CFLAGS) \
	-nostartfiles -static -no-pie -T linker/user.ld \
	-Wl,--gc-sections -Wl,-z,max-page-size=4096 -Wl,--build-id=none

USER_LIB_SRCS := $(wildcard user/lib/*.c) $(wildcard user/lib/$(ARCH)/*.S)
USER_LIB_OBJS := $(patsubst user/%,$(USER_BUILD)/obj/%.o,$(USER_LIB_SRCS))
LAB_PROG_SRCS := $(wildcard labs/*/user/*.c)
LAB_PROGS := $(sort $(basename $(notdir $(LAB_PROG_SRCS))))
BIN_PROGS := $(sort $(basename $(notdir $(wildcard user/bin/*.c))))
USER_PROGS := $(sort $(BIN_PROGS) $(LAB_PROGS))
BIN_PROG_ELFS := $(addprefix $(USER_BUILD)/,$(BIN_PROGS))
USER_PROG_ELFS := $(addprefix $(USER_BUILD)/,$(USER_PROGS))
# A lab's program has its object under obj/labs/, by the source's path: a
# program moved to another lab, or gone, leaves no stale dependency on
# its old source behind.
USER_PROG_OBJS := $(patsubst %,$(USER_BUILD)/obj/bin/%.c.o,$(BIN_PROGS)) \
	$(patsubst %,$(USER_BUILD)/obj/%.o,$(LAB_PROG_SRCS))
USER_STRIPPED := $(addprefix $(USER_INITRD_DIR)/,$(USER_PROGS))

.PHONY: user
user: $(BUILD)/initrd.cpio

$(USER_BUILD)/obj/%.c.o: user/%.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

$(USER_BUILD)/obj/labs/%.c.o: labs/%.c
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

$(USER_BUILD)/obj/%.S.o: user/%.S
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -c -o $@ $<

# libweft's objects are linked as objects, not as an archive: picolibc's
# malloc must find libweft's sbrk, and the stdio functions its stdin,
# stdout and stderr, wherever they come in the link order. --gc-sections
# drops what a program does not use.
$(BIN_PROG_ELFS): $(USER_BUILD)/%: $(USER_BUILD)/obj/bin/%.c.o $(USER_LIB_OBJS) linker/user.ld
	$(CC) $(USER_LDFLAGS) -o $@ $< $(USER_LIB_OBJS)

# A lab's test program is linked as if it were in user/bin/.
$(foreach src,$(LAB_PROG_SRCS),$(eval \
$(USER_BUILD)/$(basename $(notdir $(src))): $(USER_BUILD)/obj/$(src).o $(USER_LIB_OBJS) \
		linker/user.ld ; \
	$$(CC) $$(USER_LDFLAGS) -o $$@ $$< $$(USER_LIB_OBJS)))

$(USER_STRIPPED): $(USER_INITRD_DIR)/%: $(USER_BUILD)/%
	@mkdir -p $(dir $@)
	$(CROSS_COMPILE)strip --strip-debug -o $@ $<

# The malformed executables exec must refuse, and the minimal valid one
# they are all derived from.
$(USER_BUILD)/badelf.stamp: scripts/mkbadelf.py
	@mkdir -p $(USER_INITRD_DIR)
	python3 scripts/mkbadelf.py $(ARCH) $(USER_INITRD_DIR)
	@touch $@

# Names in the archive are bare program names; --reproducible drops inode
# numbers and -R 0:0 the builder's uid, so the same inputs give the same
# archive.
$(BUILD)/initrd.cpio: $(USER_STRIPPED) $(USER_BUILD)/badelf.stamp
	cd $(USER_INITRD_DIR) && { printf '%s\n' $(USER_PROGS); \
		ls minimal bad-*; } | \
		cpio --quiet -o -H newc --reproducible -R 0:0 > $(abspath $@).tmp
	mv $@.tmp $@

-include $(USER_LIB_OBJS:.o=.d) $(USER_PROG_OBJS:.o=.d)

.SECONDARY: $(USER_PROG_OBJS) $(USER_PROG_ELFS)
