#!/usr/bin/env python3
"""Where a 5,000-address burst's CPU goes, per daemon thread, for one or more warden
binaries run interleaved (the same hour, the same load).

Each run starts one daemon the way run.py does (own network namespace, Debian's
/etc/fail2ban with the benchmark's sshd jail), bans one address to warm up, attaches
`perf stat --per-thread -e task-clock` and appends the burst; it prints the time until
the 5,000th address reached the kernel set and each thread's CPU time (largest first).
`--record` attaches `perf record -g` (DWARF) instead and keeps perf.data per run.

Usage (root): Benchmarks/daemon/burst_threads.py [--runs N] [--record DIR] WARDEN...
"""
import argparse, os, subprocess, sys, tempfile, shutil, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402


def burst(warden, work, listener, record):
    daemon = run.Daemon("warden", warden, work)
    try:
        daemon.start()
        time.sleep(1)
        arrivals = run.Listener(daemon, listener)
        daemon.append(run.line("172.16.0.1") * 3)
        arrivals.wait("172.16.0.1", 10)
        text = "".join(run.line(run.burst_address(i)) * 3 for i in range(5000))
        arrivals.count(5000)
        output = os.path.join(record or work, "perf.data" if record else "stat.txt")
        command = (["perf", "record", "-F", "15000", "--call-graph", "dwarf,16384", "-o", output] if record
                   else ["perf", "stat", "--per-thread", "-e", "task-clock", "-o", output])
        perf = subprocess.Popen(command + ["-p", str(daemon.process.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        started = time.perf_counter()
        daemon.append(text)
        counted = arrivals.counted(60)
        time.sleep(0.2)
        perf.send_signal(2)
        perf.wait()
        arrivals.stop()
        threads = []
        if not record:
            for row in open(output):
                words = row.split()
                if len(words) > 2 and words[2] == "msec":
                    threads.append(float(words[1].replace(",", "")))
        return (counted[1] - started if counted else None), sorted(threads, reverse=True)
    finally:
        daemon.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--record", help="keep a perf.data per run in this folder instead of counting CPU")
    parser.add_argument("warden", nargs="+")
    args = parser.parse_args()
    print(f"# load average {os.getloadavg()}")
    work = tempfile.mkdtemp(prefix="warden-burst-threads-")
    try:
        listener = run.build_listener(work)
        for index in range(args.runs):
            for number, warden in enumerate(args.warden):
                record = os.path.join(args.record, f"{number}-{index}") if args.record else None
                if record:
                    os.makedirs(record, exist_ok=True)
                seconds, threads = burst(warden, os.path.join(work, f"{number}-{index}"), listener, record)
                shown = "n/a" if seconds is None else f"{seconds:.3f}"
                cpu = " ".join(f"{ms:.0f}" for ms in threads[:4])
                print(f"{warden}  burst {shown} s  thread CPU ms {cpu}  (all {sum(threads):.0f})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"# load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
