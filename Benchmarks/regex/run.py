#!/usr/bin/python3
"""warden regex vs fail2ban-regex, side by side on one generated sshd log.

Generates (or reuses) a deterministic sshd auth log, then runs on that file:
  1. fail2ban-regex with the stock sshd filter (`-r -o row`: raw ids, one row
     with id and epoch time per failure, no DNS),
  2. `warden regex --json --raw --config CONFIG LOG FILTER` (one JSON object
     per failure, then a summary object; --raw keeps ids as written, like -r),
  3. two C baselines with plain pcre2_jit_match calls (`pcre2_loop.c`; patterns
     from `warden regex --print-regexes`, the date template from the summary of
     `warden regex --json`):
     - the naive loop: every pattern on every whole line (no date cut, no
       prefregex; the `^`-anchored failregexes fail at the first byte),
     - the faithful loop: date cut, prefregex `content`, failregexes in order,
       first match wins, as the filter does,
checks that fail2ban and warden found the same failures (same ids and times, in
order) and that the faithful loop found the same (line, failregex) pairs as
warden, and reports the median wall-clock time and lines/s of each, and the
ratios. warden and the C loops run interleaved, one run of each per round, so
that a busy spell on the machine hits all of them alike. With --doc (default
docs/benchmarks.md) it rewrites the section "## warden regex vs fail2ban-regex"
of that file.

Run with the system Python: /usr/bin/python3 Benchmarks/regex/run.py
"""

import argparse
import ast
import datetime
import json
import os
import platform
import re
import resource
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
LOOP_NAMES = {"naive": "PCRE2 JIT loop, naive (C)", "faithful": "PCRE2 JIT loop, faithful (C)"}


class ToolError(Exception):
    """A tool could not run or its output could not be read."""


# -- running -------------------------------------------------------------------

def timed_run(argv, out_path):
    """Runs argv once with stdout to out_path; returns (wall seconds, user+sys CPU seconds)."""
    with open(out_path, "wb") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise ToolError("%s exited with %d: %s" % (" ".join(argv), proc.returncode,
                                                  proc.stderr.decode(errors="replace").strip()[-2000:]))
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def interleaved_runs(entries):
    """Runs each entry's argv `runs` times, one run of each entry per round, so that a
    busy spell on the machine slows them alike; fills "seconds" and "cpu", or "error"."""
    for round_number in range(max([e["runs"] for e in entries] + [0])):
        for entry in entries:
            if round_number >= entry["runs"] or entry.get("error"):
                continue
            try:
                wall, cpu = timed_run(entry["argv"], entry["out"])
            except ToolError as e:
                entry["error"] = str(e)
                continue
            entry.setdefault("seconds", []).append(wall)
            entry.setdefault("cpu", []).append(cpu)


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
    """(failures as (id, time, line, regex, users), summary) from `warden regex --json`;
    users counts the connection's users so far (multi-line filters)."""
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
                    failures.append((obj["id"], float(obj["time"]), obj["line"], obj["regex"],
                                     len(obj.get("users", []))))
                except (KeyError, TypeError, ValueError):
                    raise ToolError("warden output line %d lacks id/time/line/regex: %r" % (n, text[:200]))
    if summary is None:
        raise ToolError("warden output has no final {\"summary\": ...} object")
    return failures, summary


def parse_filter_loop(path):
    """(failures as (line, regex, helper), report) from `pcre2_loop --filter`.

    helper is True when the winning failregex set `nofail` or `mlfgained`: the line
    feeds a multi-line connection and is no failure by itself.
    """
    failures, report = [], None
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            if text.startswith("{"):
                report = json.loads(text)
                continue
            fields = text.split()
            if len(fields) != 3:
                raise ToolError("faithful loop output line %d is not LINE REGEX HELPER: %r" % (n, text[:200]))
            failures.append((int(fields[0]), int(fields[1]), fields[2] == "1"))
    if report is None:
        raise ToolError("faithful loop output has no final {\"lines\": ...} object")
    return failures, report


