#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import WardenFilter
import WardenIPC
import WardenJail
import WardenSource
import WardenStore

/// One jail from log to decision: a `LogTailer` thread runs the jail's `Matcher`, its
/// `FailureCounter` and ignore lists, and for every ban records it in the store first and
/// then publishes the decision into the jail's channel (`ipc`), where ban workers pick it up.
///
/// Everything stateful (matcher, counter) lives on the tailer's thread; the control socket
/// reaches the jail only through `ban`/`unban`, which use the store and the writer under a lock.
final class JailPipeline: Sendable {
    let definition: JailDefinition
    let metrics: JailMetrics
    private let store: BanStore
    private let writer: Mutex<(any ChannelWriter)?>
    private let calculator: BanTimeCalculator
    private let logger: Logger
    private let banNotices: BanNoticeLog
    private let daemonMetrics: DaemonMetrics
    private let source = Mutex<RunningSource?>(nil)
    /// Whether ban workers run in this process (then channel depth and latency are known).
    private let localWorkers: Bool
    /// When bans decided in the middle of a read batch are published.
    private let chunkPolicy: BanChunkPolicy

    init(definition: JailDefinition, store: BanStore, metrics: DaemonMetrics, localWorkers: Bool, logger: Logger,
         banNotices: BanNoticeLog) throws {
        self.definition = definition
        self.store = store
        self.daemonMetrics = metrics
        self.metrics = metrics.jail(definition.name)
        self.localWorkers = localWorkers
        self.logger = logger
        self.banNotices = banNotices
        chunkPolicy = BanChunkPolicy(localWorkerMetrics: localWorkers ? self.metrics : nil)
        calculator = try BanTimeCalculator(definition)
        writer = Mutex(try Channel.makeWriter(definition.channel))
    }

    /// Opens the jail's logs (files or journal, `JailLogSource`) and starts matching on
    /// the source's thread.
    func start(positionDirectory: String) throws {
        guard let filter = definition.filter else {
            throw DaemonError.configuration("jail \(definition.name) has no filter")
        }
        var options = MatcherOptions()
        options.findTime = definition.findTime
        if let zone = definition.logTimeZone { options.timeZone = try DateDetector.parseTimeZone(zone) }
        let matcher = try Matcher(filter: filter, options: options)
        let ignoreCommand = try definition.ignoreCommand.map {
            IgnoreCommand(command: $0, cache: try definition.ignoreCache.map(IgnoreCommand.Cache.init(parsing:)))
        }
        // Positions and cursors live in the store; files of earlier versions are migrated.
        let legacyBase = positionDirectory + "/" + Self.fileName(forJail: definition.name)
        switch try JailLogSource(definition: definition) {
        case .files(let watcher):
            try startTailer(watcher: watcher, matcher: matcher, ignoreCommand: ignoreCommand,
                            positions: StoredLogPositions(store: store, jail: definition.name, legacyFile: legacyBase + ".positions"))
        case .journal(let journal):
            try startJournal(journal, matcher: matcher, ignoreCommand: ignoreCommand,
                             cursor: StoredJournalCursor(store: store, jail: definition.name, legacyFile: legacyBase + ".cursor"))
        }
    }

    private func startTailer(watcher: LogBackend, matcher: Matcher, ignoreCommand: IgnoreCommand?, positions: StoredLogPositions) throws {
        let paths = definition.logPaths.map(\.pattern)
        guard !paths.isEmpty else { throw DaemonError.configuration("jail \(definition.name) has no logpath") }
        var configuration = LogTailerConfiguration(paths: paths)
        configuration.backend = watcher
        // fail2ban reads a log from its start unless logpath says `tail`; lines older than
        // findtime are then dropped by the matcher's initial-read rule.
        configuration.fromStart = definition.logPaths.contains { $0.start == .head }
        configuration.positionStore = positions
        configuration.encoding = try LogEncoding(name: definition.logEncoding)

        // Lines that were in a file when the jail started are its initial read (old
        // lines dropped, dates kept); everything appended later is "in operation".
        var initialSizes: [String: UInt64] = [:]
        for entry in definition.logPaths {
            for file in entry.files {
                var info = stat()
                if stat(file, &info) == 0 { initialSizes[file] = UInt64(info.st_size) }
            }
        }
        let state = MatchingState(
            matcher: matcher, counter: FailureCounter(.init(definition)), ignore: IgnoreList(definition),
            ignoreCommand: ignoreCommand, initialSizes: initialSizes)
        let logger = self.logger
        let jail = definition.name
        let created = try LogTailer(
            configuration: configuration,
            diagnostics: { message in logger.warning("\(message)", metadata: ["jail": "\(jail)"]) },
            consumer: { [self] batch in handle(batch, state) })
        try created.start()
        source.withLock { $0 = .tailer(created) }
        logger.info("jail started", metadata: [
            "jail": "\(jail)", "logpath": "\(paths.joined(separator: ","))", "ipc": "\(definition.channel.adapter.rawValue)",
            "maxretry": "\(definition.maxRetry)", "findtime": "\(definition.findTime)", "bantime": "\(definition.banTime)"])
    }

