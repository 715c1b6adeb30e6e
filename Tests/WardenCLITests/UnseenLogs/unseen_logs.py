#!/usr/bin/python3
"""Unseen logs for the `warden regex` / `fail2ban-regex -o row` differential test.

generate --seed N --out DIR [--samples DIR] [--filters DIR]
    For every stock filter (filter.d/*.conf except the *common.conf includes) derive a
    new log from fail2ban's sample log of the same name: comments dropped, addresses and
    pids replaced consistently per copy, dates shifted, three copies interleaved block by
    block, noise lines added. Writes DIR/<filter>.log and prints a JSON manifest with one
    case per option set the sample file uses: {"filter", "options", "log"}.

rows LOG FILTERSPEC
    Runs `/usr/bin/python3 /usr/bin/fail2ban-regex -o row LOG FILTERSPEC` and prints its
    rows ([id, time, {groups}], Python repr) as one JSON array of
    {"id", "time", "groups"}; sets become sorted lists.

Everything derives from the seed, so a failing seed reproduces exactly.
"""

import ast
import calendar
import datetime
import ipaddress
import json
import os
import random
import re
import subprocess
import sys

SAMPLES = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs"
FILTERS = "/etc/fail2ban/filter.d"
COPIES = 3

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MONTH_RE = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
DAY_RE = r"(?i:mon|tue|wed|thu|fri|sat|sun)"

# Date shapes found in the samples. Named groups: Y (4-digit year), y (2-digit year),
# m (month number), b (month name), d (day), H/M/S (time), a (weekday name).
# "full" shapes are shifted by whole days plus seconds; in the day/month-ambiguous numeric
# shapes only the year and the time of day move, so the reading order cannot matter.
DATE_SHAPES = [
    (True, re.compile(r"(?<![\d.])(?P<Y>\d{4})(?P<s1>[-/.:])(?P<m>\d{2})(?P=s1)(?P<d>\d{2})(?:T|-| {1,2}|:)(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})")),
    (True, re.compile(r"(?:(?P<a>" + DAY_RE + r") )?(?P<b>" + MONTH_RE + r")(?: |-)(?P<d>[ \d]?\d)(?:,? (?P<Y>\d{4}))?(?: +|-)(?P<H>[ \d]?\d):(?P<M>\d{2}):(?P<S>\d{2})(?:\.\d+)?(?: (?P<Y2>\d{4})\b)?(?: (?P<p>[AaPp][Mm])\b)?")),
    (True, re.compile(r"(?<!\d)(?P<d>\d{2})[/-](?P<b>" + MONTH_RE + r")[/-](?P<Y>\d{4})[: ](?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})")),
    (True, re.compile(r"(?<!\d)(?P<b>" + MONTH_RE + r")-(?P<d>\d{2})-(?P<y>\d{2}) (?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})")),
    (True, re.compile(r"^(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2}) +(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})")),
    (False, re.compile(r"(?<![\d.])(?P<m>\d{2})(?P<s1>[-/.])(?P<d>\d{2})(?P=s1)(?P<Y>\d{4})(?: - | +|:)(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})")),
]
# Epoch seconds where the samples put them: line start, "[...]", "audit(...".
EPOCH_RE = re.compile(r"(?:^|(?<=\[)|(?<=audit\())(1\d{9})(?=[.\]:\s-])")
IPV4_RE = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w]|\.\d)")
IPV6_RE = re.compile(r"(?<![\w:.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![\w:.])")
PID_RE = re.compile(r"(?<=[\w/)-])\[(\d{2,7})\]")


