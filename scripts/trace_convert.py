#!/usr/bin/env python3
"""Turn a Weft console log holding a trace dump into a timeline.

    python3 scripts/trace_convert.py LOG [--json OUT.json] [--svg OUT.svg]
                                         [--from MS] [--to MS] [--title TEXT]
                                         [--summary]

The `trace` program has the kernel print its per-CPU event rings on the
console (kernel/trace.c):

    trace: begin <cpus> <ns per timer tick>
    T <cpu> <ns since boot> <event> <arg>      (one line per event)
    trace: end

This script reads the last complete dump in LOG (other console lines are
ignored) and writes:

  --json  Chrome trace-event JSON, for Perfetto (ui.perfetto.dev) or
          chrome://tracing: one track per CPU holding the CPU's states as
          complete ("X") events, and every recorded event as an instant
          ("i") event with its argument. Timestamps are microseconds since
          the first event of the dump.
  --summary  each gil run's share of time per state and CPU, and how long
          the lock sat free while a CPU waited for it (lock_handovers).
  --svg   a picture: one lane per CPU coloured by state, a time axis and a
          legend. --from/--to (milliseconds since the first event) zoom in.

What a CPU is doing at each moment follows from its events:

  spinning   from LOCK_WAIT to LOCK_ACQUIRE (waiting for the lock)
  kernel     from LOCK_ACQUIRE to LOCK_RELEASE (holding the lock)
  idle       from IDLE_ENTER to IDLE_EXIT (asleep in wfi), or the idle
             thread between letting go of the lock and sleeping
  user       otherwise: a thread runs in user mode

Before its first event a CPU's state is inferred from that event (a CPU
whose first event is IDLE_EXIT was idle); a CPU whose ring filled up has
lost its oldest events, and its lane is left empty before its first one.

If the log also holds `gil -v` lines ("gil-raw <workload> threads=<k>
start_ns=<ns> elapsed_ns=<ns> ..."), each run is marked above the lanes,
and --summary prints the share of each run's time every CPU spent in
each state.

Standard library only.
"""

import argparse
import json
import math
import re
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
SYSCALL_HEADER = ROOT / "kernel" / "include" / "uapi" / "syscall.h"

# enum trace_event in kernel/include/uapi/lockstat.h.
EVENT_NAMES = {
    1: "LOCK_WAIT", 2: "LOCK_ACQUIRE", 3: "LOCK_RELEASE", 4: "SWITCH",
    5: "SYSCALL_ENTER", 6: "SYSCALL_EXIT", 7: "IRQ", 8: "IDLE_ENTER",
    9: "IDLE_EXIT",
}
IRQ_NAMES = {1: "timer", 2: "IPI", 3: "device"}
# Events a CPU records only while holding the lock.
HOLDING_EVENTS = {"LOCK_RELEASE", "SWITCH", "SYSCALL_ENTER", "SYSCALL_EXIT", "IRQ"}
# Events per CPU ring (TRACE_PAGES * PAGE_SIZE / sizeof(struct trace_entry)
# in kernel/trace.c): a CPU with this many has probably lost older ones.
RING_EVENTS = 16 * 4096 // 16
LOCK_EVENT_NAMES = ("LOCK_WAIT", "LOCK_ACQUIRE", "LOCK_RELEASE")

STATES = ("user", "kernel", "spin", "idle")
STATE_LABELS = {
    "user": "user code",
    "kernel": "kernel, holding the lock",
    "spin": "spinning for the lock",
    "idle": "idle (wfi)",
}
STATE_COLOURS = {"user": "#43a047", "kernel": "#1e88e5", "spin": "#e53935",
                 "idle": "#e0e0e0"}
# Colour names chrome://tracing knows (Perfetto picks its own).
STATE_CNAMES = {"user": "good", "kernel": "generic_work", "spin": "terrible",
                "idle": "grey"}

BEGIN = re.compile(r"trace: begin (\d+) (\d+)\s*$")
END = re.compile(r"trace: end\s*$")
EVENT = re.compile(r"^T (\d+) (\d+) (\d+) (\d+)\s*$")
GIL_RUN = re.compile(r"^gil-raw (\w+) threads=(\d+) .*start_ns=(\d+) elapsed_ns=(\d+)")

