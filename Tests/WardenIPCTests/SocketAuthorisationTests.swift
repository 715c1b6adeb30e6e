import Foundation
import Testing
@testable import WardenIPC

/// Socket modes, peer-credential checks in both directions, and the C client. Tests whose
/// name starts with `asRoot` need root: their children drop to `nobody` with setuid.
@Suite struct SocketAuthorisationTests {
    /// "line <n>" as (0, n); anything else as writer 1 so it shows up in the comparison.
    @Sendable static func lineNumber(_ payload: UnsafeRawBufferPointer) -> (id: UInt64, sequence: UInt64) {
        let prefix = Array("line ".utf8)
        guard payload.count > prefix.count, payload.prefix(prefix.count).elementsEqual(prefix),
              let number = UInt64(String(decoding: payload.dropFirst(prefix.count), as: UTF8.self)) else { return (1, 0) }
        return (0, number)
    }

    static func scratchDirectory(_ label: String) -> String {
        let path = temporaryChannelPath(label)
        mkdir(path, 0o700)
        return path
    }

    @Test func socketAndDirectoryTakeTheChannelModeAndGroup() throws {
        let group = getgrnam("nogroup")?.pointee.gr_gid ?? 65534
        for (mode, directoryMode) in [(mode_t(0o600), mode_t(0o700)), (0o660, 0o770)] {
            let config = ChannelConfiguration(adapter: .socket, path: temporaryChannelPath("mode"), mode: mode, group: group)
            defer { removeChannelFiles(config) }
            let reader = try SocketChannelReader(config, name: "r")
            defer { reader.close() }
            var info = stat()
            #expect(stat(config.path, &info) == 0)
            #expect(info.st_mode & 0o7777 == directoryMode)
            #expect(info.st_gid == group)
            #expect(stat(reader.socketPath, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o7777 == mode)
            #expect(info.st_gid == group)
        }
    }

    @Test func asRootNobodyCannotReachAChannelCreated0600() throws {
        let programs = Self.scratchDirectory("mode-programs")
        defer { try? FileManager.default.removeItem(atPath: programs) }
        let publisher = try TestPrograms.compileC("publish_lines", withClient: true, into: programs)
        let config = ChannelConfiguration(adapter: .socket, path: temporaryChannelPath("mode0600"), mode: 0o600)
        defer { removeChannelFiles(config) }
        let reader = try SocketChannelReader(config, name: "r")
        defer { reader.close() }
        let child = try HelperProcess([publisher, config.path, "10", "\(TestPrograms.nobody)"])
        #expect(child.remainingLines() == ["open failed: \(EACCES)"])
        #expect(child.wait() == 2)
    }

    /// The channel is world-accessible (0666), so only SO_PEERCRED stands between `nobody`
    /// and the reader: its lines must not arrive, while root's (always allowed) do, and a
    /// reader whose `ipc.allow` names nobody accepts them.
    @Test func asRootReaderRefusesAWriterOutsideIpcAllow() throws {
        let programs = Self.scratchDirectory("refuse-programs")
        defer { try? FileManager.default.removeItem(atPath: programs) }
        let publisher = try TestPrograms.compileC("publish_lines", withClient: true, into: programs)
        let config = ChannelConfiguration(adapter: .socket, path: temporaryChannelPath("refuse-writer"), mode: 0o666)
        defer { removeChannelFiles(config) }
        let reader = try SocketChannelReader(config, name: "strict")
        defer { reader.close() }

        let intruder = try HelperProcess([publisher, config.path, "50", "\(TestPrograms.nobody)"])
        #expect(intruder.remainingLines() == ["readers 1"])
        #expect(intruder.wait() == 0)
        let owner = try HelperProcess([publisher, config.path, "100"])
        #expect(owner.remainingLines() == ["readers 1"])
        #expect(owner.wait() == 0)
        let collector = CollectingReader(reader, decode: Self.lineNumber) { data, _ in data >= 100 }
        collector.join()
        #expect(collector.failure == nil)
        #expect(collector.received == [0: Array(0..<100)])
        #expect(reader.refused == 1)

        var permissive = config
        permissive.path = temporaryChannelPath("allow-nobody")
        permissive.allowedUIDs = [TestPrograms.nobody]
        defer { removeChannelFiles(permissive) }
        let welcoming = try SocketChannelReader(permissive, name: "welcoming")
        defer { welcoming.close() }
        let allowed = try HelperProcess([publisher, permissive.path, "50", "\(TestPrograms.nobody)"])
        #expect(allowed.remainingLines() == ["readers 1"])
        #expect(allowed.wait() == 0)
        let welcomed = CollectingReader(welcoming, decode: Self.lineNumber) { data, _ in data >= 50 }
        welcomed.join()
        #expect(welcomed.received == [0: Array(0..<50)])
        #expect(welcoming.refused == 0)
    }

    /// A socket planted in the channel directory by `nobody` gets nothing from a writer
    /// whose `ipc.allow` does not name it, while the genuine reader gets everything.
    @Test func asRootWriterRefusesAReaderOutsideIpcAllow() throws {
        let programs = Self.scratchDirectory("plant-programs")
        defer { try? FileManager.default.removeItem(atPath: programs) }
        let listener = try TestPrograms.compileC("listen_as", withClient: false, into: programs)
        let config = ChannelConfiguration(adapter: .socket, path: temporaryChannelPath("refuse-reader"), mode: 0o666)
        defer { removeChannelFiles(config) }
        let genuine = try SocketChannelReader(config, name: "genuine")
        defer { genuine.close() }
        let impostor = try HelperProcess([listener, config.path + "/impostor.sock", "\(TestPrograms.nobody)"])
        #expect(impostor.readLine() == "listening")

        let writer = try SocketChannelWriter(config)
        #expect(writer.readerCount == 1)
        #expect(writer.refused == 1)
        let collector = CollectingReader(genuine) { data, _ in data == 1000 }
        for sequence in 0..<1000 { try TestMessage.publish(writer, id: 7, sequence: UInt64(sequence)) }
        try writer.close()
        collector.join()
        #expect(collector.received == [7: Array(0..<1000)])

        impostor.killNow()
        #expect(!impostor.remainingLines().contains { $0.hasPrefix("packet") })
    }

    /// The C client (gcc, warden_client.h only) publishes lines that every Swift reader
    /// receives whole and in order; 200,000 lines are far more than the socket buffers hold,
    /// so the client also runs into back-pressure.
    @Test func cClientLinesReachEverySwiftReaderInOrder() throws {
        let programs = Self.scratchDirectory("c-client")
        defer { try? FileManager.default.removeItem(atPath: programs) }
        let publisher = try TestPrograms.compileC("publish_lines", withClient: true, into: programs)
        let config = ChannelConfiguration(adapter: .socket, path: temporaryChannelPath("c-client"))
        defer { removeChannelFiles(config) }
        let lines = 200_000
        let collectors = try ["first", "second"].map {
            CollectingReader(try Channel.makeReader(config, name: $0), decode: Self.lineNumber) { data, _ in data >= lines }
        }
        let client = try HelperProcess([publisher, config.path, "\(lines)"])
        #expect(client.remainingLines() == ["readers 2"])
        #expect(client.wait() == 0)
        for collector in collectors {
            collector.join()
            #expect(collector.failure == nil)
            #expect(collector.received == [0: Array(0..<UInt64(lines))])
            #expect(collector.reader.lost == 0)
            collector.reader.close()
        }
    }
}
