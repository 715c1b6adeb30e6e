#!/usr/bin/env python3
"""warden's daemon against fail2ban 1.0.2 on the same sshd jail and the same log lines.

Each daemon runs alone in its own network namespace (`ip netns add`), so the host's
firewall is never touched, with a private copy of /etc/fail2ban whose fail2ban.local
moves socket, pidfile, dbfile and logtarget into a temporary folder and whose
jail.d/zz-bench.local points sshd at a generated log (backend = pyinotify,
banaction = nftables-multiport, maxretry = 3).

Measured per daemon, in this order, on a fresh start:
  ping     time from spawning the server to its control socket answering ping (the
           harness speaks each socket's protocol itself, polled every 2 ms, so that
           fail2ban-client's own Python start-up is not counted), plus one run of
           `warden ping` / `fail2ban-client ping` as a user would type it.
  rss0     VmRSS of the server after start (sshd jail running, nothing banned).
  latency  for each of 50 addresses: 2 failures appended, then the third line; the
           time from writing that line to the address appearing in the kernel set.
  burst    3 failures for each of 5,000 new addresses appended in one write; the time
           from the write until the 5,000th of them is in the kernel set. fail2ban gets a
           bounded timeout (--timeout, default 120 s) and the count it reached is reported.
           Afterwards one `nft -j list set` checks that all of them are really there, and
           its own time is reported (`list_set_s`: what a harness polling the set pays
           per poll, which is why this one does not poll).
  rss1     VmRSS after the burst; burst_cpu_s is the server's CPU time (user + system,
           its waited-for children included: fail2ban's `nft` processes) during the burst.

Arrival times come from the kernel's nftables events: `setelem_listener` (C, compiled
here with gcc) runs in the daemon's namespace subscribed to NFNLGRP_NFTABLES, records
when each address of the benchmark set arrived (NEWSETELEM, CLOCK_MONOTONIC) and
answers the harness with one line per question, so neither a poll of the set nor a line
per event competes with the daemon for CPU. Both daemons are measured the same way.

Targets (warden): burst < 0.1 s, median latency < 1 ms, RSS < 15 MB, ping < 50 ms.
Usage (root): Benchmarks/daemon/run.py [--warden PATH] [--rounds N] [--timeout S]
"""
import argparse, json, os, pickle, select, shutil, socket, statistics, struct, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def line(address, when=None):
    stamp = time.strftime("%b %d %H:%M:%S", time.localtime(when))
    return f"{stamp} bench sshd[4242]: Failed password for root from {address} port 22022 ssh2\n"


def burst_address(i):
    return f"10.{1 + i // 62500}.{(i // 250) % 250}.{i % 250 + 1}"


