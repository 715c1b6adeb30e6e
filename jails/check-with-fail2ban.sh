#!/bin/sh
# Load jails/jail.conf with warden's filters through the real fail2ban client and
# print the command stream it would send to the server (fail2ban-client -d), with
# every jail enabled. Any unreadable option, unknown filter or bad interpolation
# makes fail2ban-client fail, and so this script.
#
# Usage: jails/check-with-fail2ban.sh [-q]    (-q: only report the result)
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# fail2ban's own fail2ban.conf, action.d and paths; warden's filters and jails.
for f in /etc/fail2ban/*; do
  case $(basename "$f") in
    jail.conf|jail.local|jail.d|filter.d) ;;
    *) ln -s "$f" "$scratch/" ;;
  esac
done
ln -s "$repo/filters" "$scratch/filter.d"
ln -s "$repo/jails/jail.conf" "$scratch/jail.conf"
sed -n 's/^\[\([a-z0-9-]*\)\]$/[\1]\nenabled = true/p' "$repo/jails/jail.conf" \
  | grep -v '^\[DEFAULT\]' > "$scratch/jail.local"

fail2ban-client -c "$scratch" -d > "$scratch/stream" 2> "$scratch/errors" || {
  cat "$scratch/errors" >&2; echo "fail2ban-client could not load jails/jail.conf" >&2; exit 1; }
if grep -q 'ERROR' "$scratch/errors"; then cat "$scratch/errors" >&2; exit 1; fi
started=$(grep -c "^\['start'" "$scratch/stream")
[ "${1:-}" = "-q" ] || cat "$scratch/stream"
echo "fail2ban-client loaded $started jails from jails/jail.conf"