    /// Follows the journal with the filter's `journalmatch`. Without a saved cursor it
    /// starts at now - findtime, as fail2ban's FilterSystemd does, so failures of the last
    /// findtime count; entries written before the jail started are the initial read, later
    /// ones are "in operation".
    private func startJournal(_ journal: JournalReaderConfiguration.Journal, matcher: Matcher, ignoreCommand: IgnoreCommand?,
                              cursor: StoredJournalCursor) throws {
        let matches = JournalReaderConfiguration.matchWords(definition.journalMatch ?? "")
        var configuration = JournalReaderConfiguration(journal: journal, matches: matches)
        configuration.startRealtimeMicroseconds = UInt64(max(0, wallClock() - Double(definition.findTime)) * 1_000_000)
        configuration.cursorStore = cursor
        let state = MatchingState(
            matcher: matcher, counter: FailureCounter(.init(definition)), ignore: IgnoreList(definition),
            ignoreCommand: ignoreCommand, initialSizes: [:])
        let startedAt = UInt64(wallClock() * 1_000_000)
        let logger = self.logger
        let jail = definition.name
        let created = try JournalReader(
            configuration: configuration,
            diagnostics: { message in logger.warning("\(message)", metadata: ["jail": "\(jail)"]) },
            consumer: { [self] batch in handle(batch, state, startedAt: startedAt) })
        try created.start()
        source.withLock { $0 = .journal(created) }
        logger.info("jail started", metadata: [
            "jail": "\(jail)", "journal": "\(journal)", "journalmatch": "\(matches.joined(separator: " "))",
            "ipc": "\(definition.channel.adapter.rawValue)", "maxretry": "\(definition.maxRetry)",
            "findtime": "\(definition.findTime)", "bantime": "\(definition.banTime)"])
    }

    /// Stops reading (positions or cursor saved) and closes the channel writer.
    func stop() {
        switch source.withLock({ source in defer { source = nil }; return source }) {
        case .tailer(let tailer)?: tailer.stop()
        case .journal(let reader)?: reader.stop()
        case nil: break
        }
        writer.withLock { writer in
            try? writer?.close()
            writer = nil
        }
    }

    var files: [String] {
        definition.logPaths.flatMap { $0.files.isEmpty ? [$0.pattern] : $0.files }
    }

    // MARK: - The tailer thread

    // A read batch can hold thousands of lines (a burst). Bans do not wait for the whole
    // batch: after each line, the bans decided so far may be published (`BanChunkPolicy`),
    // so the firewall works on the first bans while the rest of the batch is matched.

    private func handle(_ batch: LogBatch, _ state: MatchingState) {
        let readAt = monotonicNanoseconds()
        let now = wallClock()
        let initialSize = state.initialSizes[batch.path] ?? 0
        var found = FoundFailures()
        for line in batch {
            state.matcher.inOperation = line.endOffset > initialSize
            collect(state.matcher.process(line.bytes), state, now: now, into: &found)
            if chunkPolicy.publishesNow(pending: found.bans.count, lastPublish: state.lastPublish) {
                // Recorded with the position after this line: a restart resumes right after it.
                publishDecided(&found, state, readAt: readAt, progress: .log(position(of: batch, at: line.endOffset)))
            }
        }
        finish(lines: batch.count, &found, state, now: now, readAt: readAt, progress: .log(position(of: batch, at: batch.endOffset)))
    }

