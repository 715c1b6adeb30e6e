#!/usr/bin/env bash
# Installs what is missing, builds warden in release mode and shows its main job: the
# daemon on a demo jail (examples/demo-jail) fed by a generated log, banning an address
# in nftables — inside a private network namespace, so the host's firewall is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
swift build -c release --product warden
warden=$PWD/.build/release/warden
config=$PWD/examples/demo-jail
work=/tmp/warden-demo   # the demo jail's logpath, socket and store live here

rm -rf "$work" && mkdir -p "$work" && : > "$work/auth.log"

# Everything below runs in a fresh network namespace (unshare -n): its own empty ruleset.
unshare -n bash -s "$warden" "$config" "$work" <<'DEMO'
set -euo pipefail
warden=$1 config=$2 work=$3
ip link set lo up
step() { echo; echo "\$ $*"; "$@"; }

echo "\$ warden start --config examples/demo-jail"
"$warden" start --config "$config" --foreground --logtarget "$work/warden.log" &
for _ in $(seq 100); do "$warden" ping --config "$config" >/dev/null 2>&1 && break; sleep 0.05; done
step "$warden" ping --config "$config"

echo
echo "\$ # three authentication failures from 192.0.2.2 appear in $work/auth.log"
for _ in 1 2 3; do
    echo "$(date -Iseconds) demo-host demo[42]: authentication failure for root from 192.0.2.2" | tee -a "$work/auth.log"
done
for _ in $(seq 100); do nft list set inet warden demo-v4 2>/dev/null | grep -q 192.0.2.2 && break; sleep 0.02; done

step nft list set inet warden demo-v4
step "$warden" status demo --config "$config"
step "$warden" stop --config "$config"
wait
echo
echo "\$ cat $work/warden.log"
cat "$work/warden.log"
DEMO
