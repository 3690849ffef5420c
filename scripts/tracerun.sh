#!/bin/sh
# `make trace`: boot the kernel with `trace gil` on its command line, keep
# the console, and turn the kernel's event dump into a timeline.
#
#   scripts/tracerun.sh ARCH CPUS MEM KERNEL OUTDIR [gil arguments...]
#
# Leaves in OUTDIR:
#   trace.log    the console, trace dump included
#   trace.json   Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing)
#   trace.svg    one lane per CPU: user code, kernel, spinning, idle
#
# The default gil arguments keep the run small (-s 10, one try per run) so
# that no CPU's trace ring fills up, and print the raw line of each run
# (-v), which the SVG marks above the lanes.
set -eu

# The whole run, boot to power-off: a few seconds; this only bounds a hang.
TRACE_TIMEOUT_S=300
DEFAULT_GIL_ARGS="-v -r 1 -s 10"

if [ $# -lt 5 ]; then
	echo "usage: $0 ARCH CPUS MEM KERNEL OUTDIR [gil arguments...]" >&2
	exit 2
fi
arch=$1 cpus=$2 mem=$3 kernel=$4 out=$5
shift 5
gil_args=${*:-$DEFAULT_GIL_ARGS}
here=$(dirname "$0")

mkdir -p "$out"
log=$out/trace.log
echo "trace: running 'trace gil $gil_args' on $arch with $cpus CPUs; console in $log"
status=0
timeout "$TRACE_TIMEOUT_S" "$here/qemu.sh" "$arch" -smp "$cpus" -m "$mem" \
	-kernel "$kernel" -append "trace gil $gil_args panic=poweroff" \
	</dev/null >"$log" 2>&1 || status=$?
if [ "$status" -eq 124 ]; then
	echo "trace: QEMU still running after $TRACE_TIMEOUT_S s; see $log" >&2
	exit 1
fi
if ! grep -q '^trace: end' "$log"; then
	echo "trace: no complete trace dump in $log" >&2
	tail -n 20 "$log" >&2
	exit 1
fi
sed -n '/^gil: /,/^trace: begin/p' "$log" | grep -v '^gil-raw \|^trace: begin'
python3 "$here/trace_convert.py" "$log" --json "$out/trace.json" --svg "$out/trace.svg" --summary \
	--title "trace gil $gil_args: $arch, $cpus CPUs"
echo "trace: wrote $out/trace.json (open it in ui.perfetto.dev) and $out/trace.svg"
