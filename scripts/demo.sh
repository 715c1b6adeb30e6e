#!/usr/bin/env bash
# Installs what is missing, builds warden in release mode and shows its main job on the
# bundled defaults: warden's own sshd filter over a sample auth.log.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
swift build -c release --product warden
warden=.build/release/warden

echo
echo "\$ warden regex --verbose examples/auth.log sshd"
"$warden" regex --verbose examples/auth.log sshd
