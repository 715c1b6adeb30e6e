import Foundation
import Synchronization

/// Runs blocking work (child processes) on a few dedicated threads, keeping the results in
/// input order; the awaiting task is resumed by the thread that finishes last, so no
/// thread of the cooperative pool ever blocks.
enum ProcessPool {
    private struct Progress<Result: Sendable>: Sendable {
        var next = 0
        var done = 0
        var results: [Result?]
    }

    private final class Shared<Result: Sendable>: Sendable {
        let progress: Mutex<Progress<Result>>
        init(count: Int) { progress = Mutex(Progress(results: Array(repeating: nil, count: count))) }
    }

    static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], width: Int, _ body: @escaping @Sendable (Item) -> Result
    ) async -> [Result] {
        guard !items.isEmpty else { return [] }
        let shared = Shared<Result>(count: items.count)
        return await withCheckedContinuation { continuation in
            for _ in 0..<max(1, min(width, items.count)) {
                Thread {
                    while let index = shared.progress.withLock({ state -> Int? in
                        guard state.next < items.count else { return nil }
                        defer { state.next += 1 }
                        return state.next
                    }) {
                        let result = body(items[index])
                        let finished = shared.progress.withLock { state -> [Result]? in
                            state.results[index] = result
                            state.done += 1
                            return state.done == items.count ? state.results.compactMap { $0 } : nil
                        }
                        if let finished { continuation.resume(returning: finished) }
                    }
                }.start()
            }
        }
    }
}