def compare_with_filter_loop(warden_failures, loop_failures):
    """(agreement, None) or (None, the first difference) between warden's failures and
    the faithful loop's first matches, on what both decide.

    The loop has no connection state, so it cannot tell whether a helper line (a match
    that sets `nofail`/`mlfgained`) becomes a failure: fail2ban reports one when its
    connection (`mlfid`) has seen two or more users, or a failure still pending. What is
    compared: the loop's other matches must be exactly warden's failures on other lines,
    in order, and every failure warden reports on a helper line must be the loop's match
    there (same line, same failregex).
    """
    helpers = {(line, regex) for line, regex, helper in loop_failures if helper}
    loop_pairs = [(line, regex) for line, regex, helper in loop_failures if not helper]
    warden_pairs = [(f[2], f[3]) for f in warden_failures if (f[2], f[3]) not in helpers]
    for i, (ours, theirs) in enumerate(zip(warden_pairs, loop_pairs)):
        if ours != theirs:
            return None, ("failure #%d differs: warden line %d failregex %d, faithful loop line %d failregex %d"
                          % (i + 1, ours[0], ours[1], theirs[0], theirs[1]))
    if len(warden_pairs) != len(loop_pairs):
        return None, "warden found %d failures off helper lines, the faithful loop %d" % (
            len(warden_pairs), len(loop_pairs))
    promoted = [f for f in warden_failures if (f[2], f[3]) in helpers]
    several_users = sum(1 for f in promoted if f[4] >= 2)
    return ("**same** %s (line, failregex) pairs in order; of the loop's %s helper lines "
            "(`nofail`/`mlfgained` set), warden reports the %s whose connection has seen two or "
            "more users (%s of them) or a pending failure (%s), as fail2ban's mlfid merge does, "
            "each with the loop's failregex" % (
                "{:,}".format(len(loop_pairs)), "{:,}".format(len(helpers)), "{:,}".format(len(promoted)),
                "{:,}".format(several_users), "{:,}".format(len(promoted) - several_users)), None)


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


