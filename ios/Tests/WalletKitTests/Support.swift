import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import WalletKit
import XCTest
#if canImport(Glibc)
import Glibc

/// `SOCK_STREAM` as `socket(2)` takes it (an enum in Glibc, a macro on Darwin).
let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin

/// `SOCK_STREAM` as `socket(2)` takes it (an enum in Glibc, a macro on Darwin).
let streamSocket = SOCK_STREAM
#endif

/// Base URL of the mock backend started by scripts/with-mock-backend.sh, or nil.
func backendURL() -> String? {
    guard let url = ProcessInfo.processInfo.environment["WALLET_BACKEND_URL"], !url.isEmpty else {
        return nil
    }
    return url
}

/// Test card DEBIT of the mock bank (mock-backend/src/bank/test_cards.rs).
enum DebitCard {
    static let pan = "6222021234567894", name = "张三", idNumber = "110101199003071233", phone = "13800138000"
}

/// The last one-time code the mock SMS channel at `url` delivered to `phone`.
func lastSmsCode(url: String, phone: String) async throws -> String {
    struct Outbox: Decodable { struct Message: Decodable { let code: String }; let messages: [Message] }
    let (data, _) = try await URLSession.shared.data(from: URL(string: "\(url)/test/sms/outbox?phone=\(phone)")!)
    guard let code = try JSONDecoder().decode(Outbox.self, from: data).messages.last?.code else {
        throw TestFailure("no SMS to \(phone)")
    }
    return code
}

/// A test-side failure with a description.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Binds the DebitCard to `wallet` through the mock bank at `url`; returns the binding id.
func bindDebitCard(_ wallet: Wallet, url: String) async throws -> String {
    let pending = try await wallet.beginBinding(
        pan: DebitCard.pan, holderName: DebitCard.name, idNumber: DebitCard.idNumber, phone: DebitCard.phone)
    let code = try await lastSmsCode(url: url, phone: DebitCard.phone)
    return try await wallet.confirmBinding(sessionId: pending.sessionId, otp: code).bindingId
}

/// A loopback port nobody listens on: bind port 0, read the port, close.
func closedPort() -> Int {
    let fd = socket(AF_INET, streamSocket, 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &addr) { ptr in
        ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            _ = bind(fd, sa, len)
            _ = getsockname(fd, sa, &len)
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Wraps by XOR with 0x5A and records its calls (the Keychain is not available on Linux).
final class XorKeyStore: KeyStore, @unchecked Sendable {
    private let lock = NSLock()
    private var _calls: [String] = []
    var calls: [String] { lock.lock(); defer { lock.unlock() }; return _calls }

    private func record(_ call: String) { lock.lock(); _calls.append(call); lock.unlock() }

    func wrapKey(alias: String, key: Data) throws -> Data {
        record("wrap:\(alias)")
        return Data(key.map { $0 ^ 0x5A })
    }

    func unwrapKey(alias: String, wrapped: Data) throws -> Data {
        record("unwrap:\(alias)")
        return Data(wrapped.map { $0 ^ 0x5A })
    }
}

/// Collects records (called on library threads).
final class CollectingSink: LogSink, @unchecked Sendable {
    private let lock = NSLock()
    private var _records: [LogRecord] = []
    var records: [LogRecord] { lock.lock(); defer { lock.unlock() }; return _records }

    func log(record: LogRecord) throws {
        lock.lock()
        _records.append(record)
        lock.unlock()
    }
}

/// A loopback TCP server that accepts connections (the kernel completes the handshake) and never
/// answers: a back end so slow that every request waits for its timeout. Closed with the object.
final class SilentServer {
    private let fd: Int32
    /// `http://127.0.0.1:<port>`.
    let url: String

    init() throws {
        fd = socket(AF_INET, streamSocket, 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let ok = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        guard ok else {
            close(fd)
            throw TestFailure("cannot listen on 127.0.0.1")
        }
        url = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"
    }

    deinit { close(fd) }
}

/// A thread-safe flag.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

/// The `WalletError` thrown by `body`; fails the test (and returns nil) when it throws nothing
/// or another error.
func walletError(
    _ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line
) async -> WalletError? {
    do {
        try await body()
        XCTFail("no error", file: file, line: line)
    } catch let error as WalletError {
        return error
    } catch {
        XCTFail("not a WalletError: \(error)", file: file, line: line)
    }
    return nil
}