class Perturbation:
    """One copy's consistent rewrite: address map, pid offset, date shift."""

    def __init__(self, rng, days, seconds):
        self.rng = rng
        self.days = days
        self.seconds = seconds
        self.addresses = {}
        self.pid_offset = rng.randrange(1000, 90000)

    def new_ipv4(self):
        r = self.rng
        kind = r.random()
        if kind < 0.08:  # invalid-looking: stays raw text in both tools
            return r.choice(["10.020.3.%d" % r.randrange(1, 99), "203.0.113.%d" % r.randrange(256, 999)])
        if kind < 0.3:
            return "198.51.100.%d" % r.randrange(1, 255)
        first = r.choice([r.randrange(1, 127), r.randrange(128, 224)])
        return "%d.%d.%d.%d" % (first, r.randrange(0, 256), r.randrange(0, 256), r.randrange(1, 255))

    def new_ipv6(self):
        r = self.rng
        kind = r.random()
        if kind < 0.2:
            return ":".join("%04x" % r.randrange(0, 65536) for _ in range(8))
        if kind < 0.3:
            return "::ffff:%s" % self.new_ipv4()
        return "2001:db8:%x:%x::%x" % (r.randrange(1, 65536), r.randrange(0, 65536), r.randrange(1, 65536))

    def address(self, old, maker):
        if old not in self.addresses:
            self.addresses[old] = maker()
        return self.addresses[old]

    def rewrite(self, line):
        line = self.shift_date(line)
        line = EPOCH_RE.sub(lambda m: str(int(m.group(1)) + self.days * 86400 + self.seconds), line)
        line = IPV6_RE.sub(self._ipv6, line)
        line = IPV4_RE.sub(self._ipv4, line)
        line = PID_RE.sub(lambda m: "[%d]" % (int(m.group(1)) + self.pid_offset), line)
        return line

    def _ipv4(self, m):
        try:
            ipaddress.IPv4Address(m.group(1))
        except ValueError:
            return m.group(0)
        return self.address(m.group(1), self.new_ipv4)

    def _ipv6(self, m):
        text = m.group(1)
        if text.count(":") < 2 or sum(c.isalnum() for c in text) < 2:  # "::" is prose, not an address
            return text
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return text
        return self.address(text.lower(), self.new_ipv6)

    def shift_date(self, line):
        best = None
        for full, shape in DATE_SHAPES:
            m = shape.search(line)
            if m and (best is None or m.start() < best[1].start()):
                best = (full, m)
        if best is None:
            return line
        full, m = best
        new = self._shifted(full, m)
        if new is None:
            return line
        return line[:m.start()] + new + line[m.end():]

    def _shifted(self, full, m):
        g = m.groupdict()
        year_text = g.get("Y") or g.get("Y2")
        year = int(year_text) if year_text else (2000 + int(g["y"]) if g.get("y") else 2004)
        hour = int(g["H"])
        if g.get("p"):
            hour = hour % 12 + (12 if g["p"].lower() == "pm" else 0)
        month = int(g["m"]) if g.get("m") else MONTHS.index(g["b"].lower()[:3]) + 1
        try:
            moment = datetime.datetime(year, month, int(g["d"]), hour, int(g["M"]), int(g["S"]))
        except ValueError:
            return None
        if full:
            moment += datetime.timedelta(days=self.days, seconds=self.seconds)
        else:
            years = self.days // 365 or 1
            day = min(moment.day, calendar.monthrange(moment.year + years, moment.month)[1])
            moment = moment.replace(year=moment.year + years, day=day)
            moment = moment.replace(hour=(moment.hour + self.seconds // 3600) % 24)
        values = {
            "Y": "%04d" % moment.year, "Y2": "%04d" % moment.year, "y": "%02d" % (moment.year % 100),
            "m": moment.month, "d": moment.day, "H": moment.hour, "M": moment.minute, "S": moment.second,
            "b": MONTHS[moment.month - 1], "a": DAYS[moment.weekday()],
        }
        if g.get("p"):  # 12-hour clock: %I with %p
            values["H"], values["p"] = (moment.hour % 12 or 12), ("am" if moment.hour < 12 else "pm")
        text = m.group(0)
        out, cursor = [], m.start()
        spans = sorted((m.start(k), m.end(k), k) for k in values if k in g and g[k] is not None)
        for start, end, key in spans:
            out.append(m.string[cursor:start])
            out.append(render(m.group(key), values[key]))
            cursor = end
        out.append(m.string[cursor:m.end()])
        return "".join(out) if text else None


def render(old, value):
    """`value` written like `old`: same width and padding, same letter case."""
    if isinstance(value, str) and value.isalpha():
        if old.isupper() and len(old) > 1:
            return value.upper()
        return value.capitalize() if old[:1].isupper() else value
    if isinstance(value, str):
        return value
    if old.startswith(" ") and len(old) == 2:
        return "%2d" % value
    if len(old) == 2:
        return "%02d" % value
    return "%d" % value


def sample_sections(path):
    """(option sets, lines) per filterOptions section; comments and blank lines dropped."""
    sections = [([{}], [])]
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        for raw in handle:
            line = raw.rstrip("\r\n")
            found = re.search(r"filterOptions:\s*(.*)$", line) if line.startswith("#") else None
            if found:
                options = json.loads(found.group(1))
                sections.append((options if isinstance(options, list) else [options], []))
            elif line.strip() and not line.startswith("#"):
                sections[-1][1].append(line)
    return [s for s in sections if s[1]]


def plain_options(options):
    return {k: v for k, v in options.items() if not k.startswith("test.")}


def option_sets(sections):
    seen, result = set(), []
    for options_list, _ in sections:
        for options in options_list:
            plain = plain_options(options)
            key = json.dumps(plain, sort_keys=True)
            if key not in seen:
                seen.add(key)
                result.append(plain)
    return result


def journal_lines(sections, rng):
    """Journal-only sections have no dates: give each line a syslog date and the prefix
    the sample runner adds, so neither tool falls back to the wall clock."""
    moment = datetime.datetime(2004, 3, 1, 9, 0, 0) + datetime.timedelta(seconds=rng.randrange(0, 86400 * 200))
    blocks = []
    for options_list, lines in sections:
        journal = all(o.get("logtype") == "journal" for o in options_list)
        prefix = options_list[0].get("test.prefix-line", "") if journal else ""
        block = []
        for line in lines:
            if journal:
                moment += datetime.timedelta(seconds=rng.randrange(1, 90))
                line = "%s %2d %s %s%s" % (MONTHS[moment.month - 1].capitalize(), moment.day,
                                           moment.strftime("%H:%M:%S"), prefix, line)
            block.append(line)
        blocks.append(block)
    return blocks


def noise_line(rng, donor_lines):
    kind = rng.randrange(7)
    if kind == 0:
        return "Nov %2d %02d:%02d:%02d noisehost kernel: [%6d.%06d] eth0: link up" % (
            rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60),
            rng.randrange(999999), rng.randrange(999999))
    if kind == 1:
        return "# a comment that both tools skip"
    if kind == 2:
        return ""
    if kind == 3:
        return "".join(rng.choice("abcdefghij XYZ0123456789:.[]()-_/'\"") for _ in range(rng.randrange(5, 80)))
    if kind == 4:
        return "2004-%02d-%02d %02d:%02d:%02d" % (rng.randrange(1, 13), rng.randrange(1, 29),
                                                   rng.randrange(24), rng.randrange(60), rng.randrange(60))
    return rng.choice(donor_lines)


def blocks_of(lines, rng):
    """Runs of 1-4 consecutive lines: the unit that stays together when copies interleave."""
    blocks, i = [], 0
    while i < len(lines):
        size = rng.randrange(1, 5)
        blocks.append(lines[i:i + size])
        i += size
    return blocks


def generate_log(name, seed, samples, donor_lines):
    rng = random.Random("%s/%d" % (name, seed))
    sections = sample_sections(os.path.join(samples, name))
    base = [line for block in journal_lines(sections, rng) for line in block]
    copies = []
    for _ in range(COPIES):
        days = rng.choice([-1, 1]) * rng.randrange(20, 800)
        perturbation = Perturbation(rng, days, rng.randrange(0, 86400))
        copies.append(blocks_of([perturbation.rewrite(line) for line in base], rng))
    out = []
    positions = [0] * COPIES
    while any(positions[c] < len(copies[c]) for c in range(COPIES)):
        c = rng.choice([c for c in range(COPIES) if positions[c] < len(copies[c])])
        out.extend(copies[c][positions[c]])
        positions[c] += 1
        if rng.random() < 0.15:
            out.append(noise_line(rng, donor_lines))
    return out, option_sets(sections)


def stock_filters(filters):
    return sorted(f[:-5] for f in os.listdir(filters)
                  if f.endswith(".conf") and not f.endswith("common.conf"))


def generate(args):
    seed, out_dir = int(args[args.index("--seed") + 1]), args[args.index("--out") + 1]
    samples = args[args.index("--samples") + 1] if "--samples" in args else SAMPLES
    filters = args[args.index("--filters") + 1] if "--filters" in args else FILTERS
    os.makedirs(out_dir, exist_ok=True)
    names = stock_filters(filters)
    donor = []
    for donor_name in ("sshd", "apache-auth", "postfix"):
        for _, lines in sample_sections(os.path.join(samples, donor_name)):
            donor.extend(lines)
    cases, missing = [], []
    for name in names:
        if not os.path.exists(os.path.join(samples, name)):
            missing.append(name)
            continue
        lines, options = generate_log(name, seed, samples, donor)
        log = os.path.join(out_dir, name + ".log")
        with open(log, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write("\n".join(lines) + "\n")
        for option in options:
            cases.append({"filter": name, "options": option, "log": log})
    json.dump({"seed": seed, "filters": len(names), "missing_samples": missing, "cases": cases}, sys.stdout)


def jsonable(value):
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def rows(args):
    log, spec = args
    run = subprocess.run(["/usr/bin/python3", "/usr/bin/fail2ban-regex", "-o", "row", log, spec],
                         capture_output=True, text=True, errors="replace")
    if run.returncode != 0:
        sys.stderr.write(run.stderr[-4000:])
        sys.exit(run.returncode)
    result = []
    for line in run.stdout.splitlines():
        if not line.startswith("["):
            continue
        fid, time, groups = ast.literal_eval(line.rstrip(","))
        result.append({"id": jsonable(fid), "time": time, "groups": jsonable(groups)})
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    {"generate": generate, "rows": rows}[sys.argv[1]](sys.argv[2:])