    /// Journal entries are matched with their own time, as fail2ban's FilterSystemd does
    /// (no date detection; the rendered line is matched whole). Bans leave at the end of
    /// the batch, not in chunks: only the batch has a cursor to record them with, and a
    /// ban recorded without one would be decided again after a crash.
    private func handle(_ batch: JournalBatch, _ state: MatchingState, startedAt: UInt64) {
        let readAt = monotonicNanoseconds()
        let now = wallClock()
        var found = FoundFailures()
        for entry in batch {
            state.matcher.inOperation = entry.realtimeMicroseconds > startedAt
            let time = Double(entry.realtimeMicroseconds) / 1_000_000
            collect(state.matcher.process(entry.bytes, time: time), state, now: now, into: &found)
        }
        finish(lines: batch.count, &found, state, now: now, readAt: readAt,
               progress: .journal(jail: definition.name, cursor: batch.cursor))
    }

    private func position(of batch: LogBatch, at offset: UInt64) -> JailLogPosition {
        JailLogPosition(jail: definition.name, path: batch.path, device: batch.file.device, inode: batch.file.inode, offset: offset)
    }

    /// Failures of one batch that passed the ignore lists, and the bans they completed
    /// that are not published yet.
    private struct FoundFailures {
        var count = 0
        var bans: [(ban: FailureCounter<String>.Ban, address: NetworkAddress, groups: [String: String])] = []
    }

    private func collect(_ failures: [Failure], _ state: MatchingState, now: Double, into found: inout FoundFailures) {
        for failure in failures {
            guard let id = failure.id else { continue }
            found.count += 1
            let addresses = addresses(for: id)
            if let first = addresses.first, state.ignore.contains(id: id.text, address: first) { continue }
            if addresses.isEmpty, state.ignore.contains(id: id.text, address: nil) { continue }
            if let command = state.ignoreCommand,
               command.verdict(id: id.text, tags: failure.groups, now: now) == .ignore { continue }
            guard let address = addresses.first else {
                logger.debug("failure id is not an address; counted nowhere", metadata: ["jail": "\(definition.name)", "id": "\(id.text)"])
                continue
            }
            if let ban = state.counter.add(id: id.text, time: failure.time ?? now, matches: failure.matchedLines) {
                found.bans.append((ban, address, failure.groups))
            }
        }
    }

    /// - Parameter progress: how far the source has read once this batch is handled; the
    ///   bans are recorded with it, so a restart neither decides them again nor skips a line.
    private func finish(lines: Int, _ found: inout FoundFailures, _ state: MatchingState, now: Double, readAt: UInt64,
                        progress: ReadProgress) {
        metrics.linesRead.add(lines, ordering: .relaxed)
        metrics.failures.add(found.count, ordering: .relaxed)
        if now - state.lastPurge > 5 {
            state.counter.purge(now: now)
            state.lastPurge = now
        }
        metrics.currentlyFailed.store(state.counter.count, ordering: .relaxed)
        publishDecided(&found, state, readAt: readAt, progress: progress)
    }

    /// Turns the pending bans into decisions (ban time with increments) and publishes
    /// them as one chunk: one store transaction, one channel flush.
    private func publishDecided(_ found: inout FoundFailures, _ state: MatchingState, readAt: UInt64, progress: ReadProgress) {
        guard !found.bans.isEmpty else { return }
        defer {
            found.bans.removeAll(keepingCapacity: true)
            state.lastPublish = monotonicNanoseconds()
        }
        do {
            let decisions = try found.bans.map { ban, address, groups in
                let previous = calculator.increment.enabled
                    ? (try store.banCount(address: address.description, jail: calculator.increment.overallJails ? nil : definition.name)?.count ?? 0)
                    : 0
                var decision = try JailBan(jail: definition.name, address: address, ban: ban, calculator: calculator, previousBans: previous)
                decision.fields = groups
                return decision
            }
            try publish(decisions, readAt: readAt, progress: progress)
        } catch {
            logger.error("ban failed", metadata: ["jail": "\(definition.name)", "error": "\(error)"])
        }
    }

