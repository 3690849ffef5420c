#!/usr/bin/env python3
"""Make a lab's starting tree (the handout) or its reference solution.

    scripts/lab.py list
    scripts/lab.py handout LAB DEST     # make handout LAB=... DEST=...
    scripts/lab.py solution LAB DEST    # make solution LAB=... DEST=...
    scripts/lab.py grade LAB [ARCH] [--until-lost] [--no-wallclock]
                                        # make grade LAB=... [ARCH=...]
    scripts/lab.py check [--quick] [LAB...]   # make labcheck
    scripts/lab.py readme LAB [ARCH]    # run the README's commands

A lab's solution lives in one of two places (docs/labs.md says why):

- Marked regions, for a lab whose solution is Weft's own code (the
  context switch, the futex-based locks). In the main tree:

      /* LAB(sync) BEGIN */
      ...the code the student writes (compiled in the main tree)...
      /* LAB(sync) STUB */
      #if 0
      ...what the handout has instead...
      #endif
      /* LAB(sync) END */

- labs/<name>/solution.patch, for a lab that adds what the main tree does
  not have (copy-on-write fork): applied to the handout.

DEST becomes a git repository with one commit: the tracked files of this
tree, with LAB's regions replaced by their stubs (or, for `solution`, by
their code and then the patch applied), every other lab's markers
removed around its code, and no solution.patch.

`grade` builds this tree's kernel and runs labs/LAB/grade.py's parts
(scripts/labgrade.py says what a grader is) on each architecture: one
line per part and architecture with the points it scored, then
"score: X/Y". The exit status is 0 only at full score.

`readme` runs every command of labs/LAB/README.md's blocks marked
`tested` in this tree: ```sh blocks hold make commands (checked with
make -n, except make debug and make gdb, which start the ```gdb blocks'
session; <dir> stands for a new directory), ```weft blocks commands typed at Weft's shell, ```gdb blocks
GDB commands. A command block not marked tested is an error.

`check` proves each lab still works: its handout builds, scores below
full, and passes the tree's tests that are not about the lab; its
solution scores full. --quick (what make test runs) checks each lab on
one architecture, alternating, grades the handout only until it loses
points, and leaves out the solution's wall-clock parts.
"""

import importlib.util
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS = ROOT / "labs"
ARCHES = ("riscv64", "aarch64")
SCORE_LINE = re.compile(r"^score: (\d+)/(\d+)$")
# Where check writes its trees; make clean removes them.
CHECK_DIR = ROOT / "build" / "labcheck"
MARK = re.compile(r"^\s*/\* LAB\((\w+)\) (BEGIN|STUB|END) \*/\s*$")
# Regions live in sources only: pages that show one (docs/labs.md) stay.
SOURCE = re.compile(r".*\.(c|h|S)$")


class LabError(Exception):
    pass


def labs():
    if not LABS.is_dir():
        return []
    return sorted(p.name for p in LABS.iterdir() if (p / "README.md").exists())


def transform(text, lab, keep_stub, where):
    """The text with every lab's regions resolved: `lab`'s to its stub if
    keep_stub, every other region (and lab's, without keep_stub) to its
    code. Raises LabError on a malformed region."""
    out, state, name = [], None, None
    for n, line in enumerate(text.splitlines(keepends=True), 1):
        m = MARK.match(line)
        if m:
            which, kind = m.groups()
            expected = {None: "BEGIN", "code": "STUB", "stub": "END"}[state]
            if kind != expected or (state and which != name):
                raise LabError(f"{where}:{n}: LAB({which}) {kind}, expected {expected}")
            state, name = {"BEGIN": "code", "STUB": "stub", "END": None}[kind], which
            continue
        stub_wanted = keep_stub and name == lab
        if state is None:
            out.append(line)
        elif state == "code" and not stub_wanted:
            out.append(line)
        elif state == "stub" and stub_wanted and line.strip() not in ("#if 0", "#endif"):
            out.append(line)
    if state:
        raise LabError(f"{where}: LAB({name}) region not closed")
    return "".join(out)


def tracked_files():
    p = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    return [f for f in p.stdout.decode().split("\0") if f]