# SVG layout, in pixels.
SVG_PLOT_WIDTH = 1000
SVG_LEFT = 70
SVG_RIGHT = 20
SVG_TOP = 40
SVG_MARK_HEIGHT = 40
SVG_MARK_LABEL_STEP = 12
SVG_MARK_CHAR_WIDTH = 5.5  # of the 10 px labels, about
SVG_LANE_HEIGHT = 36
SVG_LANE_GAP = 10
SVG_AXIS_HEIGHT = 40
SVG_LEGEND_HEIGHT = 30
SVG_AXIS_TICKS = 10  # about this many labelled ticks


class TraceError(Exception):
    pass


class Trace:
    """One dump: the CPU count, the timer resolution and each CPU's events
    as (ns, event name, arg) in the order recorded."""

    def __init__(self, ncpus, ns_per_tick, events, runs):
        self.ncpus, self.ns_per_tick = ncpus, ns_per_tick
        self.events = events      # cpu -> [(ns, name, arg)]
        self.runs = runs          # [(label, start_ns, end_ns)] from gil -v
        stamps = [e[0] for evs in events.values() for e in evs]
        self.start = min(stamps) if stamps else 0
        self.end = max(stamps) if stamps else 0


def parse_log(lines):
    """The last complete dump in the console lines, as a Trace."""
    dump, current, header, runs = None, None, None, []
    for raw in lines:
        line = raw.rstrip("\r\n")
        m = BEGIN.search(line)
        if m:
            header, current = (int(m.group(1)), int(m.group(2))), []
            continue
        if current is not None and END.search(line):
            dump, current = (header, current), None
            continue
        m = EVENT.match(line)
        if m and current is not None:
            current.append(tuple(int(g) for g in m.groups()))
            continue
        m = GIL_RUN.match(line)
        if m:
            start, elapsed = int(m.group(3)), int(m.group(4))
            runs.append((f"{m.group(1)} x{m.group(2)}", start, start + elapsed))
    if dump is None:
        raise TraceError("no complete dump ('trace: begin' ... 'trace: end') in the log")
    (ncpus, ns_per_tick), rows = dump
    events = {cpu: [] for cpu in range(ncpus)}
    for cpu, ns, event, arg in rows:
        if cpu not in events:
            raise TraceError(f"event for cpu {cpu}, but the dump has {ncpus} CPUs")
        events[cpu].append((ns, EVENT_NAMES.get(event, f"EVENT_{event}"), arg))
    return Trace(ncpus, ns_per_tick, events, runs)


def syscall_names():
    """Syscall numbers to names, from the uapi header if it is there."""
    try:
        text = SYSCALL_HEADER.read_text()
    except OSError:
        return {}
    return {int(num): name for name, num in
            re.findall(r"^#define SYS_(\w+) (\d+)", text, re.M) if name != "COUNT"}


def initial_state(first):
    """(holding, idle, thread) before a CPU's first recorded event."""
    name = first[1]
    if name == "IDLE_EXIT":
        return False, True, 0
    if name == "IDLE_ENTER":
        return False, False, 0
    if name in HOLDING_EVENTS:
        return True, False, None
    return False, False, None  # LOCK_WAIT or LOCK_ACQUIRE: came from user mode


def cpu_intervals(trace, cpu):
    """The CPU's states as [(start ns, end ns, state, thread)], in order;
    thread is the tid running (0: the idle thread, None: unknown)."""
    events = trace.events[cpu]
    if not events:
        return [(trace.start, trace.end, "idle", 0)]
    wrapped = len(events) >= RING_EVENTS
    holding, idle, thread = initial_state(events[0])
    spinning = False
    out = []

    def state():
        if spinning:
            return "spin"
        if holding:
            return "kernel"
        if idle or thread == 0:
            return "idle"
        return "user"

    since = events[0][0] if wrapped else trace.start
    for ns, name, arg in events:
        now = state(), thread
        if name == "LOCK_WAIT":
            spinning = True
        elif name == "LOCK_ACQUIRE":
            spinning, holding = False, True
        elif name == "LOCK_RELEASE":
            holding = False
        elif name == "SWITCH":
            thread = arg
        elif name == "IDLE_ENTER":
            idle = True
        elif name == "IDLE_EXIT":
            idle = False
        if (state(), thread) != now:
            if ns > since:
                out.append((since, ns, *now))
            since = ns
    if trace.end > since:
        out.append((since, trace.end, state(), thread))
    return out


def to_us(trace, ns):
    return round((ns - trace.start) / 1000, 3)