    private func addresses(for id: FailureID) -> [NetworkAddress] {
        switch id.kind {
        case .ipv4, .ipv6: return NetworkAddress(id.text).map { [$0] } ?? []
        case .hostname:
            // usedns = yes/warn: the host name found in the log is banned by its addresses.
            let usedns = definition.useDNS.lowercased()
            guard usedns == "yes" || usedns == "warn" else { return [] }
            return IgnoreList.resolve(id.text)
        case .raw, .invalid: return NetworkAddress(id.text).map { [$0] } ?? []
        }
    }

    // MARK: - Decisions (tailer thread and control socket)

    /// Records the bans in the store (one transaction, with the read progress when they
    /// come from the log), then publishes them: a ban the kernel gets is always in the
    /// store, so a crash in between is repaired by the restore at the next start.
    func publish(_ bans: [JailBan], readAt: UInt64? = nil, progress: ReadProgress? = nil) throws {
        try store.record(bans.map { ban in
            StoredBan(jail: ban.jail, address: ban.address.description, timeOfBan: ban.timeOfBan,
                      banTime: ban.banTime, banCount: ban.banCount, data: BanDataJSON.encode(matches: ban.matches, failures: ban.failures, fields: ban.fields))
        }, progress: progress)
        try writer.withLock { writer in
            guard let writer else { throw ChannelError.closed }
            for ban in bans {
                if localWorkers {
                    metrics.channelDepth.add(1, ordering: .relaxed)
                    if let readAt { daemonMetrics.banDecided(jail: ban.jail, address: ban.address, readAt: readAt) }
                }
                try writer.publish(ban.decision, as: .ban)
            }
            try writer.flush()
        }
        metrics.bans.add(bans.count, ordering: .relaxed)
        banNotices.write(bans)
    }

    /// `warden ban JAIL ADDR...`: bans now for the jail's ban time (with increments).
    func ban(_ addresses: [NetworkAddress]) throws -> Int {
        let now = wallClock()
        let bans = try addresses.map { address in
            let previous = calculator.increment.enabled
                ? (try store.banCount(address: address.description, jail: calculator.increment.overallJails ? nil : definition.name)?.count ?? 0)
                : 0
            return JailBan(jail: definition.name, address: address, timeOfBan: now,
                           banTime: try calculator.banTime(previousBans: previous), banCount: previous + 1,
                           failures: 0, matches: [])
        }
        try publish(bans)
        return bans.count
    }

    /// `warden unban`: removes the bans from the store, then publishes unbans.
    func unban(_ addresses: [NetworkAddress]?) throws -> Int {
        let targets: [NetworkAddress]
        if let addresses {
            targets = addresses
        } else {
            targets = try store.restoreBans(now: wallClock()).filter { $0.jail == definition.name }.compactMap { NetworkAddress($0.address) }
        }
        let removed = try store.remove(jail: definition.name, addresses: addresses.map { $0.map(\.description) })
        try writer.withLock { writer in
            guard let writer else { throw ChannelError.closed }
            for address in targets {
                if localWorkers { metrics.channelDepth.add(1, ordering: .relaxed) }
                try writer.publish(BanDecision(jail: definition.name, address: address, banTime: 0, time: Int64(wallClock() * 1e9)), as: .unban)
            }
            try writer.flush()
        }
        metrics.unbans.add(targets.count, ordering: .relaxed)
        for address in targets { logger.notice("Unban \(address)", metadata: ["jail": "\(definition.name)"]) }
        return removed
    }

    static func fileName(forJail jail: String) -> String {
        String(jail.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }
}

/// The running reader of a jail's lines.
private enum RunningSource {
    case tailer(LogTailer)
    case journal(JournalReader)
}

/// The source thread's matching state for one jail; touched only on that thread.
private final class MatchingState: @unchecked Sendable {
    let matcher: Matcher
    var counter: FailureCounter<String>
    let ignore: IgnoreList
    let ignoreCommand: IgnoreCommand?
    let initialSizes: [String: UInt64]
    var lastPurge = 0.0
    /// Monotonic nanoseconds of the last publish of decided bans.
    var lastPublish: UInt64 = 0

    init(matcher: Matcher, counter: FailureCounter<String>, ignore: IgnoreList, ignoreCommand: IgnoreCommand?,
         initialSizes: [String: UInt64]) {
        self.matcher = matcher
        self.counter = counter
        self.ignore = ignore
        self.ignoreCommand = ignoreCommand
        self.initialSizes = initialSizes
    }
}
