// Commit latency of BanStore.record: one ban per transaction (the latency a single
// decision pays before it reaches the firewall) and batches of 100 (a busy tick).
// Built by run.sh together with Sources/WardenStore as one module.
#if canImport(Glibc)
import Glibc
#endif

func nanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

let arguments = CommandLine.arguments
let path = arguments.count > 1 ? arguments[1] : "/tmp/warden-store-bench.sqlite3"
let singles = arguments.count > 2 ? Int(arguments[2]) ?? 2000 : 2000
for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
let store = try BanStore(path: path)

var latencies: [UInt64] = []
for index in 0..<singles {
    let ban = StoredBan(jail: "sshd", address: "10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255)",
                        timeOfBan: 1_700_000_000 + Double(index), banTime: 600)
    let start = nanoseconds()
    try store.record([ban])
    latencies.append(nanoseconds() - start)
}
latencies.sort()
let batchStart = nanoseconds()
let batches = 50
for batch in 0..<batches {
    try store.record((0..<100).map { offset in
        StoredBan(jail: "nginx", address: "172.16.\(batch).\(offset)", timeOfBan: 1_700_000_000, banTime: 600)
    })
}
let batchSeconds = Double(nanoseconds() - batchStart) / 1e9
print("single_median_us \(Double(latencies[latencies.count / 2]) / 1000)")
print("single_p99_us \(Double(latencies[latencies.count * 99 / 100]) / 1000)")
print("batched_bans_per_second \(Int(Double(batches * 100) / batchSeconds))")
