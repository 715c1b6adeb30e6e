#!/usr/bin/python3
"""Per-line cost of `warden regex` and of the faithful PCRE2 loop, from callgrind.

Wall-clock times on a shared VM move by +-30% from minute to minute; callgrind's counts do
not. This runs both tools under callgrind with its cache and branch simulation on the
first 20,000 lines of the benchmark's sshd log (and warden once more on an empty log, to
take its start-up out) and prints per line:

  Ir      instructions executed
  I1mr    first-level instruction-cache misses (the per-line code of warden and of PCRE2's
          JIT together is larger than a 32 KiB L1i, so most of it is fetched again per line)
  D1m     first-level data-cache misses (reads and writes)
  Bcm     mispredicted conditional branches (callgrind's simple predictor)
  est.cycles  Ir + 12 x I1mr + 10 x D1m + 15 x (Bcm + indirect mispredicts): a rough
          cycle estimate that ranks changes the way the wall clock does, without its noise

Usage: /usr/bin/python3 Benchmarks/regex/cost.py [--warden .build/release/warden]
The loop's patterns and date template are warden's (`--print-regexes`, the summary).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import sshd_log  # noqa: E402

EVENTS = ["Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw", "Bc", "Bcm", "Bi", "Bim"]


def totals(argv, work, name):
    """callgrind's event totals for one run of argv."""
    out = os.path.join(work, name + ".out")
    subprocess.run(["valgrind", "-q", "--tool=callgrind", "--cache-sim=yes", "--branch-sim=yes",
                    "--callgrind-out-file=" + out] + argv,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(out) as f:
        text = f.read()
    names = re.search(r"^events: (.*)$", text, re.M).group(1).split()
    counts = re.search(r"^(?:summary|totals): (.*)$", text, re.M).group(1).split()
    return dict(zip(names, (int(v) for v in counts)))


def report(label, full, base, lines):
    per = {event: (full.get(event, 0) - base.get(event, 0)) / lines for event in EVENTS}
    misses = per["D1mr"] + per["D1mw"]
    cycles = per["Ir"] + 12 * per["I1mr"] + 10 * misses + 15 * (per["Bcm"] + per["Bim"])
    print(f"{label:<28} Ir {per['Ir']:>7,.0f}  I1mr {per['I1mr']:>4.0f}  D1m {misses:>3.0f}  "
          f"Bcm {per['Bcm']:>4.0f}  est.cycles {cycles:>7,.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warden", default=os.path.join(REPO, ".build", "release", "warden"))
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warden-cost-") as work:
        log, empty = os.path.join(work, "sshd.log"), os.path.join(work, "empty.log")
        sshd_log.write(log, args.lines, 1)
        open(empty, "w").close()
        # Valgrind 3.19 cannot read the DWARF 5 that swiftc writes; symbols are enough.
        warden = os.path.join(work, "warden")
        subprocess.run(["strip", "--strip-debug", "-o", warden, args.warden], check=True)
        regex = [warden, "regex", "--json", "--raw", "--config", "/etc/fail2ban"]
        patterns = os.path.join(work, "sshd.pcre")
        with open(patterns, "w") as f:
            f.write(subprocess.run(regex[:2] + ["--print-regexes"] + regex[4:] + [log, "sshd"],
                                   capture_output=True, text=True, check=True).stdout)
        summary = subprocess.run(regex + [log, "sshd"], capture_output=True, text=True, check=True)
        date = json.loads(summary.stdout.splitlines()[-1])["summary"]["date_templates"][0]["regex"]
        loop = os.path.join(work, "pcre2_loop")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libpcre2-8"],
                               capture_output=True, text=True, check=True).stdout.split()
        subprocess.run(["gcc", "-O2", "-o", loop, os.path.join(HERE, "pcre2_loop.c")] + flags, check=True)

        report("warden regex", totals(regex + [log, "sshd"], work, "warden"),
               totals(regex + [empty, "sshd"], work, "warden-empty"), args.lines)
        report("PCRE2 JIT loop, faithful", totals([loop, "--filter", date, patterns, log], work, "loop"),
               totals([loop, "--filter", date, patterns, empty], work, "loop-empty"), args.lines)


if __name__ == "__main__":
    main()
