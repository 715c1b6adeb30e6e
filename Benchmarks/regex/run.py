#!/usr/bin/python3
"""warden regex vs fail2ban-regex, side by side on one generated sshd log.

Generates (or reuses) a deterministic sshd auth log, then runs on that file:
  1. fail2ban-regex with the stock sshd filter (`-r -o row`: raw ids, one row
     with id and epoch time per failure, no DNS),
  2. `warden regex --json --raw --config CONFIG LOG FILTER` (one JSON object
     per failure, then a summary object; --raw keeps ids as written, like -r),
  3. a C baseline that runs the filter's expanded PCRE2 patterns over every
     line with pcre2_jit_match (patterns from `warden regex --print-regexes`),
checks that fail2ban and warden found the same failures (same ids and times, in
order), and reports the median wall-clock time and lines/s of each, and the
ratio. With --doc (default docs/benchmarks.md) it rewrites the section
"## warden regex vs fail2ban-regex" of that file.

Run with the system Python: /usr/bin/python3 Benchmarks/regex/run.py
"""

import argparse
import ast
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import sshd_log  # noqa: E402  (sibling module)

SECTION = "## warden regex vs fail2ban-regex"
START_LOAD = os.getloadavg()[0]  # other work on the machine skews wall-clock times
FAIL2BAN_REGEX = ["/usr/bin/python3", "/usr/bin/fail2ban-regex"]


class ToolError(Exception):
    """A tool could not run or its output could not be read."""


# -- running -------------------------------------------------------------------

def timed_runs(argv, runs, out_path, env=None):
    """Runs argv `runs` times with stdout to out_path; returns wall seconds per run."""
    seconds = []
    for _ in range(runs):
        with open(out_path, "wb") as out:
            t0 = time.perf_counter()
            proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, env=env)
            seconds.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise ToolError("%s exited with %d: %s" % (" ".join(argv), proc.returncode,
                                                      proc.stderr.decode(errors="replace").strip()[-2000:]))
    return seconds


def parse_fail2ban_rows(path):
    """(id, time) per failure from `fail2ban-regex -o row`: "['id',\\ttime,\\t{...}],"."""
    row = re.compile(r"^\[('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"),\t([^,]+),\t")
    failures = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = row.match(line)
            if not m:
                raise ToolError("fail2ban-regex output line %d is not a row: %r" % (n, line[:200]))
            failures.append((ast.literal_eval(m.group(1)), float(m.group(2)), None))
    return failures


def parse_warden_json(path):
    """(failures as (id, time, line), summary) from `warden regex --json`."""
    failures, summary = [], None
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except ValueError as e:
                raise ToolError("warden output line %d is not JSON (%s): %r" % (n, e, text[:200]))
            if "summary" in obj:
                summary = obj["summary"]
            else:
                try:
                    failures.append((obj["id"], float(obj["time"]), obj["line"]))
                except (KeyError, TypeError, ValueError):
                    raise ToolError("warden output line %d lacks id/time/line: %r" % (n, text[:200]))
    if summary is None:
        raise ToolError("warden output has no final {\"summary\": ...} object")
    return failures, summary


def compare(reference, candidate):
    """None when both lists hold the same (id, time) in order, else a description."""
    for i, (ref, got) in enumerate(zip(reference, candidate)):
        if ref[0] != got[0] or abs(ref[1] - got[1]) > 1e-6:
            where = " (log line %s)" % got[2] if got[2] is not None else ""
            return ("failure #%d differs%s: fail2ban %s at %.6f, warden %s at %.6f"
                    % (i + 1, where, ref[0], ref[1], got[0], got[1]))
    if len(reference) != len(candidate):
        return "fail2ban found %d failures, warden %d" % (len(reference), len(candidate))
    return None


def scratch_file(workdir, name):
    """A per-process output path: concurrent runs must not truncate each other's files."""
    return os.path.join(workdir, "%d-%s" % (os.getpid(), name))


# -- tools ---------------------------------------------------------------------

