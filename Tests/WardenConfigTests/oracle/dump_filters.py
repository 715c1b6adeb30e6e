#!/usr/bin/python3
"""Dump what fail2ban's own FilterReader hands to the server, as JSON, for warden's
config oracle test.

Usage: dump_filters.py CONFIG_DIR SAMPLE_LOG_DIR
       dump_filters.py --one CONFIG_DIR NAME [OPTIONS_JSON]   (one filter, one result)
       dump_filters.py --references JSON_LIST                 (extractOptions on each)

Cases: every filter.d/*.conf under CONFIG_DIR, each without options and with every
distinct option set of the sample logs' `# filterOptions:` lines (merged with the file's
`# fileOptions:` and without the runner-only `test.*` keys, as samplestestcase.py does).
"""
import glob
import json
import os
import re
import sys

from fail2ban.client.filterreader import FilterReader
from fail2ban.helpers import extractOptions


def option_sets(log_dir):
    found = [{}]
    line_re = re.compile(r"^#+ ?(fileOptions|filterOptions):(.+)$")
    for path in sorted(glob.glob(os.path.join(log_dir, "*"))):
        if not os.path.isfile(path):
            continue
        common = {}
        with open(path, encoding="utf-8", errors="replace") as log:
            for line in log:
                match = line_re.match(line.rstrip("\n"))
                if not match:
                    continue
                data = json.loads(match.group(2))
                if match.group(1) == "fileOptions":
                    common = data
                    continue
                for entry in data if isinstance(data, list) else [data]:
                    merged = dict(common)
                    merged.update(entry)
                    options = {k: str(v) for k, v in merged.items() if not k.startswith("test.")}
                    if options not in found:
                        found.append(options)
    return found


def read_filter(config_dir, name, options):
    reader = FilterReader(name, "jail", dict(options), basedir=config_dir)
    if not reader.read():
        return {"error": "not readable"}
    reader.getOptions({})
    combined = reader.getCombined()
    result = {"failregex": [], "ignoreregex": [], "maxlines": 1}
    for command in FilterReader._fillStream([], combined, "jail"):
        key, value = command[2], command[3]
        if key in ("addfailregex", "addignoreregex"):
            result[key[3:]] += value if command[0] == "multi-set" else [value]
        elif key in ("prefregex", "datepattern", "usedns", "maxlines"):
            result[key] = value
    result["journalmatch"] = combined.get("journalmatch")
    return result


def guarded(function, *args):
    try:
        return function(*args)
    except Exception as error:  # the Swift side must fail on the same inputs
        return {"error": "%s: %s" % (type(error).__name__, error)}


def extract(reference):
    name, options = extractOptions(reference)
    return {"name": name, "options": [[k, v] for k, v in options.items()]}


def main():
    if sys.argv[1] == "--one":
        options = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
        json.dump(guarded(read_filter, sys.argv[2], sys.argv[3], options), sys.stdout, sort_keys=True)
        return
    if sys.argv[1] == "--references":
        json.dump([guarded(extract, r) for r in json.loads(sys.argv[2])], sys.stdout)
        return
    config_dir, log_dir = sys.argv[1], sys.argv[2]
    names = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(config_dir, "filter.d", "*.conf")))
    cases = []
    for name in names:
        for options in option_sets(log_dir):
            result = guarded(read_filter, config_dir, name, options)
            cases.append({"filter": name, "options": options, "result": result})
    json.dump(cases, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
