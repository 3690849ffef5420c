"""The ipcfast lab's grader: an IPC fast path, by what it does and costs.

Three parts an architecture:

- ipctests: every case of the IPC test program with 4 CPUs, the fast
  path's fallbacks included (handles passed, buffers, nobody waiting,
  refused rights, dead endpoints, a caller or server that dies).
- bench: `ipc_call_reply` in at most 800 guest instructions, counted as
  make bench counts them (-icount, one CPU).
- digest: `ipcdigest SEED ROUNDS` (labs/ipcfast/user/ipcdigest.c) with
  the fast path on, with `ipcfast=off`, and on with client and server
  pinned to different CPUs (where no hand-over is possible): the same
  digest of everything both sides received each time, and the fast path
  taken, seen in the instructions of a short round trip under -icount:
  with it on, at most FAST_SHARE of what the same calls cost with it off.
  A tree whose two runs both take the plain path scores nothing here.
"""

import random
import re

from labgrade import Failure, Part, bench, boot, passed_all

TARGET = 800  # instructions per ipc_call_reply
FAST_SHARE = 0.85  # short round trip, fast path on / off
ROUNDS = 3000
DIGEST = re.compile(r"^ipcdigest: seed (\d+) rounds (\d+) client ([0-9a-f]{16}) "
                    r"server ([0-9a-f]{16})$")
SHORT = re.compile(r"^ipcdigest: short round trip (\d+) ns$")

HANDOUT_FAILS = []  # the plain path passes every test of the tree


def check_ipctests(arch):
    return passed_all(arch, "ipctests", cpus=4)


def check_bench(arch):
    n = bench(arch, ["ipc_call_reply"])["ipc_call_reply"]
    if n > TARGET:
        raise Failure(f"ipc_call_reply takes {n} instructions, more than {TARGET}")
    return f"{n} instructions"


def digest_run(arch, seed, options="", cpus=1, pin=False):
    """One ipcdigest boot: (digest, short round trip) after checking that
    it ended well."""
    command = f"ipcdigest {'-p ' if pin else ''}{seed} {ROUNDS}"
    run = boot(arch, f"{command} {options}".strip(), cpus=cpus, icount=cpus == 1, timeout=120)
    run.expect_exit(0)
    digests, shorts = run.grep(DIGEST), run.grep(SHORT)
    if len(digests) != 1 or len(shorts) != 1:
        run.fail(f"`{command}` printed no digest or no round trip")
    return digests[0].group(0), int(shorts[0].group(1)), run


_digests = {}


def digest_runs(arch):
    """The three ipcdigest boots of one seed (fast path on, off, pinned on
    two CPUs), shared by the two parts that read them."""
    if arch not in _digests:
        seed = random.randrange(1, 1 << 32)
        _digests[arch] = (seed, digest_run(arch, seed), digest_run(arch, seed, "ipcfast=off"),
                          digest_run(arch, seed, cpus=2, pin=True))
    return _digests[arch]


def check_digest(arch):
    """The fast path delivers exactly what the plain path does."""
    seed, (on, _, _), (off, _, _), (pinned, _, _) = digest_runs(arch)
    if on != off:
        raise Failure(f"seed {seed}: the fast path changes what is received",
                      [f"fast path on:  {on}", f"ipcfast=off:   {off}"])
    if pinned != off:
        raise Failure(f"seed {seed}: client and server on different CPUs change what is "
                      "received", [f"pinned (-p):   {pinned}", f"ipcfast=off:   {off}"])
    return f"seed {seed}, same digest 3 ways"


def check_fast_seen(arch):
    """The fast path is taken: a short round trip costs clearly less with
    it than with ipcfast=off."""
    seed, (_, fast, run_on), (_, plain, run_off), _ = digest_runs(arch)
    if fast > FAST_SHARE * plain:
        raise Failure(f"seed {seed}: no fast path seen: a short round trip takes {fast} "
                      f"instructions, {plain} with ipcfast=off",
                      run_on.tail(6) + run_off.tail(6))
    return f"short round trip {fast} vs {plain} off"


PARTS = [
    Part("ipctests", 30, check_ipctests),
    Part("bench", 35, check_bench),
    Part("digest", 25, check_digest),
    Part("fast-seen", 10, check_fast_seen),
]
