#!/bin/sh
# User CPU of `warden regex --json` against the naive PCRE2 JIT loop (Benchmarks/regex/pcre2_loop.c,
# every pattern on every whole line; Benchmarks/regex/run.py also measures the faithful one)
# on the same log, median of N runs each. User time, not wall clock: on a shared, busy
# machine it is what the matcher itself costs.
#
#   Benchmarks/matcher/user_cpu.sh WARDEN [LOG] [RUNS]
#
# LOG defaults to the regex benchmark's generated sshd log (python3 Benchmarks/regex/sshd_log.py).
set -eu
warden=${1:?usage: user_cpu.sh WARDEN [LOG] [RUNS]}
log=${2:-/tmp/warden-bench-regex/sshd-200000-seed1.log}
runs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -o "$work/pcre2_loop" "$here/../regex/pcre2_loop.c" -lpcre2-8
"$warden" regex --print-regexes --config /etc/fail2ban "$log" sshd > "$work/sshd.pcre"
lines=$(wc -l < "$log")

median_user() {
    i=0
    while [ "$i" -lt "$runs" ]; do
        /usr/bin/time -f "%U" -o "$work/t" "$@" > /dev/null
        cat "$work/t"
        i=$((i + 1))
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

warden_s=$(median_user "$warden" regex --json --config /etc/fail2ban "$log" sshd)
loop_s=$(median_user "$work/pcre2_loop" "$work/sshd.pcre" "$log")
awk -v n="$lines" -v w="$warden_s" -v c="$loop_s" -v r="$runs" 'BEGIN {
    printf "lines %d, median of %d runs, user CPU\n", n, r
    printf "warden regex --json   %6.2f s  %6.2f us/line  %9.0f lines/s\n", w, w * 1e6 / n, n / w
    printf "PCRE2 JIT loop (naive)%6.2f s  %6.2f us/line  %9.0f lines/s\n", c, c * 1e6 / n, n / c
    printf "warden / C loop throughput: %.2f\n", c / w
}'
