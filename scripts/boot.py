"""Boot a Weft kernel in QEMU and talk to it over the serial console.

A Session is one QEMU process, started through scripts/qemu.sh (the only
place that knows the QEMU command line). A reader thread collects the
console output line by line, each with the time it arrived, so callers can
wait for a line (expect), type into the console (send), wait for QEMU to
power off (wait_exit), or measure how long something took. The harness
(test.py) and the boot benchmark (bench.py) are built on it.

Standard library only.
"""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QEMU_SH = ROOT / "scripts" / "qemu.sh"
ARCHES = ("riscv64", "aarch64")

# Cross toolchain prefixes, in the order the Makefile tries them.
CROSS_PREFIXES = {
    "riscv64": ("riscv64-unknown-elf-", "riscv64-linux-gnu-"),
    "aarch64": ("aarch64-none-elf-", "aarch64-elf-", "aarch64-linux-gnu-"),
}

# The line the kernel prints once every CPU is up.
WEFT_LINE = re.compile(r"^weft: (\d+) cpus online, (\d+) MiB free$")


def cross_tool(arch, name):
    """The cross toolchain's program `name` (gcc, addr2line) for arch, by
    the first prefix installed, or None."""
    for prefix in CROSS_PREFIXES[arch]:
        tool = shutil.which(prefix + name)
        if tool:
            return tool
    return None


def build_dir(arch, sanitize=None):
    """Where make puts a build: build/<arch>, or build/<arch>-ubsan for
    make SANITIZE=ubsan."""
    return ROOT / "build" / (f"{arch}-{sanitize}" if sanitize else arch)


def kernel_path(arch, sanitize=None):
    return build_dir(arch, sanitize) / "kernel.elf"


def initrd_path(arch, sanitize=None):
    return build_dir(arch, sanitize) / "initrd.cpio"


# A cpio "newc" member header: magic, then 13 eight-digit hex fields, of
# which the 12th is the size of the name (with its NUL) and the 7th the
# size of the data; name and data are each padded to 4 bytes.
CPIO_MAGIC = b"070701"
CPIO_HEADER_BYTES = 110
CPIO_TRAILER = "TRAILER!!!"


def initrd_names(arch, sanitize=None):
    """The names of the files in the build's initrd (the programs the
    kernel can run), or None if it is not built."""
    try:
        data = initrd_path(arch, sanitize).read_bytes()
    except FileNotFoundError:
        return None
    names, at = [], 0
    while data[at:at + len(CPIO_MAGIC)] == CPIO_MAGIC:
        fields = data[at + len(CPIO_MAGIC):at + CPIO_HEADER_BYTES]
        try:
            filesize, namesize = int(fields[48:56], 16), int(fields[88:96], 16)
        except ValueError:  # a damaged archive: the names read so far
            break
        name_at = at + CPIO_HEADER_BYTES
        name = data[name_at:name_at + namesize - 1].decode(errors="replace")
        if name == CPIO_TRAILER:
            break
        names.append(name)
        data_at = (name_at + namesize + 3) & ~3
        at = (data_at + filesize + 3) & ~3
    return names


def mem_mib(mem):
    """QEMU's -m size ("512M", "4G") in MiB."""
    m = re.fullmatch(r"(\d+)([MG]?)", mem)
    if not m:
        raise ValueError(f"memory size {mem!r} is not like 512M or 4G")
    return int(m.group(1)) * (1024 if m.group(2) == "G" else 1)


