#!/usr/bin/env python3
"""Writes scripts/warden.order, the order in which lld (--symbol-ordering-file, from
Package.swift) places the functions of the `warden` binary, as recorded by valgrind's
callgrind:

1. the functions that run for every log line (`warden regex` with the stock sshd filter
   on a generated 20,000-line sshd log, less the same run on an empty log), busiest
   first: next to each other they share the instruction cache with fewer conflicts;
2. the functions that run while the daemon starts on Debian's /etc/fail2ban with the
   sshd jail, bans, answers the client and stops: next to each other, the pages of code
   the daemon touches (and the kernel maps 64 KiB around each fault) are few.

Usage (root, valgrind installed, after `swift build -c release --product warden`):
    scripts/link-order.py [--warden .build/release/warden]
then rebuild. A stale list is harmless (unknown names are skipped); it only costs memory.
The run happens in a private network namespace, never on the host's firewall.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def record(warden, work):
    """Runs the daemon under callgrind; returns the path of callgrind's output."""
    conf, log, out = f"{work}/fail2ban", f"{work}/auth.log", f"{work}/callgrind.out"
    shutil.copytree("/etc/fail2ban", conf)
    with open(f"{conf}/fail2ban.local", "w") as f:
        f.write(f"[Definition]\nsocket = {work}/server.sock\npidfile = {work}/server.pid\n"
                f"dbfile = {work}/warden.sqlite3\nlogtarget = {work}/server.log\nloglevel = NOTICE\n")
    with open(f"{conf}/jail.d/zz-order.local", "w") as f:
        f.write(f"[sshd]\nenabled = true\nlogpath = {log}\nbackend = pyinotify\n"
                "banaction = nftables-multiport\nmaxretry = 3\n")
    open(log, "w").close()
    client = lambda *words: subprocess.run([warden, *words, "--config", conf], capture_output=True)
    # Valgrind 3.19 cannot read the DWARF 5 that swiftc writes; symbols are enough.
    stripped = f"{work}/warden"
    subprocess.run(["strip", "--strip-debug", "-o", stripped, warden], check=True)
    script = (f"ip link set lo up && exec valgrind -q --tool=callgrind --demangle=no "
              f"--callgrind-out-file={out} {stripped} start --config {conf} --foreground")
    daemon = subprocess.Popen(["unshare", "-n", "sh", "-c", script])
    try:
        for _ in range(300):
            if client("ping").returncode == 0:
                break
            time.sleep(0.1)
        else:
            sys.exit("the daemon did not answer ping under valgrind within 30 s")
        stamp = time.strftime("%b %d %H:%M:%S")
        with open(log, "a") as f:
            for address in ["192.0.2.7"] * 3 + ["192.0.2.8"]:
                f.write(f"{stamp} host sshd[42]: Failed password for root from {address} port 22 ssh2\n")
        time.sleep(3)
        client("status", "sshd")
        client("banned")
    finally:
        client("stop")
        daemon.wait()
    return out


def per_line(warden, work):
    """The functions of `warden` that run for every line of an sshd log, busiest first."""
    sys.path.insert(0, os.path.join(ROOT, "Benchmarks", "regex"))
    import sshd_log
    log, empty = f"{work}/sshd.log", f"{work}/empty.log"
    sshd_log.write(log, 20000, 1)
    open(empty, "w").close()
    stripped = f"{work}/warden-regex"
    subprocess.run(["strip", "--strip-debug", "-o", stripped, warden], check=True)
    costs = []
    for name, path in (("lines", log), ("empty", empty)):
        out = f"{work}/regex-{name}.out"
        subprocess.run(["valgrind", "-q", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}",
                        stripped, "regex", "--json", "--raw", "--config", "/etc/fail2ban", path, "sshd"],
                       stdout=subprocess.DEVNULL, check=True)
        table = subprocess.run(["callgrind_annotate", "--threshold=100", out],
                               capture_output=True, text=True, check=True).stdout
        cost = {}
        for found in re.finditer(r"^\s*([\d,]+) .*?\?\?\?:(\S+) \[" + re.escape(stripped) + r"\]$", table, re.M):
            cost[found.group(2)] = int(found.group(1).replace(",", ""))
        costs.append(cost)
    lines, empty_cost = costs
    # At least one instruction per line on average: the per-line path, not start-up.
    busy = {name: count - empty_cost.get(name, 0) for name, count in lines.items()}
    return [name for name, extra in sorted(busy.items(), key=lambda item: -item[1]) if extra >= 20000]


def functions(callgrind_out, binary_name):
    """The names of the functions of `binary_name` that ran, in callgrind's order."""
    objects, names, seen, current = {}, {}, {}, None

    def resolve(table, spec):
        found = re.match(r"\((\d+)\)(?: (.*))?", spec)
        if not found:
            return spec
        if found.group(2) is not None:
            table[found.group(1)] = found.group(2)
        return table[found.group(1)]

    with open(callgrind_out, errors="replace") as f:
        for row in f:
            if row.startswith("ob="):
                current = resolve(objects, row[3:].strip())
            elif row.startswith("cob="):
                resolve(objects, row[4:].strip())
            elif row.startswith("fn="):
                # callgrind marks recursion levels ("name'2"); unnamed code shows as an address.
                name = resolve(names, row[3:].strip()).split("'")[0]
                if current and current.endswith("/" + binary_name) and not name.startswith("0x"):
                    seen.setdefault(name, None)
            elif row.startswith("cfn="):
                resolve(names, row[4:].strip())
    return list(seen)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warden", default=os.path.join(ROOT, ".build/release/warden"))
    warden = os.path.abspath(parser.parse_args().warden)
    with tempfile.TemporaryDirectory(prefix="warden-order-") as work:
        hot = per_line(warden, work)
        daemon = functions(record(warden, work), "warden")
    if len(daemon) < 1000 or len(hot) < 30:
        sys.exit(f"only {len(hot)} per-line and {len(daemon)} daemon functions recorded; is this the release binary?")
    placed = set(hot)
    names = hot + [name for name in daemon if name not in placed]
    with open(os.path.join(ROOT, "scripts/warden.order"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"scripts/warden.order: {len(hot)} per-line functions, then {len(names) - len(hot)} more of the daemon's")


if __name__ == "__main__":
    main()
