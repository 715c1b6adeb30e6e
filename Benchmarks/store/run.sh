#!/bin/sh
# Ban store commit latency: warden's BanStore (WAL, synchronous=NORMAL) vs fail2ban
# 1.0.2's Fail2BanDb.addBan (synchronous=OFF, journal_mode=MEMORY), same machine, same
# disk (/tmp by default), 3 runs each; prints medians of the runs.
# Usage: Benchmarks/store/run.sh [DIR] [BANS]
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-/tmp}
bans=${2:-2000}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
swiftc -O -module-name StoreBench -I "$repo/Sources/CSQLite" \
  "$repo"/Sources/WardenStore/*.swift "$repo/Benchmarks/store/main.swift" -o "$scratch/bench"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for run in 1 2 3; do
  "$scratch/bench" "$dir/warden-store-bench.sqlite3" "$bans" >> "$scratch/warden"
  /usr/bin/python3 "$repo/Benchmarks/store/fail2ban_addban.py" "$dir/fail2ban-store-bench.sqlite3" "$bans" >> "$scratch/fail2ban"
done
rm -f "$dir"/warden-store-bench.sqlite3* "$dir"/fail2ban-store-bench.sqlite3*
for key in single_median_us single_p99_us; do
  w=$(grep "^$key " "$scratch/warden" | cut -d' ' -f2 | median)
  f=$(grep "^$key " "$scratch/fail2ban" | cut -d' ' -f2 | median)
  echo "$key warden=$w fail2ban=$f ratio=$(echo "$f $w" | awk '{printf "%.1f", $1/$2}')"
done
echo "batched_bans_per_second warden=$(grep '^batched' "$scratch/warden" | cut -d' ' -f2 | median)"