def chrome_json(trace):
    """The trace as a Chrome trace-event document (a dict)."""
    names = syscall_names()
    pid = 1
    out = [{"name": "process_name", "ph": "M", "pid": pid, "args": {"name": "Weft"}}]
    for cpu in range(trace.ncpus):
        out.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": cpu,
                    "args": {"name": f"CPU {cpu}"}})
        out.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": cpu,
                    "args": {"sort_index": cpu}})
        for start, end, st, thread in cpu_intervals(trace, cpu):
            ev = {"name": STATE_LABELS[st], "cat": "state", "ph": "X", "pid": pid,
                  "tid": cpu, "ts": to_us(trace, start),
                  "dur": round((end - start) / 1000, 3), "cname": STATE_CNAMES[st],
                  "args": {"state": st}}
            if thread is not None:
                ev["args"]["thread"] = thread
            out.append(ev)
        for ns, name, arg in trace.events[cpu]:
            args = {"arg": arg, "ns": ns}
            if name.startswith("SYSCALL") and arg in names:
                args["syscall"] = names[arg]
            elif name == "IRQ" and arg in IRQ_NAMES:
                args["irq"] = IRQ_NAMES[arg]
            out.append({"name": name, "cat": "event", "ph": "i", "s": "t", "pid": pid,
                        "tid": cpu, "ts": to_us(trace, ns), "args": args})
    for label, start, end in trace.runs:
        if start >= trace.start and end <= trace.end:
            out.append({"name": label, "cat": "run", "ph": "X", "pid": pid,
                        "tid": trace.ncpus, "ts": to_us(trace, start),
                        "dur": round((end - start) / 1000, 3)})
    if trace.runs:
        out.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": trace.ncpus,
                    "args": {"name": "gil runs"}})
    return {"traceEvents": out, "displayTimeUnit": "ns",
            "otherData": {"cpus": trace.ncpus, "ns_per_tick": trace.ns_per_tick,
                          "first_event_ns_since_boot": trace.start}}


def nice_step(span):
    """A tick spacing of 1, 2 or 5 times a power of ten giving about
    SVG_AXIS_TICKS ticks over span."""
    raw = span / SVG_AXIS_TICKS
    step = 1.0
    while step * 10 <= raw:
        step *= 10
    while step > raw:
        step /= 10
    for mult in (1, 2, 5, 10):
        if step * mult >= raw:
            return step * mult
    return step * 10


def blend(shares):
    """The colour of a pixel whose time is shared between states: each
    state's colour weighted by its share."""
    total = sum(shares.values())
    rgb = [0.0, 0.0, 0.0]
    for st, t in shares.items():
        colour = STATE_COLOURS[st]
        for i in range(3):
            rgb[i] += int(colour[1 + 2 * i:3 + 2 * i], 16) * t / total
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def lane_pixels(intervals, lo, hi):
    """One lane as runs of pixel columns: [(x0, x1, colour, state)], x in
    pixels from the plot's left edge, state the one that had most of the
    run's first pixel. Why pixels and not one rectangle per interval: a
    state shorter than a pixel would otherwise be drawn by anti-aliasing
    as a hairline of any weight; here a pixel's colour mixes the states
    by the time each took."""
    ns_per_px = (hi - lo) / SVG_PLOT_WIDTH
    pixels = [dict() for _ in range(SVG_PLOT_WIDTH)]
    for start, end, st, _ in intervals:
        start, end = max(start, lo), min(end, hi)
        px = int((start - lo) / ns_per_px)
        while start < end and px < SVG_PLOT_WIDTH:
            edge = min(end, lo + (px + 1) * ns_per_px)
            pixels[px][st] = pixels[px].get(st, 0) + edge - start
            start, px = edge, px + 1
    runs = []
    for px, shares in enumerate(pixels):
        if not shares:
            continue  # no data: the lane stays white
        colour, st = blend(shares), max(shares, key=shares.get)
        if runs and runs[-1][1] == px and runs[-1][2] == colour:
            runs[-1][1] = px + 1
        else:
            runs.append([px, px + 1, colour, st])
    return [tuple(r) for r in runs]