def find_warden(path):
    """The warden binary: the given one, .build/release/warden, or a fresh build."""
    if path:
        if not os.access(path, os.X_OK):
            raise ToolError("warden binary %s is not executable" % path)
        return path
    default = os.path.join(REPO, ".build", "release", "warden")
    if os.access(default, os.X_OK):
        return default
    scratch = os.path.join(REPO, ".build-filters")
    print("building warden (swift build -c release --scratch-path .build-filters) ...", flush=True)
    proc = subprocess.run(["swift", "build", "-c", "release", "--scratch-path", scratch,
                           "--product", "warden"], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError("swift build failed:\n" + (proc.stdout + proc.stderr)[-3000:])
    return os.path.join(scratch, "release", "warden")


def build_baseline(workdir):
    binary = scratch_file(workdir, "pcre2_loop")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libpcre2-8"],
                           capture_output=True, text=True)
    if flags.returncode != 0:
        raise ToolError("pkg-config libpcre2-8 failed: " + flags.stderr.strip())
    proc = subprocess.run(["gcc", "-O2", "-o", binary, os.path.join(HERE, "pcre2_loop.c")]
                          + flags.stdout.split(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError("gcc failed:\n" + proc.stderr)
    return binary


def baseline_patterns(warden, args, log, workdir):
    """(path, description): warden's expanded patterns, or the hand-written sample set."""
    if args.patterns:
        return args.patterns, "patterns from %s" % os.path.relpath(args.patterns, REPO)
    reason = "warden binary not available"
    if warden:
        proc = subprocess.run([warden, "regex", "--print-regexes", "--config", args.config, log, args.filter],
                              capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            path = scratch_file(workdir, "%s.pcre" % args.filter)
            with open(path, "w", encoding="utf-8") as f:
                f.write(proc.stdout)
            return path, "`warden regex --print-regexes %s` (%d patterns)" % (
                args.filter, len([l for l in proc.stdout.splitlines() if l.strip()]))
        reason = "warden regex --print-regexes failed: " + (proc.stderr.strip().splitlines() or ["no output"])[-1]
    fallback = os.path.join(HERE, "sample-patterns.pcre")
    return fallback, "hand-written stand-in patterns (%s)" % reason


# -- report --------------------------------------------------------------------

def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    debian = ""
    if os.path.exists("/etc/debian_version"):
        with open("/etc/debian_version") as f:
            debian = "Debian " + f.read().strip() + ", "
    return "%s, %d cores, %sLinux %s, load average %.2f at start" % (
        model, os.cpu_count() or 0, debian, platform.release(), START_LOAD)


def version_of(argv):
    try:
        proc = subprocess.run(argv, capture_output=True, text=True)
        return (proc.stdout or proc.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def git_commit():
    proc = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def rate(lines, seconds):
    return lines / statistics.median(seconds)


def short_reason(error):
    """One table-friendly line: the first compiler-style "error:" line if any."""
    lines = [l.strip() for l in error.splitlines() if l.strip()]
    chosen = next((l for l in lines if "error:" in l), lines[0] if lines else "unknown error")
    return chosen.replace("|", "/")[:200]


def render(results, args, log_info, agreement):
    fmt_row = "| %s | %d | %.3f | %s | %s |"
    rows = []
    for r in results:
        if r.get("error"):
            rows.append("| %s | – | – | – | not measured: %s |" % (r["name"], short_reason(r["error"])))
            continue
        rows.append(fmt_row % (r["name"], len(r["seconds"]), statistics.median(r["seconds"]),
                               "{:,.0f}".format(rate(log_info["lines"], r["seconds"])), r["note"]))
    by_name = {r["key"]: r for r in results if not r.get("error")}
    if "warden" in by_name and "fail2ban" in by_name:
        ratio = "warden is **%.1f×** the throughput of fail2ban-regex (ratio of medians)." % (
            rate(log_info["lines"], by_name["warden"]["seconds"]) / rate(log_info["lines"], by_name["fail2ban"]["seconds"]))
        if "baseline" in by_name:
            warden_rate = rate(log_info["lines"], by_name["warden"]["seconds"])
            ratio += (" Targets (issue 2): at least 100× fail2ban-regex — %s; faster than the PCRE2 JIT loop — %s"
                      " (warden runs at %.2f× the loop's lines/s)." % (
                          "met" if warden_rate >= 100 * rate(log_info["lines"], by_name["fail2ban"]["seconds"]) else "**not met**",
                          "met" if warden_rate > rate(log_info["lines"], by_name["baseline"]["seconds"]) else "**not met**",
                          warden_rate / rate(log_info["lines"], by_name["baseline"]["seconds"])))
    else:
        ratio = "No ratio: warden regex was not measured."
    command = "/usr/bin/python3 Benchmarks/regex/run.py --lines %d --seed %d --warden-runs %d --fail2ban-runs %d --baseline-runs %d" % (
        args.lines, args.seed, args.warden_runs, args.fail2ban_runs, args.baseline_runs) + (
        " --warden %s" % os.path.relpath(args.warden, REPO) if args.warden else "")
    load = max(START_LOAD, os.getloadavg()[0])
    busy = ("**The machine was busy (load %.1f on %d cores): these numbers are noisy; rerun on an idle "
            "machine before quoting them.**" % (load, os.cpu_count() or 0)) if load > (os.cpu_count() or 1) else ""
    parts = [
        SECTION,
        "",
        busy or None,
        "" if busy else None,
        "Measured %s on %s; warden at commit %s; %s; %s." % (
            datetime.date.today().isoformat(), machine(), git_commit(),
            version_of(FAIL2BAN_REGEX + ["--version"]), version_of(["/usr/bin/python3", "--version"])),
        "",
        "Input: a generated sshd auth log (`Benchmarks/regex/sshd_log.py`, seed %d): %s lines, "
        "%s distinct client addresses, %s failures by the stock filter (%s of the lines)." % (
            args.seed, "{:,}".format(log_info["lines"]), "{:,}".format(log_info["addresses"]),
            "{:,}".format(log_info["failures"]) if log_info["failures"] is not None else "?",
            "%.0f%%" % (100.0 * log_info["failures"] / log_info["lines"]) if log_info["failures"] else "?"),
        "Filter: `%s` from `%s` (stock fail2ban 1.0.2, mode normal)." % (args.filter, args.config),
        "",
        "Reproduce: `%s`" % command,
        "",
        "| tool | runs | median s | lines/s | notes |",
        "|---|---|---|---|---|",
    ] + rows + [
        "",
        ratio,
        "",
        "Match agreement: %s" % agreement,
        "",
        "Times are wall clock for the whole process (start-up, reading, matching, "
        "writing the result rows), median of the runs. The PCRE2 loop runs every "
        "pattern on every full line with no prefilter and no date handling; it "
        "is a reference for raw regex cost, not a filter.",
        "",
    ]
    return "\n".join(part for part in parts if part is not None)


def update_doc(path, section):
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    start = text.find(SECTION + "\n")
    if start < 0:
        if not text:
            text = "# Benchmarks\n\n"
        new = text.rstrip("\n") + "\n\n" + section
    else:
        following = text.find("\n## ", start + len(SECTION))
        rest = text[following + 1:] if following >= 0 else ""
        new = text[:start] + section + ("\n" + rest if rest else "")
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


# -- main ----------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=200000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", default="/tmp/warden-bench-regex",
                   help="generated log, tool outputs, baseline binary (default %(default)s)")
    p.add_argument("--log", help="use this log instead of generating one")
    p.add_argument("--config", default="/etc/fail2ban")
    p.add_argument("--filter", default="sshd")
    p.add_argument("--warden", help="warden binary (default .build/release/warden, built if missing)")
    p.add_argument("--patterns", help="PCRE2 patterns for the baseline instead of --print-regexes")
    p.add_argument("--warden-runs", type=int, default=5)
    p.add_argument("--fail2ban-runs", type=int, default=3)
    p.add_argument("--baseline-runs", type=int, default=5)
    p.add_argument("--skip", action="append", default=[], choices=("fail2ban", "warden", "baseline"))
    p.add_argument("--doc", default=os.path.join(REPO, "docs", "benchmarks.md"))
    p.add_argument("--no-doc", action="store_true", help="print the section, do not write the doc")
    args = p.parse_args()

    os.makedirs(args.workdir, exist_ok=True)
    log = args.log or os.path.join(args.workdir, "sshd-%d-seed%d.log" % (args.lines, args.seed))
    if not args.log and not os.path.exists(log):
        print("generating %s ..." % log, flush=True)
        # Another run may share the work directory: publish the log atomically.
        partial = "%s.%d.tmp" % (log, os.getpid())
        sshd_log.write(partial, args.lines, args.seed)
        os.replace(partial, log)
    with open(log, "rb") as f:
        lines = sum(1 for _ in f)
    with open(log, encoding="utf-8", errors="replace") as f:
        addresses = len(set(re.findall(r"(?:from|by|rhost=) ?((?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7})", f.read())))
    log_info = {"lines": lines, "addresses": addresses, "failures": None}
    print("log: %s (%d lines)" % (log, lines), flush=True)

    filter_path = os.path.join(args.config, "filter.d", args.filter + ".conf")
    results, fail2ban_failures, warden_failures = [], None, None

    if "fail2ban" not in args.skip:
        out = scratch_file(args.workdir, "fail2ban.out")
        entry = {"key": "fail2ban", "name": "fail2ban-regex (Python %s)" % platform.python_version(), "note": ""}
        try:
            entry["seconds"] = timed_runs(FAIL2BAN_REGEX + ["-r", "-o", "row", log, filter_path],
                                          args.fail2ban_runs, out)
            fail2ban_failures = parse_fail2ban_rows(out)
            log_info["failures"] = len(fail2ban_failures)
            entry["note"] = "%d failures" % len(fail2ban_failures)
        except ToolError as e:
            entry["error"] = str(e)
        results.append(entry)
        print_result(entry, lines)

    warden = None
    if "warden" not in args.skip:
        try:
            warden = find_warden(args.warden)
        except ToolError as e:
            results.append({"key": "warden", "name": "warden regex", "error": str(e)})
            print_result(results[-1], lines)
    elif args.warden or os.access(os.path.join(REPO, ".build", "release", "warden"), os.X_OK):
        # The baseline still takes its patterns from an existing binary; no build.
        warden = args.warden or os.path.join(REPO, ".build", "release", "warden")

    if "warden" not in args.skip and warden:
        out = scratch_file(args.workdir, "warden.out")
        entry = {"key": "warden", "name": "warden regex", "note": ""}
        try:
            entry["seconds"] = timed_runs([warden, "regex", "--json", "--raw", "--config", args.config, log, args.filter],
                                          args.warden_runs, out)
            warden_failures, summary = parse_warden_json(out)
            entry["note"] = "%d failures" % len(warden_failures)
            if log_info["failures"] is None:
                log_info["failures"] = len(warden_failures)
        except ToolError as e:
            entry["error"] = str(e)
        results.append(entry)
        print_result(entry, lines)

    if "baseline" not in args.skip:
        entry = {"key": "baseline", "name": "PCRE2 JIT loop (C)", "note": ""}
        try:
            binary = build_baseline(args.workdir)
            patterns, origin = baseline_patterns(warden, args, log, args.workdir)
            out = scratch_file(args.workdir, "baseline.out")
            entry["seconds"] = timed_runs([binary, patterns, log], args.baseline_runs, out)
            with open(out) as f:
                report = json.load(f)
            entry["note"] = "%s; match loop alone (last run) %s lines/s" % (
                origin, "{:,.0f}".format(report["lines"] / report["seconds"]) if report["seconds"] else "?")
        except (ToolError, ValueError, KeyError) as e:
            entry["error"] = str(e)
        results.append(entry)
        print_result(entry, lines)

    if fail2ban_failures is not None and warden_failures is not None:
        difference = compare(fail2ban_failures, warden_failures)
        agreement = ("**same** %d failures (ids and epoch times, in order)" % len(fail2ban_failures)
                     if difference is None else "**DIFFERENT**: " + difference)
    else:
        agreement = "not checked (needs both fail2ban-regex and warden regex)"
    print("agreement: " + agreement)

    for name in os.listdir(args.workdir):
        if name.startswith("%d-" % os.getpid()):
            os.remove(os.path.join(args.workdir, name))

    section = render(results, args, log_info, agreement)
    if args.no_doc:
        print("\n" + section)
    else:
        update_doc(args.doc, section)
        print("wrote section to %s" % os.path.relpath(args.doc, REPO))
    measured = all(not r.get("error") for r in results)
    return 0 if measured and (fail2ban_failures is None or warden_failures is None or difference is None) else 1


def print_result(entry, lines):
    if entry.get("error"):
        print("%-28s not measured: %s" % (entry["name"], entry["error"]), flush=True)
    else:
        print("%-28s median %.3f s over %d runs, %s lines/s  %s" % (
            entry["name"], statistics.median(entry["seconds"]), len(entry["seconds"]),
            "{:,.0f}".format(rate(lines, entry["seconds"])), entry["note"]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