class Session:
    """One QEMU run of the kernel; use as a context manager so QEMU is
    always stopped.

    machine, cpu and bios change the board through the environment
    variables scripts/qemu.sh reads (QEMU_MACHINE, QEMU_CPU, QEMU_BIOS);
    args are further QEMU arguments.

    command replaces scripts/qemu.sh and its arguments with a program that
    starts QEMU itself (the GDB tests run `scripts/debug.sh qemu` and `make
    debug`). It runs in a process group of its own, which close() stops
    whole: SIGTERM first, so that the program can tidy up after QEMU.
    env is the environment to start from (default: this process's).
    """

    def __init__(self, arch, *, cpus=1, mem="128M", append="", machine=None,
                 cpu=None, bios=None, args=(), kernel=None, command=None, env=None):
        self.arch = arch
        self.kernel = Path(kernel) if kernel else kernel_path(arch)
        self.cmd = list(command) if command else [
            str(QEMU_SH), arch, "-smp", str(cpus), "-m", mem,
            "-kernel", str(self.kernel), "-append", append, *args]
        self.group = command is not None
        env = {k: v for k, v in (os.environ if env is None else env).items()
               if k not in ("QEMU_MACHINE", "QEMU_CPU", "QEMU_BIOS")}
        for key, value in (("QEMU_MACHINE", machine), ("QEMU_CPU", cpu),
                           ("QEMU_BIOS", bios)):
            if value:
                env[key] = value
        self.env_desc = " ".join(f"{k}={env[k]}" for k in
                                 ("QEMU_MACHINE", "QEMU_CPU", "QEMU_BIOS") if k in env)
        self.lines = []          # (seconds since start, text)
        self.partial = ""        # output after the last newline
        self.cursor = 0          # expect() searches lines from here
        self.matched_at = None   # seconds from start to expect()'s last match
        self._skip = {}          # line index -> text already matched partially
        self.killed = False
        self._cond = threading.Condition()
        self._eof = False
        self.started = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env,
                                     cwd=ROOT, start_new_session=self.group)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def command(self):
        """The command line, as one could type it to reproduce the run."""
        words = [w if re.fullmatch(r"[\w@%+=:,./-]+", w) else "'" + w + "'"
                 for w in self.cmd]
        rel = [w.replace(str(ROOT) + "/", "") for w in words]
        return (self.env_desc + " " if self.env_desc else "") + " ".join(rel)

    def _read(self):
        fd = self.proc.stdout.fileno()
        buf = b""
        while True:
            chunk = os.read(fd, 65536)
            now = time.monotonic() - self.started
            with self._cond:
                if not chunk:
                    if buf:
                        self.lines.append((now, buf.decode(errors="replace").rstrip("\r")))
                    self.partial = ""
                    self._eof = True
                    self._cond.notify_all()
                    return
                buf += chunk
                *complete, buf = buf.split(b"\n")
                for raw in complete:
                    self.lines.append((now, raw.decode(errors="replace").rstrip("\r")))
                self.partial = buf.decode(errors="replace")
                self._cond.notify_all()

    def expect(self, pattern, timeout, partial=False):
        """Wait for a line matching the regex (searched from the line after
        the previous match); returns the match, or None on timeout or when
        QEMU has exited. partial=True also matches text not yet ended by a
        newline, such as a shell prompt."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                while self.cursor < len(self.lines):
                    when, line = self.lines[self.cursor]
                    start = self._skip.pop(self.cursor, 0)
                    self.cursor += 1
                    m = regex.search(line, start)
                    if m:
                        self.matched_at = when
                        return m
                if partial and self.partial:
                    at = len(self.lines)
                    m = regex.search(self.partial, self._skip.get(at, 0))
                    if m:
                        # Once the line ends it is searched again, from here.
                        self._skip[at] = m.end()
                        self.matched_at = time.monotonic() - self.started
                        return m
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(left)

    def expect_prompt(self, prompt, timeout, after=-1):
        """Wait until the output ends with exactly `prompt` on a line not
        yet ended by a newline, at a line index greater than `after`: a
        program is waiting for input. Returns that line's index (complete
        lines before it count as read by expect), or None on timeout or
        when QEMU has exited. A prompt that later output has already
        ended does not count: the program may have moved on."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                at = len(self.lines)
                if at > after and self.partial == prompt:
                    self.cursor = at
                    self._skip[at] = len(prompt)
                    self.matched_at = time.monotonic() - self.started
                    return at
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    return None
                self._cond.wait(left)

    def send(self, text):
        """Type text into the serial console."""
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_exit(self, timeout):
        """Wait for QEMU to exit by itself; True if it did in time."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        self._reader.join(timeout=5)
        return True

    def close(self):
        """Stop QEMU if it still runs, and collect the rest of its output."""
        if self.proc.poll() is None:
            self.killed = True
            if self.group:
                self._signal_group(signal.SIGTERM)   # the command tidies up
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
            else:
                self.proc.kill()
        if self.group:
            self._signal_group(signal.SIGKILL)   # whatever is left of the group
        self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        self.proc.stdout.close()

    def _signal_group(self, sig):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def text(self):
        with self._cond:
            return [t for _, t in self.lines]

    def tail(self, n=30):
        return self.text()[-n:]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
