#!/usr/bin/env bash
# Checks the release build end to end; scripts/test.sh runs it after the test suite.
#
# The suite runs debug builds, and an optimizer-dependent bug shows only in release: in
# session 5 a miscompiled address writer put garbage into every ban's stored address and
# NOTICE line while the kernel set was right. So this runs scripts/demo.sh (release daemon,
# nftables in a private namespace) and checks that the banned address is the same in the
# kernel set, in `warden status`, in the NOTICE line and in the ban store; then that
# `warden regex --json --raw` prints the same failures with the release and the debug build
# on warden's sample logs and on fail2ban's.
set -euo pipefail
cd "$(dirname "$0")/.."

failures=0
fail() { echo "release check FAILED: $*" >&2; failures=$((failures + 1)); }

output=$(scripts/demo.sh 2>&1) || { echo "$output"; fail "scripts/demo.sh exited with an error"; exit 1; }
address=192.0.2.2
grep -q "elements = { $address " <<<"$output" || fail "the kernel set does not hold $address"
grep -q "Banned IP list:	$address\$" <<<"$output" || fail "warden status does not list $address"
grep -q "NOTICE   \[demo\] Ban $address " <<<"$output" || fail "no NOTICE line bans $address"
stored=$(sqlite3 /tmp/warden-demo/warden.sqlite3 "SELECT address FROM bans; SELECT address FROM current;" | sort -u)
[[ "$stored" == "$address" ]] || fail "the ban store holds '$stored', not $address"

release=.build/release/warden
debug=.build/debug/warden
[[ -x "$debug" ]] || swift build --product warden
samples=/usr/lib/python3/dist-packages/fail2ban/tests/files/logs
compare() {  # config, log, filter
    local fast slow
    fast=$("$release" regex --json --raw --config "$1" "$2" "$3" 2>&1 | grep -v '^{"summary"') || true
    slow=$("$debug" regex --json --raw --config "$1" "$2" "$3" 2>&1 | grep -v '^{"summary"') || true
    [[ "$fast" == "$slow" ]] || fail "warden regex differs between release and debug on $2 with $3"
    compared=$((compared + 1))
}
compared=0
for log in filters/samples/*; do
    compare filters "$log" "$(basename "$log")"
done
for filter in sshd postfix dovecot nginx-http-auth apache-auth; do
    compare /etc/fail2ban "$samples/$filter" "$filter"
done

if ((failures)); then
    echo "$output"
    exit 1
fi
echo "release check: $address banned and recorded alike in the kernel set, status, log and store;" \
     "warden regex identical in release and debug on $compared logs"