def make_tree(lab, dest, solution):
    if lab not in labs():
        raise LabError(f"no lab {lab!r} (labs: {', '.join(labs())})")
    dest = Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise LabError(f"{dest} exists and is not empty")
    for rel in tracked_files():
        if re.fullmatch(r"labs/[^/]+/solution[^/]*(/.*)?", rel):
            continue
        src, dst = ROOT / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = src.read_text()
        except UnicodeDecodeError:
            shutil.copy2(src, dst)
            continue
        if SOURCE.match(rel) and "LAB(" in text:
            changed = transform(text, lab, not solution, rel)
            if changed != text:
                dst.write_text(changed)
                shutil.copymode(src, dst)
                continue
        # Unchanged: its time too, so that a build copied along stays
        # valid for it (check_tree).
        shutil.copy2(src, dst)
    patch = LABS / lab / "solution.patch"
    if solution and not has_solution(lab):
        raise LabError(f"{lab}: no solution in this tree (a handout has none)")
    # dest's own repository first: git apply run inside another one (as
    # under build/labcheck) would skip, silently, every path of the patch.
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    if solution and patch.exists():
        subprocess.run(["git", "apply", str(patch)], cwd=dest, check=True)
    what = "solution" if solution else "handout"
    for cmd in (["git", "add", "-A"],
                ["git", "-c", "user.name=Weft", "-c", "user.email=weft@localhost",
                 "commit", "-q", "-m", f"Weft: the {lab} lab's {what}"]):
        subprocess.run(cmd, cwd=dest, check=True)
    print(f"lab: {lab}: {what} written to {dest}")


def has_solution(lab):
    """Whether this tree has the lab's solution (a handout has none)."""
    return (LABS / lab / "solution.patch").exists() or has_regions(lab)


def has_regions(lab):
    marker = f"/* LAB({lab}) BEGIN */"
    return any(marker in (ROOT / rel).read_text(errors="replace")
               for rel in tracked_files() if SOURCE.match(rel) and (ROOT / rel).is_file())


# ---- grade ------------------------------------------------------------------

def load_grader(lab, root=ROOT):
    path = root / "labs" / lab / "grade.py"
    if not path.exists():
        raise LabError(f"{lab}: no grader ({path.relative_to(root)})")
    sys.path.insert(0, str(root / "scripts"))
    spec = importlib.util.spec_from_file_location(f"grade_{lab}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(root, arch, sanitize=None):
    cmd = ["make", "--no-print-directory", "-j2", f"ARCH={arch}", "kernel"]
    if sanitize:
        cmd.append(f"SANITIZE={sanitize}")
    p = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if p.returncode:
        tail = (p.stdout + p.stderr).splitlines()[-15:]
        raise LabError(f"{arch}: the build failed:\n  " + "\n  ".join(tail))


def grade(lab, arches, until_lost=False, out=print, wallclock=True):
    """Runs the lab's parts on each architecture; returns (score, total).
    until_lost: stop at the first part that loses points. wallclock=False:
    leave out the parts that measure wall-clock time (not counted)."""
    from labgrade import Failure
    grader = load_grader(lab)
    score = total = 0
    for arch in arches:
        build(ROOT, arch)
        for part in grader.PARTS:
            if part.wallclock and not wallclock:
                out(f"{arch} {part.name}: left out (wall-clock; make grade runs it)")
                continue
            total += part.points
            began = time.monotonic()
            try:
                note = part.check(arch)
                got, why, evidence = part.points, note, []
            except Failure as f:
                got, why, evidence = 0, f.reason, f.evidence
            except Exception as e:  # a crash of the grader scores nothing
                got, why, evidence = 0, f"grader error: {e!r}", []
            score += got
            secs = time.monotonic() - began
            out(f"{arch} {part.name}: {got}/{part.points}" +
                (f"  ({why})" if why else "") + f"  [{secs:.0f} s]")
            for line in evidence:
                out("    " + line)
            if until_lost and got < part.points:
                return score, total
    return score, total


# ---- readme -----------------------------------------------------------------

FENCE = re.compile(r"^```(\S*)([^\n]*)\n(.*?)^```\s*$", re.M | re.S)
COMMAND_LANGS = ("sh", "weft", "gdb", "console", "bash", "shell", "")
SHELL_PROMPT = "$ "
SHELL_TIMEOUT_S = 60
SHELL_ERRORS = re.compile(r"PANIC|no such program|cannot run|unknown command")


def doc_blocks(path, arch):
    """{language: [lines]} of a page's tested command blocks for arch."""
    text = path.read_text()
    name = path.relative_to(ROOT)
    blocks = {"sh": [], "weft": [], "gdb": []}
    for m in FENCE.finditer(text):
        lang, tags, body = m.group(1), m.group(2).split(), m.group(3)
        if lang not in COMMAND_LANGS:
            continue
        if not tags or tags[0] != "tested" or lang not in blocks:
            raise LabError(f"{name}: a ```{lang} block not marked tested "
                           "(or of a language no test runs)")
        if len(tags) > 1 and arch not in tags[1:]:
            continue
        for line in body.splitlines():
            line = line.split(" #")[0].strip() if lang == "sh" else line.strip()
            if line and not line.startswith("#"):
                blocks[lang].append(line)
    return blocks


def readme(lab, arch):
    """Runs the lab README's commands for arch; returns a note."""
    return run_doc(LABS / lab / "README.md", arch)


def run_doc(path, arch):
    """Runs the commands of a page's tested blocks for arch (the shell's
    on a 4-CPU guest); returns a note, raises LabError."""
    import shlex
    import tempfile
    import labgrade
    import gdbtests
    from boot import Session
    blocks = doc_blocks(path, arch)
    page = path.relative_to(ROOT)
    shell = [shlex.split(line) for line in blocks["sh"]]
    debug = [w for w in shell if w[:2] == ["make", "debug"]]
    gdbrun = [w for w in shell if w[:2] == ["make", "gdb"]]
    for words in shell:
        if words[0] != "make":
            raise LabError(f"{page}: `{' '.join(words)}`: a tested sh block holds make commands")
        if words in debug or words in gdbrun:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            words = [w.replace("<dir>", tmp + "/t") for w in words]
            p = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True,
                               text=True, env=gdbtests.gdb_env())
        if p.returncode:
            raise LabError(f"{page}: `{' '.join(words)}` fails: {p.stderr.strip()[-300:]}")
    ran = len(shell)
    if blocks["weft"]:
        with Session(arch, cpus=4, mem="256M") as s:
            if s.expect_prompt(SHELL_PROMPT, SHELL_TIMEOUT_S) is None:
                raise LabError(f"{page}: no shell prompt: " + " / ".join(s.tail(5)))
            for cmd in blocks["weft"]:
                at = len(s.text())
                s.send(cmd + "\n")
                if s.expect_prompt(SHELL_PROMPT, SHELL_TIMEOUT_S, after=at) is None:
                    raise LabError(f"{page}: `{cmd}` at Weft's shell: no prompt within "
                                   f"{SHELL_TIMEOUT_S} s: " + " / ".join(s.tail(5)))
                bad = [x for x in s.text()[at:] if SHELL_ERRORS.search(x)]
                if bad:
                    raise LabError(f"{page}: `{cmd}` at Weft's shell: {bad[0]}")
                ran += 1
    if blocks["gdb"]:
        if len(debug) != 1 or len(gdbrun) != 1:
            raise LabError(f"{page}: GDB commands need one `make debug` and one `make gdb` "
                           f"for {arch}")
        gdbtests.Failure = labgrade.Failure
        port = gdbtests.free_port()
        try:
            with gdbtests.debug_session(arch, None, port, "", qemu_cmd=debug[0],
                                        gdb_cmd=gdbrun[0]) as (qemu, gdb, startup):
                for cmd in blocks["gdb"]:
                    if cmd == "quit":
                        break
                    out = gdb.run(cmd)
                    m = (gdbtests.ERROR_PATTERNS.search(out)
                         or re.search(r"Undefined \w+ command", out))
                    if m:
                        raise LabError(f"{page}: (gdb) {cmd}: {m.group(0)}")
                    ran += 1
        except (labgrade.Failure, gdbtests.GdbTimeout) as e:
            raise LabError(f"{page}: the GDB session: {e}")
    return f"{ran} commands of {page}"


