#!/bin/sh
# Firewall benchmark: time to ban N addresses (default 5,000) in warden's inet table
# through one transaction (NftablesFirewall.apply), through one transaction per ban, and
# the way fail2ban 1.0.2's nftables action does it (one `/bin/sh -c "nft add element ..."`
# process per ban, into its own f2b-table), each run in a fresh private network namespace
# (`warden firewall-bench` unshares itself; the host's ruleset is never touched).
# Prints medians of RUNS runs and the per-ban ratio. Needs root.
# Usage: Benchmarks/firewall/run.sh [addresses] [runs]
set -eu
cd "$(dirname "$0")/../.."
ADDRESSES=${1:-5000}
RUNS=${2:-3}
# WARDEN=path/to/release/warden skips the build.
if [ -z "${WARDEN:-}" ]; then
  swift build -c release --scratch-path .build-fw --product warden >&2
  WARDEN=.build-fw/release/warden
fi
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(nft --version), kernel $(uname -r)"
"$WARDEN" firewall-bench --addresses "$ADDRESSES" --runs "$RUNS"
