import CLinux
import CNftables
import Glibc
import Testing

/// Proves the libnftables module map links and talks to a real kernel, without ever
/// touching the host's firewall: the commands run on a thread that first moves itself
/// into a new, private network namespace (namespaces are per thread on Linux).
@Suite struct NftablesBindingTests {
    @Test func createsAndListsATableInAPrivateNamespaceRequiresRoot() throws {
        let result = try runInPrivateNetworkNamespace {
            guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { return "no context" }
            defer { nft_ctx_free(context) }
            nft_ctx_buffer_output(context)
            nft_ctx_buffer_error(context)
            let add = nft_run_cmd_from_buffer(context, "add table inet warden_probe\nadd set inet warden_probe s { type ipv4_addr; flags timeout, interval; }\nadd element inet warden_probe s { 192.0.2.0/24 timeout 60s }")
            guard add == 0 else { return "add failed: " + String(cString: nft_ctx_get_error_buffer(context)) }
            guard nft_run_cmd_from_buffer(context, "list set inet warden_probe s") == 0 else { return "list failed" }
            return String(cString: nft_ctx_get_output_buffer(context))
        }
        #expect(result.contains("192.0.2.0/24"), "\(result)")
    }

    @Test func rejectsMalformedCommandsWithAMessage() throws {
        let message = try runInPrivateNetworkNamespace {
            guard let context = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { return "no context" }
            defer { nft_ctx_free(context) }
            nft_ctx_buffer_error(context)
            nft_ctx_set_dry_run(context, true)
            let rc = nft_run_cmd_from_buffer(context, "add tabel inet nope")
            return rc == 0 ? "" : String(cString: nft_ctx_get_error_buffer(context))
        }
        #expect(message.contains("syntax error"), "\(message)")
    }

    struct NamespaceError: Error { let errno: Int32 }

    private func runInPrivateNetworkNamespace(_ body: @escaping @Sendable () -> String) throws -> String {
        final class Box: @unchecked Sendable { var value: Result<String, NamespaceError> = .success("") }
        let box = Box()
        var thread = pthread_t()
        let context = Unmanaged.passRetained(ClosureBox { 
            if warden_unshare_network_namespace() != 0 { box.value = .failure(NamespaceError(errno: errno)); return }
            box.value = .success(body())
        }).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let closure = Unmanaged<ClosureBox>.fromOpaque(raw!).takeRetainedValue()
            closure.run()
            return nil
        }, context)
        guard rc == 0 else { throw NamespaceError(errno: rc) }
        pthread_join(thread, nil)
        return try box.value.get()
    }
}

private final class ClosureBox: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}