class Daemon:
    """One server (fail2ban or warden) in its own namespace and folder."""

    def __init__(self, kind, warden, work):
        self.kind, self.warden = kind, warden
        self.dir = os.path.join(work, kind)
        self.ns = f"bench-{kind}-{os.getpid()}"
        self.conf = os.path.join(self.dir, "fail2ban")
        self.log = os.path.join(self.dir, "auth.log")
        self.sock = os.path.join(self.dir, "server.sock")
        os.makedirs(self.dir)
        shutil.copytree("/etc/fail2ban", self.conf)
        with open(os.path.join(self.conf, "fail2ban.local"), "w") as f:
            f.write(f"[Definition]\nsocket = {self.sock}\npidfile = {self.dir}/server.pid\n"
                    f"dbfile = {self.dir}/fail2ban.sqlite3\nlogtarget = {self.dir}/server.log\nloglevel = NOTICE\n")
        with open(os.path.join(self.conf, "jail.d", "zz-bench.local"), "w") as f:
            f.write(f"[sshd]\nenabled = true\nlogpath = {self.log}\nbackend = pyinotify\n"
                    "banaction = nftables-multiport\nmaxretry = 3\nfindtime = 1h\nbantime = 1h\n")
        open(self.log, "w").close()
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "-n", self.ns, "link", "set", "lo", "up"], check=True)
        self.table, self.set = (("f2b-table", "addr-set-sshd") if kind == "fail2ban" else ("warden", "sshd-v4"))

    def command(self):
        if self.kind == "fail2ban":
            return ["/usr/bin/python3", "/usr/bin/fail2ban-server", "-f", "-x", "-c", self.conf]
        return [self.warden, "start", "--config", self.conf, "--foreground"]

    def client_ping(self):
        if self.kind == "fail2ban":
            return ["/usr/bin/python3", "/usr/bin/fail2ban-client", "-c", self.conf, "ping"]
        return [self.warden, "ping", "--config", self.conf]

    def start(self):
        started = time.perf_counter()
        # `ip netns exec` execs the server, so this pid is the server's.
        self.process = subprocess.Popen(["ip", "netns", "exec", self.ns] + self.command(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = started + 30
        while time.perf_counter() < deadline:
            if self.ping():
                return time.perf_counter() - started
            if self.process.poll() is not None:
                raise SystemExit(f"{self.kind} exited with {self.process.returncode}; see {self.dir}/server.log")
            time.sleep(0.002)
        raise SystemExit(f"{self.kind} did not answer ping within 30 s")

    def ping(self):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(5)
                s.connect(self.sock)
                if self.kind == "fail2ban":
                    s.sendall(pickle.dumps(["ping"], 2) + b"<F2B_END_COMMAND>")
                    reply = b""
                    while not reply.endswith(b"<F2B_END_COMMAND>"):
                        chunk = s.recv(4096)
                        if not chunk:
                            return False
                        reply += chunk
                    return pickle.loads(reply[:-len(b"<F2B_END_COMMAND>")])[1] == "pong"
                body = json.dumps({"command": ["ping"]}).encode()
                s.sendall(struct.pack(">I", len(body)) + body)
                reply = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                return json.loads(reply[4:]).get("status") == 0
        except (OSError, ValueError, EOFError, pickle.UnpicklingError):
            return False

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for row in f:
                if row.startswith("VmRSS:"):
                    return int(row.split()[1])

    def cpu_s(self):
        """CPU seconds (user + system) of the server and its waited-for children."""
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")

    def elements(self):
        listing = subprocess.run(["ip", "netns", "exec", self.ns, "nft", "-j", "list", "set", "inet", self.table, self.set],
                                 capture_output=True, text=True)
        if listing.returncode != 0:
            return 0
        for entry in json.loads(listing.stdout)["nftables"]:
            if "set" in entry:
                return len(entry["set"].get("elem", []))
        return 0

    def append(self, text):
        with open(self.log, "a") as f:
            f.write(text)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        subprocess.run(["ip", "netns", "delete", self.ns])


class Listener:
    """`setelem_listener` in the daemon's namespace, watching the daemon's set."""

    def __init__(self, daemon, binary):
        self.process = subprocess.Popen(["ip", "netns", "exec", daemon.ns, binary, daemon.table, daemon.set],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.pending = b""  # read from the listener, not yet returned as a reply
        if self.reply(30) != ["ready"]:
            raise SystemExit("setelem_listener did not subscribe")

    def ask(self, command):
        self.process.stdin.write(command.encode() + b"\n")

    def reply(self, timeout):
        """The listener's next answer as words, or None after `timeout` seconds."""
        deadline = time.perf_counter() + timeout
        while b"\n" not in self.pending:
            ready, _, _ = select.select([self.process.stdout], [], [], max(0, deadline - time.perf_counter()))
            if not ready:
                return None
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                raise SystemExit("setelem_listener exited")
            self.pending += chunk
        reply, self.pending = self.pending.split(b"\n", 1)
        words = reply.decode().split()
        if words == ["overrun"]:
            raise SystemExit("setelem_listener: the kernel dropped events (socket overrun)")
        return words

    def wait(self, address, timeout):
        """When `address` reached the set (perf_counter seconds), or None."""
        self.ask(f"wait {address}")
        words = self.reply(timeout)
        return float(words[2]) if words else None

    def count(self, count):
        """Starts counting new addresses; returns once the listener counts."""
        self.ask(f"count {count}")
        if self.reply(30) != ["counting"]:
            raise SystemExit("setelem_listener did not start counting")

    def counted(self, timeout):
        """(first, last) arrival of the counted addresses, or None after `timeout`."""
        words = self.reply(timeout)
        return (float(words[2]), float(words[3])) if words else None

    def progress(self):
        """(count, first, last) of the addresses counted so far."""
        self.ask("progress")
        words = self.reply(30)
        return int(words[1]), float(words[2]), float(words[3])

    def stop(self):
        self.process.stdin.close()
        self.process.wait()


def build_listener(work):
    binary = os.path.join(work, "setelem_listener")
    subprocess.run(["gcc", "-O2", "-Wall", "-o", binary, os.path.join(HERE, "setelem_listener.c")], check=True)
    return binary


def measure(kind, warden, work, listener_binary, count, timeout, latency_samples):
    daemon = Daemon(kind, warden, work)
    result = {}
    try:
        result["ping_s"] = daemon.start()
        time.sleep(1)  # let start-up allocations settle before reading RSS
        client = time.perf_counter()
        subprocess.run(["ip", "netns", "exec", daemon.ns] + daemon.client_ping(), check=True, capture_output=True)
        result["client_ping_s"] = time.perf_counter() - client
        result["rss_start_kib"] = daemon.rss_kib()

        listener = Listener(daemon, listener_binary)
        latencies = []
        for i in range(latency_samples):
            address = f"172.16.{i // 250}.{i % 250 + 1}"
            daemon.append(line(address) * 2)
            time.sleep(0.05)
            written = time.perf_counter()
            daemon.append(line(address))
            seen = listener.wait(address, 30)
            if seen is None:
                raise SystemExit(f"{kind}: {address} was not banned within 30 s")
            latencies.append(seen - written)
        latencies.sort()
        result["latency_median_s"] = statistics.median(latencies)
        result["latency_p99_s"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]

        before = daemon.elements()
        text = "".join(line(burst_address(i)) * 3 for i in range(count))
        listener.count(count)
        cpu = daemon.cpu_s()
        started = time.perf_counter()
        daemon.append(text)
        arrivals = listener.counted(timeout)
        result["burst_cpu_s"] = daemon.cpu_s() - cpu
        if arrivals:
            result["burst_s"] = arrivals[1] - started
            result["burst_first_event_s"] = arrivals[0] - started
        else:
            reached, first, _ = listener.progress()
            result["burst_s"] = timeout
            result["burst_first_event_s"] = first - started if reached else None
        listener.stop()
        listing = time.perf_counter()
        result["burst_banned"] = daemon.elements() - before
        result["list_set_s"] = time.perf_counter() - listing
        if arrivals and result["burst_banned"] != count:
            raise SystemExit(f"{kind}: the events counted {count} new addresses, the set holds {result['burst_banned']}")
        result["rss_after_kib"] = daemon.rss_kib()
    finally:
        daemon.stop()
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--warden", default=os.path.join(ROOT, ".build", "release", "warden"))
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--latency-samples", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--rounds", type=int, default=1, help="warden rounds (fail2ban runs once: it takes minutes)")
    parser.add_argument("--skip-fail2ban", action="store_true")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (network namespaces, nftables)")
    print(f"# {os.uname().nodename} {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    work = tempfile.mkdtemp(prefix="warden-daemon-bench-")
    try:
        listener = build_listener(work)
        rows = {"warden": [measure("warden", args.warden, work + f"/w{r}", listener, args.count, args.timeout, args.latency_samples)
                           for r in range(args.rounds)]}
        if not args.skip_fail2ban:
            rows["fail2ban"] = [measure("fail2ban", None, work + "/f", listener, args.count, args.timeout, args.latency_samples)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"# load average after {os.getloadavg()}")
    keys = ["ping_s", "client_ping_s", "rss_start_kib", "latency_median_s", "latency_p99_s", "burst_s", "burst_banned",
            "burst_first_event_s", "burst_cpu_s", "list_set_s", "rss_after_kib"]
    medians = {kind: {k: statistics.median([r[k] for r in runs if r[k] is not None] or [0]) for k in keys}
               for kind, runs in rows.items()}
    print(json.dumps({"runs": rows, "medians": medians}, indent=1))
    if "fail2ban" in medians:
        w, f = medians["warden"], medians["fail2ban"]
        print(f"ping          warden {w['ping_s']*1e3:.1f} ms   fail2ban {f['ping_s']*1e3:.1f} ms   ({f['ping_s']/w['ping_s']:.1f}x)")
        print(f"client ping   warden {w['client_ping_s']*1e3:.1f} ms   fail2ban {f['client_ping_s']*1e3:.1f} ms")
        print(f"latency p50   warden {w['latency_median_s']*1e3:.2f} ms   fail2ban {f['latency_median_s']*1e3:.2f} ms   ({f['latency_median_s']/w['latency_median_s']:.1f}x)")
        print(f"latency p99   warden {w['latency_p99_s']*1e3:.2f} ms   fail2ban {f['latency_p99_s']*1e3:.2f} ms")
        wr, fr = w['burst_banned'] / w['burst_s'], f['burst_banned'] / f['burst_s']
        print(f"burst         warden {w['burst_banned']:.0f} in {w['burst_s']:.3f} s ({wr:.0f}/s)   fail2ban {f['burst_banned']:.0f} in {f['burst_s']:.1f} s ({fr:.0f}/s)   ({wr/fr:.0f}x bans/s)")
        print(f"burst CPU     warden {w['burst_cpu_s']:.2f} s   fail2ban {f['burst_cpu_s']:.2f} s")
        print(f"burst first   warden {w['burst_first_event_s']:.3f} s   fail2ban {f['burst_first_event_s']:.3f} s; one listing of the full set {w['list_set_s']*1e3:.0f} ms")
        print(f"RSS start     warden {w['rss_start_kib']/1024:.1f} MiB   fail2ban {f['rss_start_kib']/1024:.1f} MiB")
        print(f"RSS after     warden {w['rss_after_kib']/1024:.1f} MiB   fail2ban {f['rss_after_kib']/1024:.1f} MiB")


if __name__ == "__main__":
    main()
