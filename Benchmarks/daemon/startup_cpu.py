#!/usr/bin/env python3
"""Start-up cost of `warden start --foreground` as CPU time, which waiting for a CPU on
a shared machine does not change: `perf stat -e task-clock` of the daemon from spawn
until one ping and `warden stop`, on run.py's configuration (Debian's /etc/fail2ban,
sshd jail, own network namespace). Binaries are run interleaved; prints the sorted CPU
times and spawn-to-ping times (under perf) of each.

Usage (root): Benchmarks/daemon/startup_cpu.py [--runs N] WARDEN...
"""
import argparse, os, subprocess, sys, tempfile, shutil, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("warden", nargs="+")
    args = parser.parse_args()
    print(f"# load average {os.getloadavg()}")
    results = {warden: [] for warden in args.warden}
    for _ in range(args.runs):
        for warden in args.warden:
            work = tempfile.mkdtemp(prefix="warden-startup-cpu-")
            try:
                daemon = run.Daemon("warden", warden, os.path.join(work, "w"))
                stat = os.path.join(work, "stat")
                started = time.perf_counter()
                daemon.process = subprocess.Popen(
                    ["perf", "stat", "-x,", "-e", "task-clock", "-o", stat, "ip", "netns", "exec", daemon.ns] + daemon.command(),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                while not daemon.ping():
                    time.sleep(0.002)
                ping = time.perf_counter() - started
                subprocess.run(["ip", "netns", "exec", daemon.ns, warden, "stop", "--config", daemon.conf], capture_output=True)
                daemon.process.wait()
                subprocess.run(["ip", "netns", "delete", daemon.ns])
                cpu = float(next(row for row in open(stat) if "task-clock" in row).split(",")[0])
                results[warden].append((cpu, ping * 1000))
            finally:
                shutil.rmtree(work, ignore_errors=True)
    for warden, rows in results.items():
        cpu = sorted(row[0] for row in rows)
        ping = sorted(row[1] for row in rows)
        print(f"{warden}  task-clock ms {' / '.join(f'{v:.1f}' for v in cpu)} (median {cpu[len(cpu) // 2]:.1f})"
              f"  spawn-to-ping ms median {ping[len(ping) // 2]:.1f}")
    print(f"# load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