def svg_timeline(trace, title, from_ms=None, to_ms=None):
    """The trace as an SVG document (a string)."""
    lo = trace.start + int((from_ms or 0) * 1e6)
    hi = trace.start + int(to_ms * 1e6) if to_ms is not None else trace.end
    hi = min(hi, trace.end)
    if hi <= lo:
        raise TraceError("empty time window")
    scale = SVG_PLOT_WIDTH / (hi - lo)
    marks = SVG_MARK_HEIGHT if trace.runs else 0
    lanes_top = SVG_TOP + marks
    lanes_height = trace.ncpus * (SVG_LANE_HEIGHT + SVG_LANE_GAP)
    width = SVG_LEFT + SVG_PLOT_WIDTH + SVG_RIGHT
    height = lanes_top + lanes_height + SVG_AXIS_HEIGHT + SVG_LEGEND_HEIGHT

    def x(ns):
        return SVG_LEFT + (min(max(ns, lo), hi) - lo) * scale

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{SVG_LEFT}" y="22" font-size="15">{escape(title)}</text>']
    if trace.runs:
        out.append('<g class="runs">')
        shown = [r for r in trace.runs if r[2] > lo and r[1] < hi]
        for i, (label, start, end) in enumerate(shown):
            x0, x1 = x(start), x(end)
            y = SVG_TOP + marks - 8
            # Labels of neighbouring runs alternate in height, so that the
            # labels of short runs do not overlap; each stays in the plot.
            half = SVG_MARK_CHAR_WIDTH * len(label) / 2
            tx = min(max((x0 + x1) / 2, SVG_LEFT + half), SVG_LEFT + SVG_PLOT_WIDTH - half)
            ty = y - 5 - (i % 2) * SVG_MARK_LABEL_STEP
            out.append(f'<line x1="{x0:.2f}" y1="{y}" x2="{x1:.2f}" y2="{y}" '
                       f'stroke="#555" stroke-width="2"/>')
            out.append(f'<text x="{tx:.2f}" y="{ty}" text-anchor="middle" '
                       f'font-size="10">{escape(label)}</text>')
        out.append("</g>")
    for cpu in range(trace.ncpus):
        y = lanes_top + cpu * (SVG_LANE_HEIGHT + SVG_LANE_GAP)
        out.append(f'<g class="lane" data-cpu="{cpu}">')
        out.append(f'<text x="{SVG_LEFT - 10}" y="{y + SVG_LANE_HEIGHT / 2 + 4}" '
                   f'text-anchor="end">CPU {cpu}</text>')
        out.append(f'<rect x="{SVG_LEFT}" y="{y}" width="{SVG_PLOT_WIDTH}" '
                   f'height="{SVG_LANE_HEIGHT}" fill="white" stroke="#999"/>')
        for x0, x1, colour, st in lane_pixels(cpu_intervals(trace, cpu), lo, hi):
            out.append(f'<rect class="{st}" x="{SVG_LEFT + x0}" y="{y}" width="{x1 - x0}" '
                       f'height="{SVG_LANE_HEIGHT}" fill="{colour}"/>')
        out.append("</g>")
    axis_y = lanes_top + lanes_height
    out.append('<g class="axis">')
    out.append(f'<line x1="{SVG_LEFT}" y1="{axis_y}" x2="{SVG_LEFT + SVG_PLOT_WIDTH}" '
               f'y2="{axis_y}" stroke="black"/>')
    step_ms = nice_step((hi - lo) / 1e6)
    decimals = max(0, -math.floor(math.log10(step_ms) + 1e-9))
    tick = math.ceil((lo - trace.start) / 1e6 / step_ms - 1e-9)
    while trace.start + tick * step_ms * 1e6 <= hi + 1:
        ms = tick * step_ms
        tx = x(trace.start + ms * 1e6)
        out.append(f'<line x1="{tx:.2f}" y1="{axis_y}" x2="{tx:.2f}" y2="{axis_y + 5}" '
                   f'stroke="black"/>')
        out.append(f'<text x="{tx:.2f}" y="{axis_y + 18}" text-anchor="middle">'
                   f'{ms:.{decimals}f}</text>')
        tick += 1
    out.append(f'<text x="{SVG_LEFT + SVG_PLOT_WIDTH}" y="{axis_y + 34}" text-anchor="end">'
               f'ms since the trace started</text>')
    out.append("</g>")
    legend_y = axis_y + SVG_AXIS_HEIGHT + 8
    out.append('<g class="legend">')
    lx = SVG_LEFT
    for st in STATES:
        out.append(f'<rect x="{lx}" y="{legend_y}" width="14" height="14" '
                   f'fill="{STATE_COLOURS[st]}" stroke="#999"/>')
        out.append(f'<text x="{lx + 20}" y="{legend_y + 12}">{STATE_LABELS[st]}</text>')
        lx += 40 + 7 * len(STATE_LABELS[st])
    out.append("</g>")
    out.append(f'<text class="note" x="{SVG_LEFT + SVG_PLOT_WIDTH}" y="{legend_y + 12}" '
               'text-anchor="end" font-size="10">a pixel shared by several states mixes '
               'their colours by time</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def run_summary(trace):
    """For each marked gil run, the share of its time each CPU spent in
    each state, as lines of text."""
    lines = []
    for label, start, end in trace.runs:
        if start < trace.start or end > trace.end:
            continue
        cells = []
        for cpu in range(trace.ncpus):
            spent = dict.fromkeys(STATES, 0)
            for a, b, st, _ in cpu_intervals(trace, cpu):
                spent[st] += max(0, min(b, end) - max(a, start))
            cells.append(f"cpu {cpu}: " + " ".join(
                f"{st} {100 * spent[st] / (end - start):3.0f}%" for st in STATES))
        lines.append(f"{label:12} {(end - start) / 1e6:8.2f} ms   " + "   ".join(cells))
    return lines


def lock_handovers(trace):
    """How long the lock sat free while some CPU waited for it: one gap per
    hand-over that made a waiter wait, from the release (or the start of
    the wait, if the lock was free then) to the next acquisition. Also the
    total time the lock was held. Returns (gaps in ns, held ns).

    With threads queued for the lock, a gap is pure loss: nobody runs
    kernel code. It should be the time a CPU needs to notice that its turn
    has come; one that lasts as long as a timer tick means the next CPU in
    line slept through its wake-up until the tick came."""
    merged = sorted((ns, cpu, event) for cpu, evs in trace.events.items()
                    for ns, event, _ in evs if event in LOCK_EVENT_NAMES)
    # since: when the holder took the lock (None: free); free_since: when
    # the lock became free with a CPU waiting (None: held, or nobody waits)
    waiting, since, free_since, gaps, held = set(), None, None, [], 0
    for ns, cpu, event in merged:
        if event == "LOCK_WAIT":
            waiting.add(cpu)
            if since is None and free_since is None:
                free_since = ns
        elif event == "LOCK_ACQUIRE":
            waiting.discard(cpu)
            if free_since is not None:
                gaps.append(ns - free_since)
            since, free_since = ns, None
        elif event == "LOCK_RELEASE":
            if since is not None:
                held += ns - since
            since = None
            free_since = ns if waiting else None
    return gaps, held


def handover_summary(gaps, held):
    """lock_handovers' figures in one line."""
    if not gaps:
        return "lock hand-overs: no CPU ever waited for the lock"
    gaps = sorted(gaps)
    return (f"lock hand-overs to a waiting CPU: {len(gaps)}, free in between: median "
            f"{gaps[len(gaps) // 2] / 1e3:.1f} us, longest {gaps[-1] / 1e3:.1f} us, "
            f"{sum(gaps) / 1e6:.2f} ms in all (the lock was held {held / 1e6:.2f} ms)")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Weft trace dump to Chrome JSON and SVG.")
    ap.add_argument("log", help="captured console output holding a trace dump")
    ap.add_argument("--json", help="write Chrome trace-event JSON here")
    ap.add_argument("--svg", help="write the SVG timeline here")
    ap.add_argument("--from", dest="from_ms", type=float,
                    help="SVG: start this many ms after the first event")
    ap.add_argument("--to", dest="to_ms", type=float,
                    help="SVG: end this many ms after the first event")
    ap.add_argument("--title", default="Weft: what each CPU did",
                    help="SVG title")
    ap.add_argument("--summary", action="store_true",
                    help="print each gil run's share of time per state, per CPU")
    args = ap.parse_args(argv)
    try:
        with open(args.log, errors="replace") as f:
            trace = parse_log(f)
        for cpu, evs in trace.events.items():
            if len(evs) >= RING_EVENTS:
                print(f"trace_convert: cpu {cpu} recorded {len(evs)} events: its ring "
                      "was full, so its oldest events are lost", file=sys.stderr)
        if args.json:
            Path(args.json).write_text(json.dumps(chrome_json(trace)) + "\n")
        if args.svg:
            Path(args.svg).write_text(svg_timeline(trace, args.title, args.from_ms,
                                                   args.to_ms))
    except (OSError, TraceError) as e:
        print(f"trace_convert: {e}", file=sys.stderr)
        return 1
    if args.summary:
        print("\n".join(run_summary(trace)))
        print(handover_summary(*lock_handovers(trace)))
    counts = ", ".join(f"cpu {c}: {len(e)}" for c, e in trace.events.items())
    span = (trace.end - trace.start) / 1e6
    print(f"trace_convert: {trace.ncpus} CPUs, {span:.3f} ms, events {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
