#!/usr/bin/python3
"""Reference dates from fail2ban's own DateDetector, for warden's DateOracleTests.

Usage: date_oracle.py --now EPOCH [--logtimezone TZ] [--extra-patterns FILE] PATH...

Runs every datepattern of interest (fail2ban's defaults, each distinct datepattern of
the stock filters in /etc/fail2ban/filter.d with the option sets used by the sample
logs, and the lines of --extra-patterns) over every line of every file under PATH,
with a fresh detector per (pattern, file), the way fail2ban's Filter.processLine uses
it. TZ comes from the environment. Prints JSON lines:

  {"pattern": i, "datepattern": str|null, "error": str|null}   one per pattern
  {"file": name, "lines": [decoded line, ...]}                   one per file
  {"p": i, "f": name, "n": line index, "k": kind, "e": epoch|null,
   "s": [byte start, byte end]|null, "t": template name|null}   one per line and pattern

kind: "none" (no template), "parsed", "empty" (empty date group), "invalid"
(getTime gave nothing), "error" (fail2ban raised; the line would be dropped).
"""
import argparse
import glob
import json
import os
import re
import sys
import time

from fail2ban.client.filterreader import FilterReader
from fail2ban.server.datedetector import DateDetector
from fail2ban.server.filter import FileContainer
from fail2ban.server.mytime import MyTime

FILTER_DIR = "/etc/fail2ban"
SAMPLES = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
OPTIONS_RE = re.compile(r"^#\s*(filterOptions|fileOptions):\s*(.*)$")


def sample_option_sets(name):
    """Option dicts a sample log uses for its filter (test.* keys removed)."""
    sets = [{}]
    path = os.path.join(SAMPLES, name)
    if not os.path.isfile(path):
        return sets
    common = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = OPTIONS_RE.match(line)
            if not match:
                continue
            data = json.loads(match.group(2))
            if match.group(1) == "fileOptions":
                common = data
                continue
            for entry in data if isinstance(data, list) else [data]:
                opts = dict(common)
                opts.update(entry)
                sets.append({k: v for k, v in opts.items() if not k.startswith("test.")})
    return sets


def stock_datepatterns():
    patterns = []
    for path in sorted(glob.glob(os.path.join(FILTER_DIR, "filter.d", "*.conf"))):
        name = os.path.basename(path)[:-5]
        option_sets = sample_option_sets(name) + [{"logtype": t} for t in ("journal", "short", "rfc5424")]
        for opts in option_sets:
            try:
                reader = FilterReader(name, "jail", dict(opts), basedir=FILTER_DIR)
                if not reader.read():
                    continue
                reader.getOptions({})
                stream = reader.convert()
            except Exception:
                continue
            for opt in stream:
                if opt[0] == "set" and opt[2] == "datepattern" and opt[3] not in patterns:
                    patterns.append(opt[3])
    return patterns


def make_detector(datepattern, logtimezone):
    detector = DateDetector()
    detector.default_tz = logtimezone
    if datepattern is not None:
        for line in filter(bool, map(str.strip, re.split("\n+", datepattern))):
            detector.appendTemplate(line)
    return detector


def byte_offset(text, index):
    return len(text[:index].encode("utf-8"))


def evaluate(detector, line):
    """fail2ban's Filter.processLine date step."""
    try:
        match, template = detector.matchTime(line)
    except Exception:
        return "error", None, None, None
    if not match:
        return "none", None, None, None
    start, end = match.span(1)
    span = [byte_offset(line, start), byte_offset(line, end)]
    text = line[start:end]
    if not text:
        return "empty", None, span, template.name
    try:
        date = detector.getTime(text, (match, template))
    except Exception:
        return "error", None, span, template.name
    if date is None:
        return "invalid", None, span, template.name
    return "parsed", date[0], span, template.name


def read_lines(path):
    with open(path, "rb") as handle:
        raw = handle.read()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [FileContainer.decode_line(path, "UTF-8", line + b"\n").rstrip("\r\n") for line in lines]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--now", type=float, required=True)
    parser.add_argument("--logtimezone")
    parser.add_argument("--extra-patterns")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    time.tzset()
    MyTime.setTime(args.now)

    patterns = [None] + stock_datepatterns()
    if args.extra_patterns:
        with open(args.extra_patterns, encoding="utf-8") as handle:
            # One datepattern per line; "\n" inside a line separates templates.
            patterns += [line.rstrip("\n").replace("\\n", "\n") for line in handle if line.strip() and not line.startswith("#")]

    files = []
    for path in args.paths:
        if os.path.isdir(path):
            files += sorted(p for p in glob.glob(os.path.join(path, "**", "*"), recursive=True) if os.path.isfile(p))
        else:
            files.append(path)

    out = sys.stdout
    usable = []
    for index, datepattern in enumerate(patterns):
        try:
            make_detector(datepattern, args.logtimezone).matchTime("")
            error = None
        except IndexError:
            error = None  # an empty-line quirk, not a pattern problem
        except Exception as exc:
            error = "%s: %s" % (type(exc).__name__, exc)
        out.write(json.dumps({"pattern": index, "datepattern": datepattern, "error": error}) + "\n")
        if error is None:
            usable.append(index)

    for path in files:
        name = os.path.relpath(path, os.path.dirname(path.rstrip("/"))) if os.path.isfile(path) else path
        lines = read_lines(path)
        out.write(json.dumps({"file": path, "lines": lines}) + "\n")
        for index in usable:
            detector = make_detector(patterns[index], args.logtimezone)
            for number, line in enumerate(lines):
                kind, epoch, span, template = evaluate(detector, line)
                out.write(json.dumps({"p": index, "f": path, "n": number, "k": kind, "e": epoch, "s": span, "t": template}) + "\n")


if __name__ == "__main__":
    main()