# ---- check ------------------------------------------------------------------

def run_tool(args, cwd, timeout):
    p = subprocess.run([sys.executable, *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return p.returncode, p.stdout.splitlines()


def check_tree(lab, arch, what, quick):
    """Makes the lab's handout or solution under build/labcheck and checks
    it; returns a note, raises LabError."""
    dest = CHECK_DIR / f"{lab}-{arch}-{what}"
    shutil.rmtree(dest, ignore_errors=True)
    CHECK_DIR.mkdir(parents=True, exist_ok=True)
    rc, lines = run_tool(["scripts/lab.py", what, lab, str(dest)], ROOT, 120)
    if rc:
        raise LabError(f"{what} not made: " + " / ".join(lines[-5:]))
    if what == "handout":
        left = [str(p.relative_to(dest)) for p in dest.rglob("*")
                if p.is_file() and ".git" not in p.parts
                and (p.name.startswith("solution") or SOURCE.match(p.name) and any(
                    map(MARK.match, p.read_text(errors="replace").splitlines())))]
        if left:
            raise LabError(f"the handout has lab markers or solutions: {', '.join(left[:5])}")
    # The main tree's objects for every file the tree did not change:
    # make rebuilds only what the lab's regions or patch touched.
    for sanitize in ([None] if quick else [None, "ubsan"]):
        build_dir = f"build/{arch}" + (f"-{sanitize}" if sanitize else "")
        if (ROOT / build_dir).is_dir():
            (dest / "build").mkdir(exist_ok=True)
            subprocess.run(["cp", "-a", str(ROOT / build_dir), str(dest / build_dir)],
                           check=True)
    args = ["scripts/lab.py", "grade", lab, arch]
    if quick:
        # The quick check proves the lab has not rotted; wall-clock parts
        # would make it as noisy as the host (labgrade.Part).
        args += ["--until-lost"] if what == "handout" else ["--no-wallclock"]
    rc, lines = run_tool(args, dest, 1800)
    scores = [m for m in map(SCORE_LINE.match, lines) if m]
    if not scores:
        raise LabError(f"{what}: the grader printed no score:\n  " + "\n  ".join(lines[-20:]))
    got, of = int(scores[-1].group(1)), int(scores[-1].group(2))
    if what == "solution" and (got != of or rc):
        raise LabError(f"the solution scores {got}/{of}:\n  " + "\n  ".join(lines[-30:]))
    if what == "handout" and (got >= of or rc == 0):
        raise LabError(f"the handout scores {got}/{of}: a stub scores full:\n  " +
                       "\n  ".join(lines[-30:]))
    note = f"{what} {got}/{of}"
    if what == "solution":
        rc, lines = run_tool(["scripts/lab.py", "readme", lab, arch], dest, 600)
        if rc:
            raise LabError("\n".join(lines[-10:]))
        note += f"; {lines[-1]}"
    if what == "solution" and not quick:
        # The host unit tests build kernel sources a solution may change.
        rc, lines = run_tool(["scripts/test.py", "--unit-only"], dest, 1800)
        if rc:
            failed = [line for line in lines if line.startswith("FAIL ")]
            raise LabError(f"the solution fails the unit tests ({lines[-1]}):\n  "
                           + "\n  ".join(failed[:20]))
        note += f"; unit tests: {lines[-1]}"
    if what == "handout" and not quick:
        fails = getattr(load_grader(lab, dest), "HANDOUT_FAILS", [])
        build(dest, arch, "ubsan")
        args = ["scripts/test.py", "--arch", arch] + [a for p in fails for a in ("--skip", p)]
        rc, lines = run_tool(args, dest, 3600)
        if rc:
            failed = [line for line in lines if line.startswith("FAIL ")]
            raise LabError(f"the handout fails tests not about the lab ({lines[-1]}):\n  "
                           + "\n  ".join(failed[:20]))
        note += f"; its other tests: {lines[-1]}"
    return note


def check(lab_names, quick):
    """make labcheck: returns the number of failures."""
    failures = 0
    for i, lab in enumerate(lab_names):
        for arch in ([ARCHES[i % 2]] if quick else ARCHES):
            for what in ("handout", "solution"):
                began = time.monotonic()
                try:
                    note = check_tree(lab, arch, what, quick)
                    print(f"PASS labcheck/{lab}/{arch}/{what}  ({note}, "
                          f"{time.monotonic() - began:.0f} s)", flush=True)
                except (LabError, subprocess.TimeoutExpired) as e:
                    failures += 1
                    print(f"FAIL labcheck/{lab}/{arch}/{what}: {e}", flush=True)
    return failures


def main(argv):
    try:
        if argv[:1] == ["list"]:
            print("\n".join(labs()))
        elif len(argv) == 3 and argv[0] in ("handout", "solution"):
            make_tree(argv[1], argv[2], argv[0] == "solution")
        elif argv[:1] == ["grade"] and len(argv) >= 2:
            until_lost = "--until-lost" in argv
            wallclock = "--no-wallclock" not in argv
            rest = [a for a in argv[2:] if a not in ("--until-lost", "--no-wallclock")]
            if argv[1] not in labs():
                raise LabError(f"no lab {argv[1]!r} (labs: {', '.join(labs())})")
            if any(a not in ARCHES for a in rest):
                raise LabError(f"ARCH must be one of {', '.join(ARCHES)}")
            score, total = grade(argv[1], rest or ARCHES, until_lost,
                                 out=lambda line: print(line, flush=True),
                                 wallclock=wallclock)
            print(f"score: {score}/{total}")
            return 0 if score == total else 1
        elif argv[:1] == ["readme"] and len(argv) in (2, 3):
            if argv[1] not in labs():
                raise LabError(f"no lab {argv[1]!r} (labs: {', '.join(labs())})")
            for arch in argv[2:] or ARCHES:
                print(f"{arch}: {readme(argv[1], arch)}")
        elif argv[:1] == ["check"]:
            quick = "--quick" in argv
            names = [a for a in argv[1:] if a != "--quick"] or labs()
            unknown = [n for n in names if n not in labs()]
            if unknown:
                raise LabError(f"no lab {unknown[0]!r} (labs: {', '.join(labs())})")
            failures = check(names, quick)
            print(f"labcheck: {len(names)} labs, {failures} failed")
            return 1 if failures else 0
        else:
            print(__doc__.split("\n\n")[1], file=sys.stderr)
            return 2
    except LabError as e:
        print(f"lab: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