def filter_date_template(warden, args, log):
    """(name, PCRE2 pattern) of the one date template warden uses on this log."""
    if args.date_pattern:
        return "--date-pattern", args.date_pattern
    if not warden:
        raise ToolError("no warden binary to ask for the date template; pass --date-pattern")
    proc = subprocess.run([warden, "regex", "--json", "--config", args.config, log, args.filter],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolError("warden regex --json failed: " + proc.stderr.strip()[-500:])
    try:
        templates = json.loads(proc.stdout.strip().splitlines()[-1])["summary"]["date_templates"]
        used = [(t["name"], t["regex"]) for t in templates]
    except (ValueError, KeyError, IndexError) as e:
        raise ToolError("warden regex --json has no date templates in its summary: %s" % e)
    if len(used) != 1:
        raise ToolError("the faithful loop cuts dates with one template; warden used %d on this log "
                        "(pass --date-pattern)" % len(used))
    return used[0]


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


def targets(by_key, lines):
    """The issue's two speed targets, judged on medians of wall clock and of CPU time."""
    if "warden" not in by_key:
        return "No ratio: warden regex was not measured."
    warden = by_key["warden"]

    def ratio(other):
        return (rate(lines, warden["seconds"]) / rate(lines, other["seconds"]),
                rate(lines, warden["cpu"]) / rate(lines, other["cpu"]))

    def verdict(met):
        return "met" if met else "**not met**"

    parts = []
    if "fail2ban" in by_key:
        wall, cpu = ratio(by_key["fail2ban"])
        parts.append("warden is **%.1f×** the throughput of fail2ban-regex (%.1f× per CPU second). "
                     "Target (issue 2) at least 100× fail2ban-regex: %s." % (wall, cpu, verdict(wall >= 100)))
    if "faithful" in by_key:
        wall, cpu = ratio(by_key["faithful"])
        parts.append("Target (issue 2) faster than a plain loop of PCRE2-JIT calls over the same regexes, "
                     "measured against the **faithful** loop (docs/filter-engine.md says why): %s; warden runs "
                     "at **%.2f×** its lines/s (%.2f× per CPU second)." % (verdict(wall > 1), wall, cpu))
        if warden.get("loop_rate") and by_key["faithful"].get("loop_rate"):
            parts.append("Their line loops alone, start-up excluded (last run): warden %s lines/s, the faithful "
                         "loop %s (%.2f×)." % ("{:,.0f}".format(warden["loop_rate"]),
                                               "{:,.0f}".format(by_key["faithful"]["loop_rate"]),
                                               warden["loop_rate"] / by_key["faithful"]["loop_rate"]))
    if "naive" in by_key:
        wall, cpu = ratio(by_key["naive"])
        parts.append("Against the naive loop, which finds no failure, warden runs at %.2f× its lines/s "
                     "(%.2f× per CPU second)." % (wall, cpu))
    return " ".join(parts)


def render(results, args, log_info, checks):
    lines = log_info["lines"]
    rows = []
    for r in results:
        if r.get("error"):
            rows.append("| %s | – | – | – | – | – | not measured: %s |" % (r["name"], short_reason(r["error"])))
            continue
        rows.append("| %s | %d | %.3f | %s | %.3f | %s | %s |" % (
            r["name"], len(r["seconds"]), statistics.median(r["seconds"]), "{:,.0f}".format(rate(lines, r["seconds"])),
            statistics.median(r["cpu"]), "{:,.0f}".format(rate(lines, r["cpu"])), r["note"]))
    by_key = {r["key"]: r for r in results if not r.get("error")}
    command = "/usr/bin/python3 Benchmarks/regex/run.py --lines %d --seed %d --warden-runs %d --fail2ban-runs %d --baseline-runs %d" % (
        args.lines, args.seed, args.warden_runs, args.fail2ban_runs, args.baseline_runs) + (
        " --warden %s" % os.path.relpath(args.warden, REPO) if args.warden else "")
    end_load = os.getloadavg()[0]
    load = max(START_LOAD, end_load)
    busy = ("**The machine was busy (load %.1f on %d cores): these numbers are noisy; rerun on an idle "
            "machine before quoting them.**" % (load, os.cpu_count() or 0)) if load > (os.cpu_count() or 1) else ""
    parts = [
        SECTION,
        "",
        busy or None,
        "" if busy else None,
        "Measured %s on %s, %.2f at the end; warden at commit %s; %s; %s." % (
            datetime.date.today().isoformat(), machine(), end_load, git_commit(),
            version_of(FAIL2BAN_REGEX + ["--version"]), version_of(["/usr/bin/python3", "--version"])),
        "",
        "Input: a generated sshd auth log (`Benchmarks/regex/sshd_log.py`, seed %d): %s lines, "
        "%s distinct client addresses, %s failures by the stock filter (%s of the lines)." % (
            args.seed, "{:,}".format(lines), "{:,}".format(log_info["addresses"]),
            "{:,}".format(log_info["failures"]) if log_info["failures"] is not None else "?",
            "%.0f%%" % (100.0 * log_info["failures"] / lines) if log_info["failures"] else "?"),
        "Filter: `%s` from `%s` (stock fail2ban 1.0.2, mode normal)." % (args.filter, args.config),
        "",
        "Reproduce: `%s`" % command,
        "",
        "| tool | runs | median s | lines/s | median CPU s | lines per CPU s | notes |",
        "|---|---|---|---|---|---|---|",
    ] + rows + [
        "",
        targets(by_key, lines),
        "",
    ] + ["Match agreement, %s: %s" % (name, text) + "\n" for name, _, text in checks] + [
        "Times are for the whole process (start-up, reading, matching, writing the result "
        "rows), median of the runs; CPU is user+sys of the process. warden and the two C "
        "loops run interleaved (one run of each per round). The naive loop runs every "
        "pattern on every whole line: the failregexes start with `^` and the lines with a "
        "date, so it finds no failure and measures raw call cost only. The faithful loop "
        "does the filter's job with one plain `pcre2_jit_match` per step: the date template "
        "warden used, its group 1 cut from the line, the prefregex's `content`, the "
        "failregexes in order until one matches, one output row per match "
        "(`Benchmarks/regex/pcre2_loop.c`).",
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
    p.add_argument("--date-pattern", help="PCRE2 date template for the faithful loop instead of the one "
                   "warden used (from the summary of `warden regex --json`)")
    p.add_argument("--skip", action="append", default=[], choices=("fail2ban", "warden", "naive", "faithful"))
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
    results, checks = [], []

    fail2ban_failures = None
    if "fail2ban" not in args.skip:
        # Alone: its runs take a minute, the others' a second.
        entry = {"key": "fail2ban", "name": "fail2ban-regex (Python %s)" % platform.python_version(), "note": "",
                 "argv": FAIL2BAN_REGEX + ["-r", "-o", "row", log, filter_path],
                 "runs": args.fail2ban_runs, "out": scratch_file(args.workdir, "fail2ban.out")}
        interleaved_runs([entry])
        if not entry.get("error"):
            try:
                fail2ban_failures = parse_fail2ban_rows(entry["out"])
                log_info["failures"] = len(fail2ban_failures)
                entry["note"] = "%d failures" % len(fail2ban_failures)
            except ToolError as e:
                entry["error"] = str(e)
        results.append(entry)
        print_result(entry, lines)

    warden = None
    try:
        if "warden" not in args.skip:
            warden = find_warden(args.warden)
        elif args.warden or os.access(os.path.join(REPO, ".build", "release", "warden"), os.X_OK):
            # The baselines still take their patterns from an existing binary; no build.
            warden = args.warden or os.path.join(REPO, ".build", "release", "warden")
    except ToolError as e:
        results.append({"key": "warden", "name": "warden regex", "error": str(e)})

    timed = []
    if "warden" not in args.skip and warden:
        timed.append({"key": "warden", "name": "warden regex", "note": "", "runs": args.warden_runs,
                      "argv": [warden, "regex", "--json", "--raw", "--config", args.config, log, args.filter],
                      "out": scratch_file(args.workdir, "warden.out")})
    loops = [kind for kind in ("naive", "faithful") if kind not in args.skip]
    if loops:
        try:
            binary = build_baseline(args.workdir)
            patterns, origin = baseline_patterns(warden, args, log, args.workdir)
        except ToolError as e:
            binary, error = None, str(e)
        for kind in loops:
            entry = {"key": kind, "name": LOOP_NAMES[kind], "note": origin if binary else "",
                     "runs": args.baseline_runs, "out": scratch_file(args.workdir, kind + ".out")}
            if not binary:
                entry["error"] = error
            elif kind == "naive":
                entry["argv"] = [binary, patterns, log]
            else:
                try:
                    name, date_pattern = filter_date_template(warden, args, log)
                    entry["argv"] = [binary, "--filter", date_pattern, patterns, log]
                    entry["note"] += "; date template `%s`" % name.replace("|", "\\|")
                except ToolError as e:
                    entry["error"] = str(e)
            timed.append(entry)
    interleaved_runs(timed)

    warden_failures, loop_failures = None, None
    for entry in timed:
        if entry.get("error"):
            continue
        try:
            if entry["key"] == "warden":
                warden_failures, summary = parse_warden_json(entry["out"])
                entry["note"] = "%d failures" % len(warden_failures)
                # warden's summary times its line loop (reading, matching, writing).
                if summary.get("seconds"):
                    entry["loop_rate"] = summary["lines"] / summary["seconds"]
                    entry["note"] += "; line loop alone (last run) {:,.0f} lines/s".format(entry["loop_rate"])
                if log_info["failures"] is None:
                    log_info["failures"] = len(warden_failures)
            elif entry["key"] == "naive":
                with open(entry["out"]) as f:
                    report = json.load(f)
                entry["note"] += ("; prefregex matched %s lines, failregexes %s; match loop alone (last run) %s lines/s" % (
                    "{:,}".format(report["matches"][0]), "{:,}".format(sum(report["matches"][1:])),
                    "{:,.0f}".format(report["lines"] / report["seconds"]) if report["seconds"] else "?"))
            else:
                loop_failures, report = parse_filter_loop(entry["out"])
                if report["seconds"]:
                    entry["loop_rate"] = report["lines"] / report["seconds"]
                entry["note"] += "; %s first matches; match loop alone (last run) %s lines/s" % (
                    "{:,}".format(report["failures"]),
                    "{:,.0f}".format(report["lines"] / report["seconds"]) if report["seconds"] else "?")
        except (ToolError, ValueError, KeyError, IndexError) as e:
            entry["error"] = str(e)
    for entry in timed:
        results.append(entry)
        print_result(entry, lines)

    if fail2ban_failures is not None and warden_failures is not None:
        difference = compare(fail2ban_failures, warden_failures)
        checks.append(("fail2ban-regex vs warden", difference is None,
                       "**same** %d failures (ids and epoch times, in order)" % len(fail2ban_failures)
                       if difference is None else "**DIFFERENT**: " + difference))
    else:
        checks.append(("fail2ban-regex vs warden", True, "not checked (needs both fail2ban-regex and warden regex)"))
    if warden_failures is not None and loop_failures is not None:
        same, difference = compare_with_filter_loop(warden_failures, loop_failures)
        checks.append(("faithful PCRE2 loop vs warden", same is not None, same or "**DIFFERENT**: " + difference))
    else:
        checks.append(("faithful PCRE2 loop vs warden", True, "not checked (needs warden regex and the faithful loop)"))
    for name, _, text in checks:
        print("agreement, %s: %s" % (name, text))

    for name in os.listdir(args.workdir):
        if name.startswith("%d-" % os.getpid()):
            os.remove(os.path.join(args.workdir, name))

    section = render(results, args, log_info, checks)
    if args.no_doc:
        print("\n" + section)
    else:
        update_doc(args.doc, section)
        print("wrote section to %s" % os.path.relpath(args.doc, REPO))
    measured = all(not r.get("error") for r in results)
    agreed = all(ok for _, ok, _ in checks)
    if not agreed:
        print("FAILED: the tools disagree on the failures (see above)", file=sys.stderr)
    return 0 if measured and agreed else 1


def print_result(entry, lines):
    if entry.get("error"):
        print("%-32s not measured: %s" % (entry["name"], entry["error"]), flush=True)
    else:
        print("%-32s median %.3f s (CPU %.3f s) over %d runs, %s lines/s  %s" % (
            entry["name"], statistics.median(entry["seconds"]), statistics.median(entry["cpu"]),
            len(entry["seconds"]), "{:,.0f}".format(rate(lines, entry["seconds"])), entry["note"]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
