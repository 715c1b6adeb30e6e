#!/usr/bin/env python3
"""Instructions each daemon thread spends on a 5,000-address burst, counted by callgrind.

The burst is run.py's (3 failures for each of 5,000 new addresses appended in one write,
stock sshd jail, in a private network namespace). Callgrind counts only inside the
thread's entry function (`--toggle-collect`), so the figure is that thread's work for
the burst, independent of the VM's speed, unlike `burst_threads.py`'s CPU times:

  matching  JailPipeline.handle(LogBatch): reading, matching, counting the lines
  handoff   JailPipeline.publishDecided: ban time, store transaction, channel, NOTICE lines
  worker    BanWorker.apply: the nftables batches

Valgrind 3.19 cannot read the DWARF 5 that swiftc writes, so a `strip --strip-debug` copy
of the binary runs; the entry functions are found in the unstripped one. Each thread is
a run of its own (the burst under callgrind takes about a minute).

Usage (root): Benchmarks/daemon/burst_callgrind.py [--warden PATH] [--keep DIR] [THREAD...]
"""
import argparse, os, re, shutil, signal, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

# Mangled-name patterns of each thread's entry function, matched by callgrind; each must
# match that function only (a closure inside it would toggle collection off again).
ENTRY = {
    "matching": r"^\$s12WardenDaemon12JailPipelineC6handle33_\w*8LogBatchV_\w*VGtF$",
    "handoff": r"^\$s12WardenDaemon12JailPipelineC14publishDecided\w*tF$",
    "worker": r"^\$s12WardenDaemon9BanWorkerC5apply\w*tF$",
}


def entry_symbol(warden, thread):
    names = subprocess.run(["nm", warden], capture_output=True, text=True, check=True).stdout.split()
    found = [name for name in names if re.match(ENTRY[thread], name)]
    if len(found) != 1:
        raise SystemExit(f"{thread}: expected one entry function in {warden}, found {found}")
    return found[0]


def count(stripped, symbol, out, work):
    daemon = run.Daemon("warden", stripped, work)
    plain = daemon.command
    daemon.command = lambda: ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                              f"--toggle-collect={symbol}", f"--callgrind-out-file={out}"] + plain()
    try:
        daemon.start()
        time.sleep(2)
        daemon.append("".join(run.line(run.burst_address(i)) * 3 for i in range(5000)))
        deadline = time.time() + 300
        while time.time() < deadline and daemon.elements() < 5000:
            time.sleep(2)
    finally:
        daemon.process.send_signal(signal.SIGTERM)
        daemon.process.wait(timeout=120)
        subprocess.run(["ip", "netns", "delete", daemon.ns], stderr=subprocess.DEVNULL)
    for line in open(out):
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {out}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--warden", default=os.path.join(run.ROOT, ".build", "release", "warden"))
    parser.add_argument("--keep", help="keep the callgrind outputs in this folder")
    parser.add_argument("threads", nargs="*", help="matching, handoff, worker (default: all three)")
    args = parser.parse_args()
    threads = args.threads or list(ENTRY)
    for thread in threads:
        if thread not in ENTRY:
            parser.error(f"unknown thread {thread!r}: choose from {', '.join(ENTRY)}")
    work = tempfile.mkdtemp(prefix="warden-burst-callgrind-")
    try:
        stripped = os.path.join(work, "warden")
        shutil.copy(args.warden, stripped)
        subprocess.run(["strip", "--strip-debug", stripped], check=True)
        for thread in threads:
            out = os.path.join(args.keep or work, f"callgrind.{thread}.out")
            total = count(stripped, entry_symbol(args.warden, thread), out, os.path.join(work, thread))
            print(f"{thread:9} {total:>13,} instructions", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
