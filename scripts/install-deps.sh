#!/usr/bin/env bash
# Installs the Debian packages warden builds and tests against. Idempotent: apt is
# only consulted when something is missing, so repeated runs cost nothing.
set -euo pipefail

packages=(
    libpcre2-dev      # PCRE2 (JIT) for the filter engine
    libnftables-dev   # libnftables for ban workers
    nftables          # nft, for inspecting what warden did
    fail2ban          # the reference: stock filters, sample logs, fail2ban-regex
    iproute2          # ip netns / veth for firewall tests
    pkg-config        # SwiftPM finds the system libraries through it
    python3           # runs fail2ban as the test oracle
    libsystemd-dev    # sd-journal for the systemd journal backend
    systemd-journal-remote  # writes real journal files for the journal backend's tests
    python3-systemd   # fail2ban's journal reader, the oracle for journal line format
    python3-pyinotify # fail2ban's pyinotify backend, compared in Benchmarks/tail
    libsqlite3-dev    # SQLite for the ban store (WardenStore)
    sqlite3           # the sqlite3 CLI: daemon crash tests read the store with it
)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The fail2ban package starts its own service on install; warden's tests and demos
# never want it running on the host.
if command -v systemctl >/dev/null && systemctl is-active --quiet fail2ban 2>/dev/null; then
    systemctl stop fail2ban || true
fi
