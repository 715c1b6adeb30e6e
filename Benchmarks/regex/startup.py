#!/usr/bin/env python3
"""Start-up cost of `warden regex` on an empty log, per process: each binary is spawned
with posix_spawn and reaped with wait4 once per round, the binaries in a fresh random
order each round so a change of load hits them alike. Prints per binary the median wall
time from spawn to reap, the median CPU time (user + sys) and the median minor page
faults; the wall time includes the spawn itself, the same for every binary.

Usage: Benchmarks/regex/startup.py [--rounds N] [--config DIR] [--filter NAME] WARDEN...
"""
import argparse, os, random, statistics, tempfile, time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=600)
    parser.add_argument("--config", default="/etc/fail2ban")
    parser.add_argument("--filter", default="sshd")
    parser.add_argument("warden", nargs="+")
    args = parser.parse_args()
    print(f"# load average {os.getloadavg()}")
    with tempfile.NamedTemporaryFile(prefix="warden-startup-", suffix=".log") as log:
        devnull = os.open(os.devnull, os.O_WRONLY)
        runs = {warden: [] for warden in args.warden}
        for _ in range(args.rounds):
            for warden in random.sample(args.warden, len(args.warden)):
                argv = [warden, "regex", "--json", "--config", args.config, log.name, args.filter]
                started = time.perf_counter_ns()
                pid = os.posix_spawn(warden, argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
                _, status, usage = os.wait4(pid, 0)
                wall = (time.perf_counter_ns() - started) / 1e6
                if status != 0:
                    raise SystemExit(f"{warden} exited with status {status}")
                runs[warden].append((wall, (usage.ru_utime + usage.ru_stime) * 1e3, usage.ru_minflt))
    for warden, samples in runs.items():
        wall, cpu, faults = (statistics.median(column) for column in zip(*samples))
        print(f"{warden}: wall {wall:.3f} ms, cpu {cpu:.3f} ms, minor faults {faults:.0f} (medians of {len(samples)})")


if __name__ == "__main__":
    main()
