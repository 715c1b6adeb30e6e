#!/bin/sh
# IPC channel benchmark: `warden ipc-bench` (release build), 100-byte messages, 1x1, 1x2
# and 4x2 writers x readers for each adapter, three runs each; prints a markdown table of
# medians (slowest reader's messages/s, p50/p99 latency, CPU per message, lost) and the
# shm/socket/file ratio. Usage: Benchmarks/ipc/run.sh [total-messages] > table.md
set -eu
cd "$(dirname "$0")/../.."
MESSAGES=${1:-2000000}
# WARDEN=path/to/release/warden skips the build.
if [ -z "${WARDEN:-}" ]; then
  swift build -c release --scratch-path .build-ipca-release --product warden >&2
  WARDEN=.build-ipca-release/release/warden
fi
OUT=$(mktemp)
for adapter in shm socket file; do
  for shape in "1 1" "1 2" "4 2"; do
    set -- $shape
    per_writer=$((MESSAGES / $1))
    for run in 1 2 3; do
      "$WARDEN" ipc-bench --adapter "$adapter" --writers "$1" --readers "$2" --messages "$per_writer" --size 100 --json \
        | sed "s/^{/{\"run\":$run,/" >> "$OUT" || echo "{\"adapter\":\"$adapter\",\"writers\":$1,\"readers\":$2,\"failed\":true}" >> "$OUT"
    done
  done
done
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = {}
for row in rows:
    groups.setdefault((row["adapter"], row["writers"], row["readers"]), []).append(row)
print("| adapter | writers x readers | msg/s (slowest reader, median of 3) | p50 | p99 | CPU ns/msg | lost |")
print("|---|---|---:|---:|---:|---:|---:|")
medians = {}
for (adapter, writers, readers), runs in groups.items():
    ok = [r for r in runs if not r.get("failed")]
    if not ok:
        print(f"| {adapter} | {writers} x {readers} | failed | | | | |")
        continue
    rate = statistics.median(r["messages_per_second"] for r in ok)
    medians[(adapter, writers, readers)] = rate
    p50 = statistics.median(r["p50_ns"] for r in ok) / 1000
    p99 = statistics.median(r["p99_ns"] for r in ok) / 1000
    cpu = statistics.median(r["cpu_ns_per_message"] for r in ok)
    lost = max(r["lost"] for r in ok)
    print(f"| {adapter} | {writers} x {readers} | {rate/1e6:.2f} M | {p50:.0f} µs | {p99:.0f} µs | {cpu:.0f} | {lost} |")
print()
print("| writers x readers | shm : socket : file |")
print("|---|---|")
for shape in [(1, 1), (1, 2), (4, 2)]:
    file = medians.get(("file",) + shape)
    if file:
        parts = [f"{medians.get((a,) + shape, 0) / file:.1f}" for a in ("shm", "socket", "file")]
        print(f"| {shape[0]} x {shape[1]} | {' : '.join(parts)} |")
PY
rm -f "$OUT"
