#!/usr/bin/env bash
# Runs warden's whole test suite: unit and property tests, fail2ban's sample-log
# conformance suite against the installed fail2ban package, warden's own filter samples,
# and the tests that need root (nftables in a private network namespace).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
swift build --build-tests
swift test --skip-build "$@"
