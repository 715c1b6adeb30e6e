#!/usr/bin/python3
"""Check warden's filters against their sample logs with the real fail2ban.

Runs fail2ban's own sample-suite logic (fail2ban.tests.samplestestcase, from the
installed fail2ban package) with `filters/` as the filter directory and
`filters/samples/` as the sample directory, and reports pass/fail per sample file.

Usage: /usr/bin/python3 filters/check-with-fail2ban.py [-v] [FILTER ...]
Exit status: 0 when every checked file passes, 1 otherwise.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.join(HERE, "samples")


def filter_names():
    """Every filters/<name>.conf except the shared common.conf."""
    return sorted(
        f[:-len(".conf")] for f in os.listdir(HERE)
        if f.endswith(".conf") and f != "common.conf")


def count_annotations(path):
    """(failJSON lines, of which expect a match) in one sample file."""
    total = matching = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^#+ ?failJSON:(.+)$", line)
            if m:
                total += 1
                if re.search(r'"match"\s*:\s*true', m.group(1)):
                    matching += 1
    return total, matching


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filters", nargs="*", help="filter names (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the full fail2ban assertion for failures")
    args = parser.parse_args()

    # fail2ban's suite lays files out as <base>/filter.d and <files>/logs; point both
    # at this directory with symlinks so includes like `before = common.conf`
    # resolve exactly as they would in /etc/fail2ban/filter.d.
    scratch = tempfile.mkdtemp(prefix="warden-filters-")
    try:
        return run(args, scratch)
    finally:
        # Only symlinks live here; rmtree removes them without following them.
        shutil.rmtree(scratch)


def run(args, scratch):
    os.symlink(HERE, os.path.join(scratch, "filter.d"))
    os.makedirs(os.path.join(scratch, "files"))
    os.symlink(SAMPLES, os.path.join(scratch, "files", "logs"))

    # The test helpers set TZ=CET/CEST, fix "now" at 2005-08-14 12:00 CEST and
    # silence logging, exactly as for fail2ban's own run of the suite.
    from fail2ban.tests import utils
    utils.initTests(None)
    from fail2ban.tests import samplestestcase
    samplestestcase.TEST_FILES_DIR = os.path.join(scratch, "files")

    class WardenSamples(samplestestcase.FilterSamplesRegex):
        pass

    names = args.filters or filter_names()
    missing = [n for n in names if not os.path.isfile(os.path.join(SAMPLES, n))]
    orphans = sorted(set(os.listdir(SAMPLES)) - set(filter_names()))
    for name in names:
        setattr(WardenSamples, "test_" + name,
                samplestestcase.testSampleRegexsFactory(name, scratch))

    failed = 0
    width = max(len(n) for n in names)
    for name in names:
        result = unittest.TestResult()
        WardenSamples("test_" + name).run(result)
        problems = result.failures + result.errors
        if os.path.isfile(os.path.join(SAMPLES, name)):
            total, matching = count_annotations(os.path.join(SAMPLES, name))
            counts = "%4d failJSON, %4d expect a match" % (total, matching)
        else:
            counts = "no sample file"
        print("%-*s  %-4s  %s" % (width, name, "FAIL" if problems else "ok", counts))
        if problems:
            failed += 1
        for _, trace in problems:
            lines = trace.rstrip().splitlines()
            if not args.verbose:
                # The suite re-raises with file, line, regex and captures; that last
                # assertion (it spans several lines) is the useful part.
                starts = [i for i, l in enumerate(lines) if l.startswith(("AssertionError", "ValueError", "fail2ban."))]
                lines = lines[starts[-1]:] if starts else lines[-1:]
            print("    " + "\n    ".join(lines))
    if orphans:
        print("sample files without a filter: " + ", ".join(orphans))
    print("%d of %d filters pass" % (len(names) - failed, len(names)))
    return 1 if failed or missing or orphans else 0


if __name__ == "__main__":
    sys.exit(main())
