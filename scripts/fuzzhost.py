#!/usr/bin/env python3
"""Build the host fuzz harnesses as libFuzzer targets and run them.

    scripts/fuzzhost.py [--seconds N] [--build-only] [NAME...]

A harness is a tests/unit/*_test.c that defines fuzz_one_input()
(tests/unit/fuzz.h). Each is built with clang -fsanitize=fuzzer under
AddressSanitizer and UBSan into build/fuzz/<name>, with
tests/unit/libfuzzer.c in place of the unit test runner and the sources
its `Links:` line names, then run for N seconds (default 60) over its
corpus, build/fuzz/<name>-corpus/. The corpus starts with the files its
`Fuzz seeds:` line names, those the build has made (a .dts file is
compiled with dtc). NAME picks harnesses by a part of their name ("elf").

An input that fails a CHECK or draws a sanitizer report is saved as
build/fuzz/crash-<hash>; `build/fuzz/<name> build/fuzz/crash-<hash>`
runs it alone. The exit status is non-zero when a harness found one.

Without a clang that can build -fsanitize=fuzzer this says so, skips
everything and exits 0: `make test` and `make unit` need only gcc.

Standard library only.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test import ROOT, UNIT_CFLAGS, UNIT_SRC, unit_links  # noqa: E402

FUZZ_BUILD = ROOT / "build" / "fuzz"
CLANG = "clang"
FUZZ_CFLAGS = [("-fsanitize=fuzzer,address,undefined"
                if flag == "-fsanitize=address,undefined" else flag) for flag in UNIT_CFLAGS]
DEFAULT_SECONDS = 60


def clang_can_fuzz():
    """Can clang build and link a libFuzzer target here?"""
    if not shutil.which(CLANG):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text("#include <stddef.h>\n#include <stdint.h>\n"
                       "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)\n"
                       "{ (void)d; (void)n; return 0; }\n")
        p = subprocess.run([CLANG, "-fsanitize=fuzzer", "-o", str(Path(tmp) / "probe"),
                            str(src)], capture_output=True, check=False)
        return p.returncode == 0


def harnesses(patterns):
    """The *_test.c files that define fuzz_one_input(), by name."""
    found = []
    for src in sorted(UNIT_SRC.glob("*_test.c")):
        if not re.search(r"^void fuzz_one_input\(", src.read_text(), re.M):
            continue
        if patterns and not any(p in src.stem for p in patterns):
            continue
        found.append(src)
    return found


def seed_files(src):
    """The files named by 'Fuzz seeds:' that exist (a directory: its files)."""
    m = re.search(r"Fuzz seeds:(.*)", src.read_text())
    files = []
    for word in (m.group(1).split() if m else []):
        path = ROOT / word
        if path.is_dir():
            files += sorted(f for f in path.iterdir() if f.is_file())
        elif path.is_file():
            files.append(path)
    return files


def build(src):
    """Compile one harness; returns its path, or None after printing why not."""
    exe = FUZZ_BUILD / src.stem
    sources = [str(src), str(UNIT_SRC / "libfuzzer.c")]
    sources += [str(ROOT / rel) for rel in unit_links(src)]
    cmd = [CLANG, *FUZZ_CFLAGS, "-o", str(exe), *sources]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if p.returncode != 0:
        print(f"fuzz-host: {src.stem}: build failed\n    " + " ".join(cmd))
        print("\n".join("    " + line for line in (p.stdout + p.stderr).splitlines()[-40:]))
        return None
    return exe


def run(src, exe, seconds):
    """Fuzz for `seconds`; True unless libFuzzer found a failing input."""
    corpus = FUZZ_BUILD / f"{src.stem}-corpus"
    corpus.mkdir(exist_ok=True)
    for f in seed_files(src):
        copy = corpus / ("seed-" + "-".join(f.relative_to(ROOT).parts[-3:]))
        if copy.exists():
            continue
        if f.suffix == ".dts":  # a devicetree source: its blob is the seed
            subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(copy), str(f)],
                           check=False)
        else:
            shutil.copyfile(f, copy)
    cmd = [str(exe), f"-max_total_time={seconds}", "-print_final_stats=1",
           f"-artifact_prefix={FUZZ_BUILD}/", str(corpus)]
    start = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", cwd=ROOT, check=False)
    took = time.monotonic() - start
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", p.stdout)
    inputs = len(list(corpus.iterdir()))
    if p.returncode == 0:
        print(f"fuzz-host: {src.stem}: {runs.group(1) if runs else '?'} inputs "
              f"in {took:.0f} s, none failed (corpus {inputs} files)")
        return True
    print(f"fuzz-host: {src.stem}: FAILED after {took:.0f} s\n    " + " ".join(cmd))
    print("\n".join("    " + line for line in p.stdout.splitlines()[-60:]))
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=DEFAULT_SECONDS,
                    help=f"how long to fuzz each harness (default {DEFAULT_SECONDS})")
    ap.add_argument("--build-only", action="store_true", help="build, do not run")
    ap.add_argument("names", nargs="*", help="only harnesses whose name contains one")
    args = ap.parse_args()
    if not clang_can_fuzz():
        print("fuzz-host: skipped: no clang with -fsanitize=fuzzer")
        return 0
    FUZZ_BUILD.mkdir(parents=True, exist_ok=True)
    ok = True
    for src in harnesses(args.names):
        exe = build(src)
        if exe is None:
            ok = False
        elif args.build_only:
            print(f"fuzz-host: {src.stem}: built {exe.relative_to(ROOT)}")
        else:
            ok = run(src, exe, args.seconds) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
