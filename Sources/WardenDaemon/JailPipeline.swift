#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import WardenFilter
import WardenIPC
import WardenJail
import WardenLines
import WardenSource
import WardenStore

/// One jail from log to decision: a `LogTailer` thread runs the jail's `Matcher`, its
/// `FailureCounter` and ignore lists and hands every ban it decides to the jail's
/// `BanHandOff` thread, which records it in the store first and then publishes the
/// decision into the jail's channel (`ipc`), where ban workers pick it up.
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
    /// The store rows of the hand-off thread's chunk (its only user), kept between chunks
    /// so that a chunk allocates nothing for its texts once the buffer has grown.
    private let handOffRows = Mutex(BanRows())
    /// Whether ban workers run in this process (then channel depth and latency are known).
    private let localWorkers: Bool

    init(definition: JailDefinition, store: BanStore, metrics: DaemonMetrics, localWorkers: Bool, logger: Logger,
         banNotices: BanNoticeLog) throws {
        self.definition = definition
        self.store = store
        self.daemonMetrics = metrics
        self.metrics = metrics.jail(definition.name)
        self.localWorkers = localWorkers
        self.logger = logger
        self.banNotices = banNotices
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
        let groupKeys = BanDataJSON.groupKeys(matcher)
        let handOff = try BanHandOff<DecidedBan> { [self] bans, progress in
            publishDecided(bans, progress: progress, groupKeys: groupKeys)
        }
        // Positions and cursors live in the store; files of earlier versions are migrated.
        // A position is saved only once the bans decided before it are recorded.
        let legacyBase = positionDirectory + "/" + Self.fileName(forJail: definition.name)
        do {
            switch try JailLogSource(definition: definition) {
            case .files(let watcher):
                try startTailer(watcher: watcher, matcher: matcher, ignoreCommand: ignoreCommand, handOff: handOff,
                                positions: StoredLogPositions(store: store, jail: definition.name,
                                                              legacyFile: legacyBase + ".positions", beforeSave: handOff.drain))
            case .journal(let journal):
                try startJournal(journal, matcher: matcher, ignoreCommand: ignoreCommand, handOff: handOff,
                                 cursor: StoredJournalCursor(store: store, jail: definition.name,
                                                             legacyFile: legacyBase + ".cursor", beforeSave: handOff.drain))
            }
        } catch {
            handOff.stop()
            throw error
        }
    }

    private func startTailer(watcher: LogBackend, matcher: Matcher, ignoreCommand: IgnoreCommand?, handOff: BanHandOff<DecidedBan>,
                             positions: StoredLogPositions) throws {
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
            consumer: { [self] batch in handle(batch, state, handOff) })
        try created.start()
        source.withLock { $0 = RunningSource(reader: .tailer(created), handOff: handOff) }
        logger.info("jail started", metadata: [
            "jail": "\(jail)", "logpath": "\(paths.joined(separator: ","))", "ipc": "\(definition.channel.adapter.rawValue)",
            "maxretry": "\(definition.maxRetry)", "findtime": "\(definition.findTime)", "bantime": "\(definition.banTime)"])
    }

    /// Follows the journal with the filter's `journalmatch`. Without a saved cursor it
    /// starts at now - findtime, as fail2ban's FilterSystemd does, so failures of the last
    /// findtime count; entries written before the jail started are the initial read, later
    /// ones are "in operation".
    private func startJournal(_ journal: JournalReaderConfiguration.Journal, matcher: Matcher, ignoreCommand: IgnoreCommand?,
                              handOff: BanHandOff<DecidedBan>, cursor: StoredJournalCursor) throws {
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
            consumer: { [self] batch in handle(batch, state, handOff, startedAt: startedAt) })
        try created.start()
        source.withLock { $0 = RunningSource(reader: .journal(created), handOff: handOff) }
        logger.info("jail started", metadata: [
            "jail": "\(jail)", "journal": "\(journal)", "journalmatch": "\(matches.joined(separator: " "))",
            "ipc": "\(definition.channel.adapter.rawValue)", "maxretry": "\(definition.maxRetry)",
            "findtime": "\(definition.findTime)", "bantime": "\(definition.banTime)"])
    }

    /// Stops reading (positions or cursor saved), publishes the bans decided until then
    /// and closes the channel writer.
    func stop() {
        if let running = source.withLock({ source in defer { source = nil }; return source }) {
            switch running.reader {
            case .tailer(let tailer): tailer.stop()
            case .journal(let reader): reader.stop()
            }
            running.handOff.stop()
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
    // batch: each line's bans go to the hand-off thread at once, so the store, the channel
    // and the firewall work on the first bans while the rest of the batch is matched.

    private func handle(_ batch: LogBatch, _ state: MatchingState, _ handOff: BanHandOff<DecidedBan>) {
        let readAt = monotonicNanoseconds()
        let now = wallClock()
        let initialSize = state.initialSizes[batch.path] ?? 0
        var found = FoundFailures()
        for line in batch {
            state.matcher.inOperation = line.endOffset > initialSize
            state.matcher.process(line.bytes) { collect($0, state, now: now, readAt: readAt, into: &found) }
            if !found.bans.isEmpty {
                // Recorded with the position after this line: a restart resumes right after it.
                handOff.submit(found.bans, progress: .log(position(of: batch, at: line.endOffset)))
                found.bans.removeAll(keepingCapacity: true)
            }
        }
        finish(lines: batch.count, found, state, now: now)
    }

    /// Journal entries are matched with their own time, as fail2ban's FilterSystemd does
    /// (no date detection; the rendered line is matched whole). Bans leave at the end of
    /// the batch, not in chunks: only the batch has a cursor to record them with, and a
    /// ban recorded without one would be decided again after a crash.
    private func handle(_ batch: JournalBatch, _ state: MatchingState, _ handOff: BanHandOff<DecidedBan>, startedAt: UInt64) {
        let readAt = monotonicNanoseconds()
        let now = wallClock()
        var found = FoundFailures()
        for entry in batch {
            state.matcher.inOperation = entry.realtimeMicroseconds > startedAt
            let time = Double(entry.realtimeMicroseconds) / 1_000_000
            state.matcher.process(entry.bytes, time: time) { collect($0, state, now: now, readAt: readAt, into: &found) }
        }
        finish(lines: batch.count, found, state, now: now)
        handOff.submit(found.bans, progress: .journal(jail: definition.name, cursor: batch.cursor))
    }

    private func position(of batch: LogBatch, at offset: UInt64) -> JailLogPosition {
        JailLogPosition(jail: definition.name, path: batch.path, device: batch.file.device, inode: batch.file.inode, offset: offset)
    }

    /// Failures of one batch that passed the ignore lists, and the bans they completed
    /// that are not handed off yet.
    private struct FoundFailures {
        var count = 0
        var bans: [DecidedBan] = []
    }

    private func collect(_ failure: Failure, _ state: MatchingState, now: Double, readAt: UInt64, into found: inout FoundFailures) {
        guard let id = failure.id else { return }
        found.count += 1
        let address = address(for: id)
        // An IPv4 id keeps its bytes and builds its text on each `text` call: build it once.
        let text = id.text
        if state.ignore.contains(id: text, address: address) { return }
        if let command = state.ignoreCommand,
           command.verdict(id: text, tags: failure.groups, now: now) == .ignore { return }
        guard let address else {
            logger.debug("failure id is not an address; counted nowhere", metadata: ["jail": "\(definition.name)", "id": "\(text)"])
            return
        }
        if let ban = state.counter.add(id: text, time: failure.time ?? now, matches: failure.matches) {
            found.bans.append(DecidedBan(ban: ban, address: address, failure: failure, readAt: readAt))
        }
    }

    private func finish(lines: Int, _ found: FoundFailures, _ state: MatchingState, now: Double) {
        metrics.linesRead.add(lines, ordering: .relaxed)
        metrics.failures.add(found.count, ordering: .relaxed)
        if now - state.lastPurge > 5 {
            state.counter.purge(now: now)
            state.lastPurge = now
        }
        metrics.currentlyFailed.store(state.counter.count, ordering: .relaxed)
    }

    // MARK: - The hand-off thread

    /// Turns a chunk of decided bans into decisions (ban time with increments, which
    /// reads the store: chunks come in order, so earlier bans are counted) and their store
    /// rows, in one pass, and publishes them: one store transaction with `progress`, one
    /// channel flush.
    private func publishDecided(_ decided: [DecidedBan], progress: ReadProgress, groupKeys: JSONGroupKeys) {
        do {
            try handOffRows.withLock { rows in
                rows.removeAll()
                var bans: [JailBan] = [], readAt: [UInt64] = []
                bans.reserveCapacity(decided.count)
                readAt.reserveCapacity(decided.count)
                // By index: the decided bans are read in place, not copied (each holds a `Failure`).
                for index in decided.indices {
                    let ban = try JailBan(jail: definition.name, address: decided[index].address, ban: decided[index].ban,
                                          calculator: calculator, previousBans: try previousBans(of: decided[index].address))
                    Self.append(ban, to: &rows) { text in
                        BanDataJSON.append(matches: ban.matches, failures: ban.failures, groupsOf: decided[index].failure,
                                           keys: groupKeys, to: &text)
                    }
                    bans.append(ban)
                    readAt.append(decided[index].readAt)
                }
                try publish(bans, rows: rows, readAt: readAt, progress: progress)
            }
        } catch {
            logger.error("ban failed", metadata: ["jail": "\(definition.name)", "error": "\(error)"])
        }
    }

    /// The address a failure is banned under; a host name (usedns yes/warn) by the first
    /// address it resolves to (fail2ban counts each of them: docs/jails.md).
    private func address(for id: FailureID) -> NetworkAddress? {
        if let value = id.ipv4Value { return NetworkAddress(ipv4: value) }
        guard id.kind == .hostname else { return NetworkAddress(id.text) }
        let usedns = definition.useDNS.lowercased()
        guard usedns == "yes" || usedns == "warn" else { return nil }
        return IgnoreList.resolve(id.text).first
    }

    // MARK: - Decisions (tailer thread and control socket)

    /// Records the bans in the store (one transaction, with the read progress when they
    /// come from the log), then publishes them: a ban the kernel gets is always in the
    /// store, so a crash in between is repaired by the restore at the next start.
    /// - Parameter rows: the bans' store rows, in the same order.
    /// - Parameter readAt: per ban, when its line was read (for the latency histogram).
    private func publish(_ bans: [JailBan], rows: BanRows, readAt: [UInt64]? = nil, progress: ReadProgress? = nil) throws {
        try store.record(rows, progress: progress)
        try writer.withLock { writer in
            guard let writer else { throw ChannelError.closed }
            for (index, ban) in bans.enumerated() {
                if localWorkers {
                    metrics.channelDepth.add(1, ordering: .relaxed)
                    if let readAt { daemonMetrics.banDecided(jail: ban.jail, address: ban.address, readAt: readAt[index]) }
                }
                try writer.publish(ban.decision, as: .ban)
            }
            try writer.flush()
        }
        metrics.bans.add(bans.count, ordering: .relaxed)
        banNotices.write(bans, rows: rows)
    }

    /// Appends the store row of `ban`, whose data JSON `writeData` appends.
    private static func append(_ ban: JailBan, to rows: inout BanRows, data writeData: (inout [UInt8]) -> Void) {
        rows.append(jail: ban.jail, timeOfBan: ban.timeOfBan, banTime: ban.banTime, banCount: ban.banCount,
                    address: { $0.append(address: ban.address) }, data: writeData)
    }

    /// How often `address` was banned before (bantime.increment; 0 without it).
    private func previousBans(of address: NetworkAddress) throws -> Int {
        guard calculator.increment.enabled else { return 0 }
        return try store.banCount(address: address.description,
                                  jail: calculator.increment.overallJails ? nil : definition.name)?.count ?? 0
    }

    /// `warden ban JAIL ADDR...`: bans now for the jail's ban time (with increments).
    func ban(_ addresses: [NetworkAddress]) throws -> Int {
        let now = wallClock()
        var rows = BanRows()
        let bans = try addresses.map { address in
            let previous = try previousBans(of: address)
            let ban = JailBan(jail: definition.name, address: address, timeOfBan: now,
                              banTime: try calculator.banTime(previousBans: previous), banCount: previous + 1,
                              failures: 0, matches: MatchedLines())
            Self.append(ban, to: &rows) { BanDataJSON.append(matches: ban.matches, failures: ban.failures, to: &$0) }
            return ban
        }
        try publish(bans, rows: rows)
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

/// The running reader of a jail's lines and the thread its bans are published on.
private struct RunningSource {
    enum Reader {
        case tailer(LogTailer)
        case journal(JournalReader)
    }

    var reader: Reader
    var handOff: BanHandOff<DecidedBan>
}

/// A ban the matching thread decided, on its way to the hand-off thread.
private struct DecidedBan: Sendable {
    var ban: FailureCounter<String>.Ban
    var address: NetworkAddress
    /// The failure that completed the ban; its captured groups (`user`, ...) become the
    /// ban's data on the hand-off thread, which has the time to build them.
    var failure: Failure
    /// Monotonic nanoseconds when the line's batch was read (ban latency).
    var readAt: UInt64
}

/// The source thread's matching state for one jail; touched only on that thread.
private final class MatchingState: @unchecked Sendable {
    let matcher: Matcher
    /// Only the source thread touches the counter, so it skips exclusivity checks.
    @exclusivity(unchecked) var counter: FailureCounter<String>
    let ignore: IgnoreList
    let ignoreCommand: IgnoreCommand?
    let initialSizes: [String: UInt64]
    var lastPurge = 0.0

    init(matcher: Matcher, counter: FailureCounter<String>, ignore: IgnoreList, ignoreCommand: IgnoreCommand?,
         initialSizes: [String: UInt64]) {
        self.matcher = matcher
        self.counter = counter
        self.ignore = ignore
        self.ignoreCommand = ignoreCommand
        self.initialSizes = initialSizes
    }
}
