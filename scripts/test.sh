#!/usr/bin/env bash
# Runs warden's whole test suite: unit and property tests, fail2ban's sample-log
# conformance suite against the installed fail2ban package, warden's own filter samples,
# and the tests that need root (nftables in a private network namespace).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
swift build --build-tests
# One test at a time: several suites fork child processes (shm rings, crash tests), and
# a fork while another suite's threads hold runtime locks can leave the child deadlocked.
# Sequential runs also keep the process-wide TZ that the date suites set stable.
swift test --skip-build --no-parallel "$@"
# The release build end to end (the suite runs debug builds, and optimizer-dependent bugs
# show only in release); not when only some tests were asked for.
if (($# == 0)); then scripts/release-check.sh; fi
